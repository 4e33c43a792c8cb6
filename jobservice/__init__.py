"""The job service: trainings and imports run outside the web process, with owners, limits and a queue."""

from jobservice.limits import LimitReached, Limits
from jobservice.local import LocalProcessRunner, NotYours
from jobservice.processes import default_threads
from jobservice.spec import UPLOADS, ImportSpec, JobSpec, job_size, upload_digest
from jobservice.state import (
    ACTIVE,
    FINISHED,
    JobNotFound,
    JobRunner,
    JobStatus,
    jobs_dir,
    public_message,
    user_models_dir,
)

__all__ = ["ACTIVE", "FINISHED", "UPLOADS", "ImportSpec", "JobNotFound", "JobRunner", "JobSpec", "JobStatus",
           "LimitReached", "Limits", "LocalProcessRunner", "NotYours", "default_threads", "job_size",
           "jobs_dir", "public_message", "upload_digest", "user_models_dir"]
