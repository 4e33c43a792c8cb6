"""Training and import jobs: start, watch and stop VAE trainings and imports outside the web process.

Pages talk to a `JobRunner`. `LocalProcessRunner` runs `python -m vae train` as a detached
process on this machine and keeps each job's state in its own folder, so a job outlives page
reruns, page switches and closed tabs; another runner (e.g. Ray Jobs) can implement the same
interface. Nothing here imports Streamlit or TensorFlow.

A job folder holds: spec.json (what to train, where to save), training_config.json (what
the trainer reads, once started), pid.json (once started), train.log (the process's output),
and what the trainer writes: progress.json, history.json, status.json (how it ended) and STOP
(a stop request). An import job (`ImportSpec`, spec.json's "kind": "import") runs `python -m vae import`
instead: the visitor's uploaded files wait in the job's upload/ folder, and the importer writes
progress.json (its stage) and status.json (done, or refused with the reason).

Every job has an owner (an opaque visitor id); the runner itself enforces what a class server needs: only
the owner stops, cancels or deletes a job, each job saves to a folder of its own (a name never replaces
anything), per-visitor and whole-queue limits, a cap on a job's size, and storage quotas (`Limits`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Protocol

from vae import bundle as B
from vae import user_models
from vae.data import not_downloaded
from vae.import_card import shown_file_name
from vae.plural import count
from vae.training_config import TrainingConfig

ACTIVE = ("queued", "running", "stopping")
FINISHED = ("done", "stopped", "failed", "refused")  # refused: an import that failed its checks
CRASHED = "The training process ended unexpectedly."
JOB_CONFIG = "training_config.json"  # in the job's folder: the training config the trainer reads
UPLOADS = "upload"  # in an import job's folder: the visitor's files, under the names below (never theirs)
UPLOAD_NAMES = {"graph": ("encoder.keras", "decoder.keras"), "weights": ("upload.weights.h5",)}


# Training images per epoch, before --max-train: what a job's size (epochs × images) is counted in.
TRAIN_IMAGES = {"mnist": 60_000, "fashion_mnist": 60_000, "digits": 1_437}
GIB = 1024 ** 3


def jobs_dir() -> Path:
    return Path(os.environ.get("VAE_JOBS_DIR", B.REPO_ROOT / "jobs"))


def user_models_dir() -> Path:
    """Where trained bundles go; the same folder explorer.models.USER_MODELS lists."""
    return Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))


class JobNotFound(LookupError):
    """No job with that id under the runner's jobs folder."""


class LimitReached(ValueError):
    """A job refused by the server's limits (queue, job size, storage); the message says which and why."""


NotYours = user_models.NotYours  # only a job's owner may stop, cancel or delete it


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What one server allows; the defaults suit a class on one machine (see README, "Running it for a
    class"), and each comes from an environment variable."""

    running_per_owner: int = 1  # VAE_RUNNING_PER_VISITOR
    active_per_owner: int = 3  # VAE_JOBS_PER_VISITOR: queued or running, so one running and two queued
    queue: int = 30  # VAE_QUEUE_LIMIT: queued or running jobs on the whole server
    job_size: int = 3_000_000  # VAE_JOB_SIZE_LIMIT: epochs × training images (50 epochs of MNIST)
    models_per_owner: int = 10  # VAE_MODELS_PER_VISITOR: saved models plus active jobs
    bytes_per_owner: int = GIB  # VAE_BYTES_PER_VISITOR: disk taken by a visitor's saved models

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(
            running_per_owner=int(_env_number("VAE_RUNNING_PER_VISITOR", d.running_per_owner)),
            active_per_owner=int(_env_number("VAE_JOBS_PER_VISITOR", d.active_per_owner)),
            queue=int(_env_number("VAE_QUEUE_LIMIT", d.queue)),
            job_size=int(_env_number("VAE_JOB_SIZE_LIMIT", d.job_size)),
            models_per_owner=int(_env_number("VAE_MODELS_PER_VISITOR", d.models_per_owner)),
            bytes_per_owner=int(_env_number("VAE_BYTES_PER_VISITOR", d.bytes_per_owner)),
        )


def job_size(spec: TrainingConfig) -> int:
    """Epochs × training images: what a job costs, roughly, in trainer time."""
    images = TRAIN_IMAGES.get(spec.dataset, 60_000)
    return spec.epochs * min(images, spec.max_train or images)


@dataclass(frozen=True, kw_only=True)
class JobSpec(TrainingConfig):
    """What to train (a training config) and the job's display name; two equal specs are the same job
    (a double-click starts it once)."""

    name: str = ""  # display name; the bundle goes to <user models>/<slug of the name>

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "name", " ".join(str(self.name).split()))
        if len(self.name) > 80:
            raise ValueError(f"name must be at most 80 characters; got {len(self.name)}.")

    @property
    def config(self) -> TrainingConfig:
        """The training config alone: what the job hands the trainer."""
        return TrainingConfig(**{f.name: getattr(self, f.name) for f in fields(TrainingConfig)})

    @property
    def display_name(self) -> str:
        return self.name or f"{self.dataset} {self.latent_dim}-D β={self.beta:g} ({self.preset})"

    @property
    def slug(self) -> str:
        """The bundle's folder name: the name in lowercase ASCII letters, digits and dashes."""
        return _slug(self.name, f"{self.dataset}-{self.latent_dim}d-beta-{self.beta:g}-{self.preset}")


