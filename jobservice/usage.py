"""What each owner, and the whole server, uses: jobs, CPU-hours queued and spent, models, datasets, disk."""

# For the teacher's page (explorer/sections/teacher.py). CPU-hours queued are an estimate: a training's
# image passes (epochs × training images) at the measured seconds per image pass (jobservice.limits), less
# the share a running job has done; an import counts IMPORT_CPU_S. CPU-hours spent are recorded: each
# started job's run time (pid.json's start to status.json's end, or now) × the threads it was given.

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from jobservice.datasets import all_datasets
from jobservice.disk import folder_bytes
from jobservice.limits import SECONDS_PER_IMAGE_PASS
from jobservice.spec import JobSpec, job_size
from jobservice.state import JobStatus
from jobservice.user_models import bundles

IMPORT_CPU_S = 120.0  # an import: TensorFlow's start, the checks, the test split and the ONNX export


@dataclass
class Usage:
    """One owner's (or the server's) jobs, CPU time and disk."""

    active: int = 0  # jobs queued or running
    finished: int = 0
    queued_cpu_s: float = 0.0  # estimated, still to run
    spent_cpu_s: float = 0.0  # recorded
    models: int = 0
    model_bytes: int = 0
    job_bytes: int = 0  # job folders, uploads included
    datasets: int = 0  # prepared image datasets (jobservice.datasets)
    dataset_bytes: int = 0

    @property
    def disk_bytes(self) -> int:
        return self.model_bytes + self.job_bytes + self.dataset_bytes

    def add(self, other: Usage) -> None:
        for name in ("active", "finished", "queued_cpu_s", "spent_cpu_s", "models", "model_bytes",
                     "job_bytes", "datasets", "dataset_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def cpu_estimate_s(job: JobStatus) -> float:
    """CPU seconds a whole job takes, estimated from its size."""
    if isinstance(job.spec, JobSpec):
        return job_size(job.spec) * SECONDS_PER_IMAGE_PASS
    return IMPORT_CPU_S


def cpu_to_come_s(job: JobStatus) -> float:
    """CPU seconds a queued or running job still needs (estimated); 0 for a finished one."""
    if not job.active:
        return 0.0
    return cpu_estimate_s(job) * (1.0 - min(max(job.progress, 0.0), 1.0))


def cpu_spent_s(job: JobStatus, now: float | None = None) -> float:
    """CPU seconds a started job has taken: its run time × its threads."""
    if not job.started:
        return 0.0
    end = job.finished or (time.time() if now is None else now)
    return max(0.0, end - job.started) * max(1, job.threads)


def by_owner(jobs: list[JobStatus], jobs_root: Path, models_root: Path, now: float | None = None,
             datasets_root: Path | None = None) -> dict[str | None, Usage]:
    """Each owner's usage (None: jobs and models nobody owns, e.g. the command line's); the datasets under
    `datasets_root` too, when given."""
    found: dict[str | None, Usage] = {}
    for job in jobs:
        use = found.setdefault(job.owner, Usage())
        use.active += job.active
        use.finished += not job.active
        use.queued_cpu_s += cpu_to_come_s(job)
        use.spent_cpu_s += cpu_spent_s(job, now)
        use.job_bytes += folder_bytes(Path(jobs_root) / job.id)
    for path, acc in bundles(models_root):
        use = found.setdefault(acc.owner, Usage())
        use.models += 1
        use.model_bytes += folder_bytes(path)
    for dataset in all_datasets(datasets_root) if datasets_root else ():
        use = found.setdefault(dataset.access.owner, Usage())
        use.datasets += 1
        use.dataset_bytes += folder_bytes(dataset.folder)
    return found


def total(per_owner: dict[str | None, Usage]) -> Usage:
    """The server's usage: every owner's together."""
    whole = Usage()
    for use in per_owner.values():
        whole.add(use)
    return whole
