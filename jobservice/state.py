"""A job's folder and its files: where jobs live, reading a job's state (JobStatus) from them, the lock."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

try:
    import fcntl
except ImportError:  # Windows: no flock; a single Streamlit process is still safe enough
    fcntl = None

from jobservice.spec import DatasetSpec, ImportSpec, JobSpec
from jobservice.user_models import remove
from vae.bundles.bundle import read_json_or_none
from vae.inputs.data import not_downloaded

# A job folder holds: spec.json (what to train, where to save), training_config.json (what the trainer
# reads, once started), pid.json (once started), train.log (the process's output), and what the trainer
# writes: progress.json, history.json, status.json (how it ended) and STOP (a stop request). An import job
# (spec.json's "kind": "import") keeps the visitor's uploaded files in its upload/ folder, and the importer
# writes progress.json (its stage) and status.json (done, or refused with the reason).
ACTIVE = ("queued", "running", "stopping")
FINISHED = ("done", "stopped", "failed", "refused")  # refused: an import that failed its checks
CRASHED = "The training process ended unexpectedly."
IMPORT_CRASHED = "The import process ended unexpectedly."
JOB_CONFIG = "training_config.json"  # in the job's folder: the training config the trainer reads


SPECS = {"import": ImportSpec, "dataset": DatasetSpec}  # spec.json's "kind" (none: a training)


class JobNotFound(LookupError):
    """No job with that id under the runner's jobs folder."""


@dataclass(frozen=True)
class JobStatus:
    """A job as its runner sees it now."""

    id: str
    spec: JobSpec | ImportSpec | DatasetSpec
    state: str  # queued, running, stopping, done, stopped, failed
    out: Path  # where the bundle is (or will be) saved
    queue_position: int | None = None  # 1 = next to start; None unless queued
    progress: float = 0.0  # fraction of all epochs done, 0..1
    epoch: int = 0  # epochs completed
    epochs: int = 0
    step: int = 0  # batches done in the current epoch, of `steps`
    steps: int = 0
    logs: dict = field(default_factory=dict)  # the latest batch's losses
    history: dict = field(default_factory=dict)  # per-epoch lists: loss, reconstruction_loss, kl_loss, val_*
    message: str = ""
    bundle: Path | None = None  # the saved bundle, once a job ended with one
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    log_tail: str = ""  # the end of the process's output, for failed jobs (server side: it names paths)
    owner: str | None = None  # the visitor who started it (None: from before owners, or the operator's)
    stage: str = ""  # an import's current step (vae.importing.job.STAGES)
    threads: int = 1  # the threads it was started with (pid.json), for what its run time cost

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def kind(self) -> str:
        """"train", "import" or "dataset"."""
        return {ImportSpec: "import", DatasetSpec: "dataset"}.get(type(self.spec), "train")


class JobRunner(Protocol):
    """What pages need from a place that runs trainings. `owner` is the visitor asking; the runner refuses
    (NotYours, LimitReached) what they may not do."""

    def start(self, spec: JobSpec | ImportSpec, *, owner: str,
              uploads: dict[str, bytes] | None = None) -> str: ...

    def status(self, job_id: str) -> JobStatus: ...

    def list(self, owner: str | None = None) -> list[JobStatus]: ...

    def stop(self, job_id: str, *, owner: str | None) -> None: ...

    def result(self, job_id: str) -> Path | None: ...