def _slug(name: str, auto: str) -> str:
    """A folder name from a display name (lowercase ASCII letters, digits and dashes), else from `auto`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", auto.lower()).strip("-")


def upload_digest(uploads: dict[str, bytes]) -> str:
    """sha256 over an import's uploaded files (name and bytes): equal uploads make an equal ImportSpec."""
    h = hashlib.sha256()
    for name in sorted(uploads):
        h.update(f"{name}\0{len(uploads[name])}\0".encode())
        h.update(uploads[name])
    return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class ImportSpec:
    """An import job: the visitor's own model, uploaded into the job's folder, made a bundle by `python -m vae
    import` (the same checks, safe_mode and limits as on the command line). Two equal specs (same settings,
    same files by their digest) are the same job, so a double-click starts it once."""

    source: str  # "graph": an encoder and a decoder .keras; "weights": a .weights.h5 of one of our presets
    dataset: str = "mnist"  # the test split it is measured and mapped on
    name: str = ""  # display name; the bundle goes to <user models>/<slug of the name>
    preset: str | None = None  # "weights" only: which preset, and its latent size
    latent_dim: int | None = None
    file_names: tuple[str, ...] = ()  # the visitor's names for the files, shown as text, never used as paths
    digest: str = ""  # upload_digest() of the files

    def __post_init__(self) -> None:
        if self.source not in UPLOAD_NAMES:
            raise ValueError(f"source must be one of {', '.join(UPLOAD_NAMES)}; got {self.source!r}.")
        if self.dataset not in TRAIN_IMAGES:
            raise ValueError(f"dataset must be one of {', '.join(TRAIN_IMAGES)}; got {self.dataset!r}.")
        object.__setattr__(self, "name", " ".join(str(self.name).split()))
        if len(self.name) > 80:
            raise ValueError(f"name must be at most 80 characters; got {len(self.name)}.")
        object.__setattr__(self, "file_names", tuple(shown_file_name(n) for n in self.file_names))
        if self.source == "weights":
            if self.preset not in ("default", "course"):
                raise ValueError(f"a weights file needs the preset it was trained with (default or course); "
                                 f"got {self.preset!r}.")
            if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= 64:
                raise ValueError(f"latent_dim must be a whole number from 1 to 64; got {self.latent_dim!r}.")
        elif self.preset is not None or self.latent_dim is not None:
            raise ValueError("an encoder and decoder say their own architecture: no preset or latent_dim.")

    @classmethod
    def of_files(cls, source: str, files: list[tuple[str, bytes]], **settings) -> tuple[ImportSpec, dict]:
        """The spec for a visitor's files ((their name, bytes), in the order of UPLOAD_NAMES[source]) and the
        uploads to start it with, under the job folder's own names."""
        names = UPLOAD_NAMES.get(source, ())
        if len(files) != len(names):
            raise ValueError(f"this import takes {count(len(names), 'file')}; got {len(files)}.")
        uploads = {name: data for name, (_, data) in zip(names, files)}
        theirs = tuple(name for name, _ in files)
        return cls(source=source, file_names=theirs, digest=upload_digest(uploads), **settings), uploads

    @property
    def upload_names(self) -> tuple[str, ...]:
        """The files' names in the job's upload/ folder, in the order the import command takes them."""
        return UPLOAD_NAMES[self.source]

    @property
    def display_name(self) -> str:
        return self.name or f"{' + '.join(self.file_names) or 'imported model'} ({self.dataset})"

    @property
    def slug(self) -> str:
        return _slug(self.name, f"imported-{self.dataset}")

    def to_dict(self) -> dict:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> ImportSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if k == "file_names" else v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class JobStatus:
    """A job as its runner sees it now."""

    id: str
    spec: JobSpec | ImportSpec
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
    stage: str = ""  # an import's current step (vae.import_job.STAGES)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def kind(self) -> str:
        """"train" or "import"."""
        return "import" if isinstance(self.spec, ImportSpec) else "train"


