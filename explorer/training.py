"""Training jobs as the Train page sees them: the runner over this server's job folder, specs, statuses."""

from __future__ import annotations

from explorer import models
from vae.bundle import is_bundle
from vae.config import ENCODERS
from vae.jobs import JobNotFound, JobSpec, JobStatus, LimitReached, Limits, LocalProcessRunner, NotYours

__all__ = ["ENCODERS", "JobNotFound", "JobSpec", "JobStatus", "LimitReached", "Limits", "LocalProcessRunner",
           "NotYours", "is_bundle", "limits_text", "runner"]


def runner() -> LocalProcessRunner:
    """The local-process runner, saving trained bundles where the model picker lists visitors' models."""
    return LocalProcessRunner(models_dir=models.USER_MODELS)


def limits_text(limits: Limits) -> str:
    """The server's limits, as the Train page states them."""
    queued = limits.active_per_owner - limits.running_per_owner
    return (f"Each visitor may have {limits.running_per_owner} job running and {queued} queued, and keep "
            f"{limits.models_per_owner} models ({limits.bytes_per_owner / 2**30:g} GB); a job may be at most "
            f"{limits.job_size:,} image passes (epochs × training images, e.g. "
            f"{limits.job_size // 60_000} epochs of MNIST).")
