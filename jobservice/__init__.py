"""The job service: trainings and imports run outside the web process, with owners, limits and a queue."""

from jobservice.limits import LimitReached, Limits
from jobservice.local import LocalProcessRunner, NotYours
from jobservice.spec import UPLOADS, DatasetSpec, ImportSpec, JobSpec, job_size, upload_digest
from jobservice.state import (
    ACTIVE,
    FINISHED,
    JobNotFound,
    JobRunner,
    JobStatus,
    public_message,
)

__all__ = ["ACTIVE", "FINISHED", "UPLOADS", "DatasetSpec", "ImportSpec", "JobNotFound", "JobRunner",
           "JobSpec", "JobStatus", "LimitReached", "Limits", "LocalProcessRunner", "NotYours", "job_size",
           "public_message", "upload_digest"]
