"""Training jobs as the Train page sees them: the runner over this server's job folder, specs, statuses."""

from __future__ import annotations

from explorer import models
from vae.bundle import is_bundle
from vae.config import ENCODERS
from vae.jobs import JobSpec, JobStatus, LocalProcessRunner

__all__ = ["ENCODERS", "JobSpec", "JobStatus", "LocalProcessRunner", "is_bundle", "runner"]


def runner() -> LocalProcessRunner:
    """The local-process runner, saving trained bundles where the model picker lists visitors' models."""
    return LocalProcessRunner(models_dir=models.USER_MODELS)
