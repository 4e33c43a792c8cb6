"""Jobs as the Train and Import pages see them: the runner over this server's job folder, specs, statuses."""

from __future__ import annotations

import settings
from jobservice import (
    DatasetSpec,
    ImportSpec,
    JobNotFound,
    JobSpec,
    JobStatus,
    LimitReached,
    Limits,
    LocalProcessRunner,
    NotYours,
    upload_digest,
)
from jobservice.limits import cpu_hours
from jobservice.ray_runner import RayJobRunner  # (it imports Ray itself only once it asks the cluster)
from jobservice.spec import DATASET_UPLOAD
from live_decoder.published import published_dir
from vae.bundles.bundle import is_bundle
from vae.inputs.data import DATASETS, TITLES, datasets_here
from vae.model.config import ENCODERS
from vae.plural import count

__all__ = ["DATASETS", "DATASET_UPLOAD", "ENCODERS", "DatasetSpec", "ImportSpec", "JobNotFound", "JobSpec",
           "JobStatus", "LimitReached", "Limits", "LocalProcessRunner", "NotYours", "dataset_label",
           "datasets_here", "is_bundle", "limits_text", "missing_data_warning", "runner", "upload_digest"]


def runner() -> LocalProcessRunner:
    """The runner the operator configured, saving trained bundles where the model picker lists visitors'
    models: VAE_RUNNER=local (the default: processes on this machine) or VAE_RUNNER=ray with
    VAE_RAY_ADDRESS=http://HEAD:8265 (a Ray cluster; README, "Scaling out")."""
    kind = settings.text("VAE_RUNNER").lower()
    counted = (published_dir(),)  # the decoders published to browsers: the disk budget counts them too
    if kind == "ray":
        return RayJobRunner.from_env(counted_dirs=counted)
    if kind != "local":
        raise ValueError(f"VAE_RUNNER must be 'local' or 'ray'; got {kind!r}.")
    return LocalProcessRunner(counted_dirs=counted)


def limits_text(limits: Limits) -> str:
    """The server's limits, as the Train page states them."""
    queued = limits.active_per_owner - limits.running_per_owner
    return (f"Each visitor may have {count(limits.running_per_owner, 'job')} running and {queued} queued, "
            f"and keep {count(limits.models_per_owner, 'model')} ({limits.bytes_per_owner / 2**30:g} GB); a "
            f"job may be at most {count(limits.job_size, 'image pass', 'image passes')} (epochs × training "
            f"images, e.g. {count(limits.job_size // 60_000, 'epoch')} of MNIST), and the whole queue "
            f"{limits.queue_budget:,} (about {cpu_hours(limits.queue_budget):,.0f} CPU-hours).")


def dataset_label(name: str, here: list[str]) -> str:
    """A dataset as the Train and Import forms offer it: marked where this server lacks it."""
    return name if name in here else f"{name} (not on this server)"


def missing_data_warning(here: list[str]) -> str | None:
    """What the forms say, before a job starts, about the datasets this server lacks (None: it has all)."""
    missing = [TITLES[name] for name in DATASETS if name not in here]
    if not missing:
        return None
    one = len(missing) == 1
    it = "it" if one else "them"
    return (f"{' and '.join(missing)} {'is' if one else 'are'} not on this server: a job on {it} would try "
            f"to download {it} from the internet, and fails if this server is offline.")