class JobRunner(Protocol):
    """What pages need from a place that runs trainings. `owner` is the visitor asking; the runner refuses
    (NotYours, LimitReached) what they may not do."""

    def start(self, spec: JobSpec | ImportSpec, *, owner: str,
              uploads: dict[str, bytes] | None = None) -> str: ...

    def status(self, job_id: str) -> JobStatus: ...

    def list(self, owner: str | None = None) -> list[JobStatus]: ...

    def stop(self, job_id: str, *, owner: str | None) -> None: ...

    def result(self, job_id: str) -> Path | None: ...


# Popen objects of the processes this web process started: polling them reaps finished
# children, which would otherwise linger as zombies that still look alive to kill(pid, 0).
_CHILDREN: dict[int, subprocess.Popen] = {}


class LocalProcessRunner:
    """Runs each job as a detached `python -m vae train` process; at most `max_running` at once.

    There is no daemon here: every call to start/status/list/stop first reconciles the folder (marks dead
    processes failed, gives finished bundles their owner, starts queued jobs in free slots) under a file
    lock, so any number of Streamlit sessions, threads and app replicas can share one jobs folder. The web
    process also calls reconcile() every few seconds (explorer.keeper), so the queue moves with no page open.
    """

    def __init__(self, root: str | Path | None = None, models_dir: str | Path | None = None, *,
                 max_running: int | None = None, threads: int | None = None, python: str = sys.executable,
                 limits: Limits | None = None):
        self.root = Path(root) if root else jobs_dir()
        self.models_dir = Path(models_dir) if models_dir else user_models_dir()
        self.max_running = int(os.environ.get("VAE_MAX_JOBS", 1)) if max_running is None else max_running
        self.threads = default_threads() if threads is None else threads
        self.python = python
        self.limits = limits or Limits.from_env()

    # -- the JobRunner interface -------------------------------------------------------------

    def start(self, spec: JobSpec | ImportSpec, *, owner: str,
              uploads: dict[str, bytes] | None = None) -> str:
        """Queue the owner's job (it starts at once if a slot is free), or raise LimitReached saying why
        not; the owner's identical active job (a double-click) is reused. An import's `uploads` (its files'
        bytes by `spec.upload_names`) are saved in the job's folder before the job can start."""
        if not isinstance(spec, (JobSpec, ImportSpec)):
            raise TypeError("start() takes a JobSpec or an ImportSpec")
        if not owner:
            raise ValueError("a job needs an owner")
        if isinstance(spec, ImportSpec):
            if sorted(uploads or {}) != sorted(spec.upload_names) or spec.digest != upload_digest(uploads):
                raise ValueError(f"an import needs exactly its files ({', '.join(spec.upload_names)}), "
                                 "as its digest says")
        elif uploads:
            raise ValueError("only an import job takes uploads")
        with self._lock():
            self._reconcile()
            jobs = self._read_all()
            for job in jobs:
                if job.active and job.owner == owner and job.spec == spec:
                    return job.id
            self._check_limits(spec, owner, jobs)
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            d = self.root / job_id
            d.mkdir(parents=True)
            for name, data in (uploads or {}).items():  # before spec.json: a job is never seen without them
                (d / UPLOADS).mkdir(exist_ok=True)
                (d / UPLOADS / name).write_bytes(data)
            # Its own folder, named after the job as well as the name: two equal names never collide.
            out = (self.models_dir / f"{spec.slug}-{job_id.rsplit('-', 1)[1]}").resolve()
            kind = {"kind": "import"} if isinstance(spec, ImportSpec) else {}
            B.write_json(d / "spec.json", {**kind, "spec": spec.to_dict(), "created": time.time(),
                                          "owner": owner, "out": str(out)})
            self._reconcile()
        return job_id

    def status(self, job_id: str) -> JobStatus:
        d = self._dir(job_id)
        with self._lock():
            self._reconcile()
        return next((j for j in self._read_all() if j.id == d.name), None) or self._read(d)

    def list(self, owner: str | None = None) -> list[JobStatus]:
        """The owner's jobs (everyone's for None: the operator), newest first."""
        with self._lock():
            jobs = self._reconcile() or self._read_all()
        return sorted((j for j in jobs if owner is None or j.owner == owner), key=lambda j: j.created,
                      reverse=True)

    def stop(self, job_id: str, *, owner: str | None) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it has. Only the
        job's owner may (owner None: the operator, from the command line or a test)."""
        d = self._dir(job_id)
        with self._lock():
            job = self._read(d)
            self._check_owner(job, owner)
            if job.state == "queued":
                B.write_json(d / "status.json", {"state": "stopped", "bundle": None, "finished": time.time(),
                                                "message": "Cancelled before it started."})
            elif job.state == "running":
                (d / "STOP").touch()
            self._reconcile()

    def result(self, job_id: str) -> Path | None:
        job = self.status(job_id)
        return job.bundle if job.bundle and B.is_bundle(job.bundle) else None

    # -- the class server's part ------------------------------------------------------------

    def delete(self, job_id: str, *, owner: str | None) -> None:
        """Remove a finished job from the list (its model, if any, stays: delete that on Home)."""
        d = self._dir(job_id)
        with self._lock():
            job = self._read(d)
            self._check_owner(job, owner)
            if job.active:
                raise ValueError("Stop the job before removing it.")
            _remove_dir(d)
            _FINAL.pop(str(d), None)

    def reconcile(self) -> None:
        """Start queued jobs in free slots and record ended ones (what every call does first)."""
        with self._lock():
            self._reconcile()

    def clean_up(self, retention_days: float, now: float | None = None) -> list[str]:
        """Remove the folders of jobs that finished more than `retention_days` ago (0: keep all); their
        models stay. Returns the removed job ids."""
        if retention_days <= 0:
            return []
        now = time.time() if now is None else now
        removed = []
        with self._lock():
            for job in self._read_all():
                if job.state in FINISHED and now - (job.finished or job.created) > retention_days * 86400:
                    _remove_dir(self.root / job.id)
                    _FINAL.pop(str(self.root / job.id), None)
                    removed.append(job.id)
        return removed

    def _check_owner(self, job: JobStatus, owner: str | None) -> None:
        if owner is not None and job.owner != owner:
            raise NotYours("Only the visitor who started a job can stop, cancel or remove it.")

    def _check_limits(self, spec: JobSpec | ImportSpec, owner: str, jobs: list[JobStatus]) -> None:
        lim = self.limits
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
        used = user_models.usage(self.models_dir, owner)
        if used.models + len(mine) >= lim.models_per_owner:
            raise LimitReached(
                f"You have {count(used.models, 'saved model')} and {count(len(mine), 'job')} under way; "
                f"each visitor may keep {lim.models_per_owner}. Delete a model on Home to make room.")
        if used.bytes >= lim.bytes_per_owner:
            raise LimitReached(
                f"Your saved models take {used.bytes / 2**20:,.0f} MB; each visitor may keep "
                f"{lim.bytes_per_owner / 2**20:,.0f} MB. Delete a model on Home to make room.")

    # -- files and processes -----------------------------------------------------------------

    def log_tail(self, job_id: str, lines: int = 30) -> str:
        """The end of the job's log, for the operator and tests: it names server paths, so never a visitor."""
        return _tail(self._dir(job_id) / "train.log", lines)

    def _dir(self, job_id: str) -> Path:
        d = self.root / str(job_id)
        if not job_id or "/" in job_id or "\\" in job_id or job_id.startswith(".") \
                or not (d / "spec.json").is_file():
            raise JobNotFound(f"No training job '{job_id}' on this server.")
        return d

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as fh:
            try:
                import fcntl
            except ImportError:  # Windows: no flock; a single Streamlit process is still safe enough
                yield
                return
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_all(self) -> list[JobStatus]:
        if not self.root.is_dir():
            return []
        jobs = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    job = self._read_cached(Path(entry.path))
                except (ValueError, TypeError, KeyError, OSError):
                    continue  # a folder with a corrupt or foreign spec (or half removed) is not ours to show
                if job is not None:
                    jobs.append(job)
        queued = sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created)
        position = {j.id: i + 1 for i, j in enumerate(queued)}
        return [replace(j, queue_position=position.get(j.id)) if j.id in position else j for j in jobs]

    def _read_cached(self, d: Path) -> JobStatus | None:
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
        job = self._read(d)
        if mtime is not None and job.state in FINISHED and (d / "status.json").stat().st_mtime == mtime:
            _FINAL[str(d)] = (mtime, job)
        return job

    def _read(self, d: Path) -> JobStatus:
        """A job's state from its files and whether its process is alive; writes nothing."""
        meta = _read_json(d / "spec.json")
        spec = (ImportSpec if meta.get("kind") == "import" else JobSpec).from_dict(meta["spec"])
        status = _read_json(d / "status.json")
        run = _read_json(d / "pid.json")
        progress = _read_json(d / "progress.json") or {}
        alive = bool(run) and self._running(d, run)
        if status is None and run is not None and not alive:
            status = _read_json(d / "status.json")  # it may have written status.json as it exited
        if status:
            state = status.get("state", "failed")
        elif run is None:
            state = "queued"
        elif alive:
            state = "stopping" if (d / "STOP").exists() else "running"
        else:
            state = "failed"
            status = {"message": _crash_message(d / "train.log", isinstance(spec, ImportSpec))}
        bundle = status.get("bundle") if status else None
        return JobStatus(
            id=d.name, spec=spec, state=state, out=Path(meta["out"]),
            progress=1.0 if state == "done" else float(progress.get("fraction", 0.0)),
            epoch=int(progress.get("epoch", 0)), epochs=getattr(spec, "epochs", 0),
            step=int(progress.get("step", 0)), steps=int(progress.get("steps", 0)),
            logs=progress.get("logs", {}), history=_read_json(d / "history.json") or {},
            message=public_message((status or {}).get("message", "")),
            bundle=Path(bundle) if bundle else None,
            created=float(meta.get("created", 0.0)), started=(run or {}).get("started"),
            finished=(status or {}).get("finished"), pid=(run or {}).get("pid"),
            log_tail=_tail(d / "train.log") if state == "failed" else "", owner=meta.get("owner"),
            stage=str(progress.get("stage", "")),
        )

    def _reconcile(self) -> list[JobStatus] | None:
        """Under the lock: record crashed processes as failed, give finished bundles their owner, then start
        queued jobs in free slots, oldest first, skipping visitors who already have their share running.
        Returns the jobs as read if nothing changed (a list need not read them twice), else None."""
        jobs = self._read_all()
        changed = False
        for job in jobs:
            d = self.root / job.id
            if job.state == "failed" and not (d / "status.json").exists():
                changed = True
                B.write_json(d / "status.json", {"state": "failed", "message": job.message, "bundle": None,
                                                 "finished": time.time()})
                # The whole story (a traceback, server paths) is for the operator: the server's log.
                print(f"Latent Explorer: training job {job.id} failed; its log: {d / 'train.log'}\n"
                      f"{_tail(d / 'train.log', 15)}", file=sys.stderr)
            if job.bundle and job.owner and job.state in FINISHED and str(job.bundle) not in _OWNED:
                if B.is_bundle(job.bundle) and user_models.access(job.bundle).owner is None:
                    user_models.set_owner(job.bundle, job.owner)
                _OWNED.add(str(job.bundle))
        running = [j for j in jobs if j.state in ("running", "stopping")]
        per_owner: dict[str | None, int] = {}
        for j in running:
            per_owner[j.owner] = per_owner.get(j.owner, 0) + 1
        free = self.max_running - len(running)
        for job in sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created):
            if free <= 0:
                break
            if per_owner.get(job.owner, 0) >= self.limits.running_per_owner:
                continue  # fair: someone else's job goes first
            self._launch(job)
            changed = True
            per_owner[job.owner] = per_owner.get(job.owner, 0) + 1
            free -= 1
        return None if changed else jobs

    def _command(self, job: JobStatus) -> list[str]:
        """The job's command line, after `python` (another runner, e.g. Ray's, runs the same one)."""
        d = self.root / job.id
        if isinstance(job.spec, ImportSpec):
            s, up = job.spec, d.resolve() / UPLOADS
            files = (["--encoder", str(up / s.upload_names[0]), "--decoder", str(up / s.upload_names[1])]
                     if s.source == "graph" else
                     ["--weights", str(up / s.upload_names[0]), "--preset", s.preset,
                      "--latent-dim", str(s.latent_dim)])
            # The visitor's names for the card, "--role-name=…" in one piece (a name may start with "-").
            roles = ("encoder", "decoder") if s.source == "graph" else ("weights",)
            files += [f"--{role}-name={theirs}" for role, theirs in zip(roles, s.file_names) if theirs]
            return ["-m", "vae", "import", *files, "--dataset", s.dataset, f"--name={s.display_name}",
                    "--threads", str(self.threads), "--out", str(job.out), "--job-dir", str(d.resolve())]
        config = d / JOB_CONFIG  # written at launch, not at start(), so jobs an older runner queued start too
        B.write_json(config, job.spec.config.to_dict())
        return ["-m", "vae", "train", "--config", str(config.resolve()),
                # "--name=…" in one piece: a name that starts with "-" is still the name, not an option.
                f"--name={job.spec.display_name}", "--threads", str(self.threads),
                "--out", str(job.out), "--job-dir", str(d.resolve())]

    def _running(self, d: Path, run: dict) -> bool:
        """Whether a launched job (its pid.json: `run`) still runs: here its process; another runner asks
        its cluster."""
        return bool(run.get("pid")) and _alive(run)

    def _launch(self, job: JobStatus) -> None:
        d = self.root / job.id
        cmd = [self.python, *self._command(job)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(B.REPO_ROOT), env.get("PYTHONPATH")]))
        try:
            with open(d / "train.log", "ab") as log:
                proc = subprocess.Popen(cmd, cwd=B.REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            print(f"Latent Explorer: could not start training job {job.id}: {exc!r}", file=sys.stderr)
            B.write_json(d / "status.json", {"state": "failed", "bundle": None, "finished": time.time(),
                                            "message": "Could not start the training process."})
            return
        _CHILDREN[proc.pid] = proc
        B.write_json(d / "pid.json",
                    {"pid": proc.pid, "proc_start": _proc_start(proc.pid), "started": time.time()})


# Finished jobs as read once: job folder -> (status.json's mtime, JobStatus).
_FINAL: dict[str, tuple[float, JobStatus]] = {}
_OWNED: set[str] = set()  # bundles of finished jobs already given their owner


def default_threads() -> int:
    """Threads per training job: VAE_TRAIN_THREADS, else half the cores, so the web pages stay responsive
    while a job trains (0 means every core, as the CLI's default)."""
    env = os.environ.get("VAE_TRAIN_THREADS")
    if env is not None and env.strip().isdigit():
        return int(env)
    return max(1, (os.cpu_count() or 2) // 2)


# Absolute paths (two or more parts), and the home folder: what a message must not show a visitor.
_PATH = re.compile(r"(?<![\w.:/-])(?:~|/[\w.@+-]+)(?:/[\w.@+-]*)+")


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def public_message(text: str) -> str:
    """A message fit for a visitor: server paths replaced by "…" (the full one goes to the server's log), a
    failed download (Keras' URL, an errno) said in one plain sentence, and no errno number."""
    text = str(text)
    if _URL.search(text) and (_ERRNO.search(text) or "download" in text.lower()):
        dataset = re.search(r"Dataset '(\w+)'", text)  # vae.data's own wording, before it said this itself
        text = (not_downloaded(dataset.group(1)) if dataset
                else "Something this job needed could not be downloaded.")
    return _PATH.sub("…", _ERRNO.sub("", text))


def _remove_dir(d: Path) -> None:
    aside = d.with_name(f".{d.name}.removed-{os.getpid()}")
    os.rename(d, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _alive(run: dict) -> bool:
    """Whether the job's process still runs (not a zombie, and not another process that reused the pid)."""
    pid = int(run["pid"])
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (macOS): kill(pid, 0) is all we know
    state, start = stat
    return state not in "ZX" and run.get("proc_start") in (None, start)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime field 22
    return rest[0], int(rest[19])


def _proc_start(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 16_000))
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _crash_message(log: Path, imported: bool = False) -> str:
    """The CLI's own `error: …` line if the process printed one, else a generic crash message."""
    for line in reversed(_tail(log, 50).splitlines()):
        if line.startswith("error: "):
            return line[len("error: "):]
    return f"{CRASHED.replace('training', 'import') if imported else CRASHED} See the end of its log below."
