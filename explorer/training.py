"""Jobs as the Train and Import pages see them: the runner over this server's job folder, specs, statuses."""

from __future__ import annotations

import os

from explorer import models
from jobservice import (
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
from jobservice.ray_runner import RayJobRunner  # (it imports Ray itself only once it asks the cluster)
from vae.bundles.bundle import is_bundle
from vae.model.config import ENCODERS

__all__ = ["ENCODERS", "ImportSpec", "JobNotFound", "JobSpec", "JobStatus", "LimitReached", "Limits",
           "LocalProcessRunner", "NotYours", "is_bundle", "limits_text", "runner", "upload_digest"]


def runner() -> LocalProcessRunner:
    """The runner the operator configured, saving trained bundles where the model picker lists visitors'
    models: VAE_RUNNER=local (the default: processes on this machine) or VAE_RUNNER=ray with
    VAE_RAY_ADDRESS=http://HEAD:8265 (a Ray cluster; README, "Scaling out")."""
    kind = os.environ.get("VAE_RUNNER", "local").strip().lower() or "local"
    if kind == "ray":
        return RayJobRunner.from_env(models_dir=models.USER_MODELS)
    if kind != "local":
        raise ValueError(f"VAE_RUNNER must be 'local' or 'ray'; got {kind!r}.")
    return LocalProcessRunner(models_dir=models.USER_MODELS)


def limits_text(limits: Limits) -> str:
    """The server's limits, as the Train page states them."""
    queued = limits.active_per_owner - limits.running_per_owner
    return (f"Each visitor may have {limits.running_per_owner} job running and {queued} queued, and keep "
            f"{limits.models_per_owner} models ({limits.bytes_per_owner / 2**30:g} GB); a job may be at most "
            f"{limits.job_size:,} image passes (epochs × training images, e.g. "
            f"{limits.job_size // 60_000} epochs of MNIST).")
