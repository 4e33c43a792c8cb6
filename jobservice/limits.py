"""What one server allows (Limits), the refusal that says why (LimitReached), and the fair queue."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import settings
from jobservice import datasets, user_models
from jobservice.spec import TRAIN_IMAGES, DatasetSpec, ImportSpec, JobSpec, job_size
from jobservice.state import JobStatus
from vae.plural import count

# One image through the trainer once (an image pass), in CPU seconds: MNIST, default preset, one thread on
# the 2-core reference machine (docs/class_server.md, "Figures": 2.4 ms per image per epoch).
SECONDS_PER_IMAGE_PASS = 0.0024


class LimitReached(ValueError):
    """A job refused by the server's limits (queue, job size, storage); the message says which and why."""


@dataclass(frozen=True)
class Limits:
    """What one server allows; the defaults (settings.py's) suit a class on one machine
    (docs/class_server.md), and each comes from an environment variable."""

    running_per_owner: int = settings.field_of("VAE_RUNNING_PER_VISITOR")
    active_per_owner: int = settings.field_of("VAE_JOBS_PER_VISITOR")  # queued or running
    queue: int = settings.field_of("VAE_QUEUE_LIMIT")  # queued or running jobs on the whole server
    job_size: int = settings.field_of("VAE_JOB_SIZE_LIMIT")  # epochs × training images
    models_per_owner: int = settings.field_of("VAE_MODELS_PER_VISITOR")  # saved models + active jobs
    bytes_per_owner: int = settings.field_of("VAE_BYTES_PER_VISITOR")  # disk of their saved models
    # image passes of all queued and running trainings together (about 12 CPU-hours: thirty 10-epoch MNIST
    # models), so a few large jobs cannot hold the machine for days
    queue_budget: int = settings.field_of("VAE_QUEUE_BUDGET")
    # the server's disk for jobs (their uploads included), visitors' models and the decoders published to
    # browsers, together (in bytes; the setting is in MB)
    disk_budget: int = settings.field_of("VAE_DISK_BUDGET_MB", 2**20)
    # datasets (prepared, and jobs under way), their disk, and images in one dataset
    datasets_per_owner: int = settings.field_of("VAE_DATASETS_PER_VISITOR")
    dataset_bytes_per_owner: int = settings.field_of("VAE_DATASET_MB_PER_VISITOR", 2**20)
    dataset_images: int = settings.field_of("VAE_DATASET_IMAGES")  # images in one dataset

    @classmethod
    def from_env(cls) -> Limits:
        """This server's limits, each read from its environment variable now."""
        return settings.from_env(cls)


def cpu_hours(image_passes: float) -> float:
    """Image passes in CPU-hours, at the measured SECONDS_PER_IMAGE_PASS."""
    return image_passes * SECONDS_PER_IMAGE_PASS / 3600


def check_limits(lim: Limits, spec: JobSpec | ImportSpec | DatasetSpec, owner: str, jobs: list[JobStatus],
                 models_dir: Path, adding: int = 0) -> None:
    """Raise LimitReached, saying why, if the owner may not start this job now (the server's disk budget is
    checked apart: jobservice.disk)."""
    size = job_size(spec) if isinstance(spec, JobSpec) else 0  # an import is capped by its time limit
    if size > lim.job_size:
        raise LimitReached(
            f"This job is too large for this server: {count(spec.epochs, 'epoch')} × "
            f"{count(size // spec.epochs, 'image')} = {count(size, 'image pass', 'image passes')}; the "
            f"limit is {lim.job_size:,} (about {count(lim.job_size // TRAIN_IMAGES['mnist'], 'epoch')} "
            "of MNIST). Lower the epochs.")
    mine = [j for j in jobs if j.owner == owner and j.active]
    if len(mine) >= lim.active_per_owner:
        raise LimitReached(
            f"You already have {count(len(mine), 'job')} queued or running, the most one visitor may "
            "have at once here. Wait for one to end, or cancel one.")
    active = sum(j.active for j in jobs)
    if active >= lim.queue:
        raise LimitReached(f"The server's queue is full ({count(active, 'job')} queued or running). "
                           "Try again when some have finished.")
    queued = sum(job_size(j.spec) for j in jobs if j.active and isinstance(j.spec, JobSpec))
    if size and queued + size > lim.queue_budget:
        raise LimitReached(
            f"The server's queue already holds {queued:,} image passes of training (about "
            f"{cpu_hours(queued):,.0f} CPU-hours), and this job's {size:,} would take it over its budget of "
            f"{lim.queue_budget:,} (about {cpu_hours(lim.queue_budget):,.0f} CPU-hours). Try fewer epochs, "
            "or again when some jobs have finished.")
    if isinstance(spec, DatasetSpec):  # a dataset counts against the owner's datasets, not their models
        if spec.source == "upload":
            try:
                datasets.check_quota(owner, adding, sum(j.kind == "dataset" for j in mine),
                                     lim.datasets_per_owner, lim.dataset_bytes_per_owner)
            except ValueError as exc:
                raise LimitReached(str(exc)) from None
        return
    used = user_models.usage(models_dir, owner)
    if used.models + len(mine) >= lim.models_per_owner:
        raise LimitReached(
            f"You have {count(used.models, 'saved model')} and {count(len(mine), 'job')} under way; "
            f"each visitor may keep {lim.models_per_owner}. Delete a model on Home to make room.")
    if used.bytes >= lim.bytes_per_owner:
        raise LimitReached(
            f"Your saved models take {user_models.mb(used.bytes)}; each visitor may keep "
            f"{user_models.mb(lim.bytes_per_owner)}. Delete a model on Home to make room.")


def fair_starts(jobs: list[JobStatus], max_running: int, running_per_owner: int) -> list[JobStatus]:
    """The queued jobs to start now, oldest first, in the free slots, skipping visitors who already have
    their share running (fair: someone else's job goes first)."""
    per_owner: dict[str | None, int] = {}
    running = [j for j in jobs if j.state in ("running", "stopping")]
    for j in running:
        per_owner[j.owner] = per_owner.get(j.owner, 0) + 1
    free = max_running - len(running)
    starts = []
    for job in sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created):
        if free <= 0:
            break
        if per_owner.get(job.owner, 0) >= running_per_owner:
            continue
        starts.append(job)
        per_owner[job.owner] = per_owner.get(job.owner, 0) + 1
        free -= 1
    return starts