# Absolute paths (two or more parts), and the home folder: what a message must not show a visitor.
_PATH = re.compile(r"(?<![\w.:/-])(?:~|/[\w.@+-]+)(?:/[\w.@+-]*)+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def public_message(text: str) -> str:
    """A message fit for a visitor: server paths replaced by "…" (the full one goes to the server's log), a
    failed download (Keras' URL, an errno) said in one plain sentence, and no errno number."""
    text = str(text)
    if _URL.search(text) and (_ERRNO.search(text) or "download" in text.lower()):
        dataset = re.search(r"Dataset '(\w+)'", text)  # vae.inputs.data's wording, before it said this itself
        text = (not_downloaded(dataset.group(1)) if dataset
                else "Something this job needed could not be downloaded.")
    return _PATH.sub("…", _ERRNO.sub("", text))


def job_folder(root: Path, job_id: str) -> Path:
    """The folder of the job `job_id` under `root`, or JobNotFound (an id never reaches outside `root`)."""
    d = root / str(job_id)
    if not job_id or "/" in job_id or "\\" in job_id or job_id.startswith(".") \
            or not (d / "spec.json").is_file():
        raise JobNotFound(f"No training job '{job_id}' on this server.")
    return d


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the jobs folder's lock: every runner call reconciles under it, in any process or replica."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as fh:
        if fcntl is None:
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_job(d: Path, running: Callable[[Path, dict], bool]) -> JobStatus:
    """A job's state from its files and whether its process is alive (`running(d, pid.json)`: here its
    process; another runner asks its cluster); writes nothing."""
    meta = read_json_or_none(d / "spec.json")
    spec = SPECS.get(meta.get("kind"), JobSpec).from_dict(meta["spec"])
    status = read_json_or_none(d / "status.json")
    run = read_json_or_none(d / "pid.json")
    progress = read_json_or_none(d / "progress.json") or {}
    alive = bool(run) and running(d, run)
    if status is None and run is not None and not alive:
        status = read_json_or_none(d / "status.json")  # it may have written status.json as it exited
    if status:
        state = status.get("state", "failed")
    elif run is None:
        state = "queued"
    elif alive:
        state = "stopping" if (d / "STOP").exists() else "running"
    else:
        state = "failed"
        status = {"message": crash_message(d / "train.log", not isinstance(spec, JobSpec))}
    bundle = status.get("bundle") if status else None
    return JobStatus(
        id=d.name, spec=spec, state=state, out=Path(meta["out"]),
        progress=1.0 if state == "done" else float(progress.get("fraction", 0.0)),
        epoch=int(progress.get("epoch", 0)), epochs=getattr(spec, "epochs", 0),
        step=int(progress.get("step", 0)), steps=int(progress.get("steps", 0)),
        logs=progress.get("logs", {}), history=read_json_or_none(d / "history.json") or {},
        message=public_message((status or {}).get("message", "")),
        bundle=Path(bundle) if bundle else None,
        created=float(meta.get("created", 0.0)), started=(run or {}).get("started"),
        finished=(status or {}).get("finished"), pid=(run or {}).get("pid"),
        log_tail=tail(d / "train.log") if state == "failed" else "", owner=meta.get("owner"),
        stage=str(progress.get("stage", "")), threads=int((run or {}).get("threads") or 1),
    )


def read_jobs(root: Path, running: Callable[[Path, dict], bool]) -> list[JobStatus]:
    """Every job under `root`, the queued ones numbered by their place in the queue."""
    if not root.is_dir():
        return []
    jobs = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                job = _read_cached(Path(entry.path), running)
            except (ValueError, TypeError, KeyError, OSError):
                continue  # a folder with a corrupt or foreign spec (or half removed) is not ours to show
            if job is not None:
                jobs.append(job)
    queued = sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created)
    position = {j.id: i + 1 for i, j in enumerate(queued)}
    return [replace(j, queue_position=position.get(j.id)) if j.id in position else j for j in jobs]


# Finished jobs as read once: job folder -> (status.json's mtime, JobStatus).
_FINAL: dict[str, tuple[float, JobStatus]] = {}


def _read_cached(d: Path, running: Callable[[Path, dict], bool]) -> JobStatus | None:
    """A finished job never changes: read it once per process (a list of 1,000 jobs is then a stat
    each), keyed by its status file's mtime so a rewritten one is read again."""
    try:
        mtime = (d / "status.json").stat().st_mtime
    except FileNotFoundError:
        mtime = None
    if mtime is not None:
        hit = _FINAL.get(str(d))
        if hit and hit[0] == mtime:
            return hit[1]
    if not (d / "spec.json").is_file():
        return None
    job = read_job(d, running)
    if mtime is not None and job.state in FINISHED and (d / "status.json").stat().st_mtime == mtime:
        _FINAL[str(d)] = (mtime, job)
    return job


def remove_job_folder(d: Path) -> None:
    """Remove a job's folder, renamed aside first so no reader sees half of it; one already gone is fine."""
    _FINAL.pop(str(d), None)
    remove(d)  # (one removed meanwhile, by another replica's clean-up, is fine)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log (at most its last 16 kB)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 16_000))
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def crash_message(log: Path, imported: bool = False) -> str:
    """The CLI's own `error: …` line if the process printed one, else a generic crash message."""
    for line in reversed(tail(log, 50).splitlines()):
        if line.startswith("error: "):
            return line[len("error: "):]
    return IMPORT_CRASHED if imported else CRASHED
