"""The class server's disk budget: jobs (uploads included), visitors' models and published decoders."""

# One budget for everything visitors make the server keep (Limits.disk_budget, VAE_DISK_BUDGET_MB): a job
# and its uploads are refused when the server is over it, and a finished job's model is not kept (see
# jobservice.limits.over_quota). Sizes are walked afresh each time: a class server holds a few thousand
# files at most.

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobservice import user_models
from jobservice.limits import LimitReached, Limits
from jobservice.user_models import folder_bytes, mb
from vae.plural import count


@dataclass(frozen=True)
class DiskUse:
    """Bytes held by the job folders, the visitors' models and the decoders published to browsers."""

    jobs: int = 0
    models: int = 0
    published: int = 0
    datasets: int = 0  # visitors' prepared image datasets (jobservice.datasets)

    @property
    def total(self) -> int:
        return self.jobs + self.models + self.published + self.datasets


def disk_use(jobs_root: Path, models_root: Path, published: Iterable[Path] = (),
             datasets_root: Path | None = None) -> DiskUse:
    """What the server holds now, by kind."""
    published_bytes = sum(folder_bytes(p) for p in published)
    return DiskUse(folder_bytes(jobs_root), folder_bytes(models_root), published_bytes,
                   folder_bytes(datasets_root) if datasets_root else 0)


def check_disk(lim: Limits, use: DiskUse, adding: int = 0) -> None:
    """Raise LimitReached when the server's disk budget has no room for `adding` more bytes."""
    if use.total + adding > lim.disk_budget:
        raise LimitReached(
            f"This server's disk budget for jobs and models ({mb(lim.disk_budget)}) is used up: it holds "
            f"{mb(use.total)}. Ask your teacher to make room, or delete a model of yours on Home.")


def over_quota(lim: Limits, owner: str, bundle: Path, models_dir: Path, use: DiskUse) -> str | None:
    """Why a finished job's new bundle (not yet its owner's) may not be kept, checked again at its end: the
    owner's model quota, or the server's budget (`use` counts the bundle already); None when it fits."""
    used = user_models.usage(models_dir, owner)
    size = folder_bytes(bundle)
    if used.models + 1 > lim.models_per_owner:
        return (f"The model was not kept: you already keep {count(used.models, 'saved model')}, the most "
                "each visitor may keep here. Delete a model on Home, then try again.")
    if used.bytes + size > lim.bytes_per_owner:
        return (f"The model was not kept: it takes {mb(size)}, and with it your saved models would take "
                f"{mb(used.bytes + size)}, over the {mb(lim.bytes_per_owner)} each visitor may keep. Delete "
                "a model on Home, then try again.")
    if use.total > lim.disk_budget:
        return (f"The model was not kept: this server's disk budget for jobs and models "
                f"({mb(lim.disk_budget)}) is used up. Ask your teacher to make room, then try again.")
    return None
