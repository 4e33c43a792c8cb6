"""Training jobs: start, watch and stop VAE trainings that run outside the web process.

Pages talk to a `JobRunner`. `LocalProcessRunner` runs `python -m vae train` as a detached
process on this machine and keeps each job's state in its own folder, so a job outlives page
reruns, page switches and closed tabs; another runner (e.g. Ray Jobs) can implement the same
interface. Nothing here imports Streamlit or TensorFlow.

A job folder holds: spec.json (what to train, where to save), training_config.json (what
the trainer reads, once started), pid.json (once started), train.log (the process's output),
and what the trainer writes: progress.json, history.json, status.json (how it ended) and STOP
(a stop request).
"""

from __future__ import annotations

import json
import os
import re
import secrets
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
from vae.training_config import TrainingConfig

ACTIVE = ("queued", "running", "stopping")
FINISHED = ("done", "stopped", "failed")
CRASHED = "The training process ended unexpectedly."
JOB_CONFIG = "training_config.json"  # in the job's folder: the training config the trainer reads


def jobs_dir() -> Path:
    return Path(os.environ.get("VAE_JOBS_DIR", B.REPO_ROOT / "jobs"))


def user_models_dir() -> Path:
    """Where trained bundles go; the same folder explorer.models.USER_MODELS lists."""
    return Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))


class JobNotFound(LookupError):
    """No job with that id under the runner's jobs folder."""


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
        ascii_name = unicodedata.normalize("NFKD", self.name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
        auto = f"{self.dataset}-{self.latent_dim}d-beta-{self.beta:g}-{self.preset}"
        return slug or re.sub(r"[^a-z0-9]+", "-", auto)


@dataclass(frozen=True)
class JobStatus:
    """A job as its runner sees it now."""

    id: str
    spec: JobSpec
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
    log_tail: str = ""  # the end of the process's output, for failed jobs

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class JobRunner(Protocol):
    """What pages need from a place that runs trainings."""

    def start(self, spec: JobSpec) -> str: ...

    def status(self, job_id: str) -> JobStatus: ...

    def list(self) -> list[JobStatus]: ...

    def stop(self, job_id: str) -> None: ...

    def result(self, job_id: str) -> Path | None: ...


# Popen objects of the processes this web process started: polling them reaps finished
# children, which would otherwise linger as zombies that still look alive to kill(pid, 0).
_CHILDREN: dict[int, subprocess.Popen] = {}


class LocalProcessRunner:
    """Runs each job as a detached `python -m vae train` process; at most `max_running` at once.

    There is no daemon: every call to start/status/list/stop first reconciles the folder
    (marks dead processes failed, starts queued jobs in free slots) under a file lock, so
    any number of Streamlit sessions and threads can share one jobs folder.
    """

    def __init__(self, root: str | Path | None = None, models_dir: str | Path | None = None, *,
                 max_running: int | None = None, threads: int | None = None, python: str = sys.executable):
        self.root = Path(root) if root else jobs_dir()
        self.models_dir = Path(models_dir) if models_dir else user_models_dir()
        self.max_running = int(os.environ.get("VAE_MAX_JOBS", 1)) if max_running is None else max_running
        self.threads = int(os.environ.get("VAE_TRAIN_THREADS", 0)) if threads is None else threads
        self.python = python

    # -- the JobRunner interface -------------------------------------------------------------

    def start(self, spec: JobSpec) -> str:
        """Queue the job (it starts at once if a slot is free); an identical active job is reused."""
        if not isinstance(spec, JobSpec):
            raise TypeError("start() takes a JobSpec")
        with self._lock():
            self._reconcile()
            for job in self._read_all():
                if job.active and job.spec == spec:
                    return job.id
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            d = self.root / job_id
            d.mkdir(parents=True)
            B.write_json(d / "spec.json", {"spec": spec.to_dict(), "created": time.time(),
                                          "out": str((self.models_dir / spec.slug).resolve())})
            self._reconcile()
        return job_id

    def status(self, job_id: str) -> JobStatus:
        d = self._dir(job_id)
        with self._lock():
            self._reconcile()
        return next((j for j in self._read_all() if j.id == d.name), None) or self._read(d)

    def list(self) -> list[JobStatus]:
        """All jobs, newest first."""
        with self._lock():
            self._reconcile()
        return sorted(self._read_all(), key=lambda j: j.created, reverse=True)

    def stop(self, job_id: str) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it has."""
        d = self._dir(job_id)
        with self._lock():
            job = self._read(d)
            if job.state == "queued":
                B.write_json(d / "status.json", {"state": "stopped", "bundle": None, "finished": time.time(),
                                                "message": "Cancelled before it started."})
            elif job.state == "running":
                (d / "STOP").touch()
            self._reconcile()

    def result(self, job_id: str) -> Path | None:
        job = self.status(job_id)
        return job.bundle if job.bundle and B.is_bundle(job.bundle) else None

    # -- files and processes -----------------------------------------------------------------

    def log_tail(self, job_id: str, lines: int = 30) -> str:
        return _tail(self._dir(job_id) / "train.log", lines)

    def _dir(self, job_id: str) -> Path:
        d = self.root / job_id
        if not job_id or "/" in job_id or job_id.startswith(".") or not (d / "spec.json").is_file():
            raise JobNotFound(f"No training job '{job_id}' in {self.root}.")
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
        for d in self.root.iterdir():
            if not d.name.startswith(".") and (d / "spec.json").is_file():
                try:
                    jobs.append(self._read(d))
                except (ValueError, TypeError, KeyError):
                    continue  # a folder with a corrupt or foreign spec is not ours to show
        queued = sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created)
        position = {j.id: i + 1 for i, j in enumerate(queued)}
        return [replace(j, queue_position=position.get(j.id)) for j in jobs]

    def _read(self, d: Path) -> JobStatus:
        """A job's state from its files and whether its process is alive; writes nothing."""
        meta = _read_json(d / "spec.json")
        spec = JobSpec.from_dict(meta["spec"])
        status = _read_json(d / "status.json")
        run = _read_json(d / "pid.json")
        progress = _read_json(d / "progress.json") or {}
        alive = bool(run and run.get("pid") and _alive(run))
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
            status = {"message": _crash_message(d / "train.log")}
        bundle = status.get("bundle") if status else None
        return JobStatus(
            id=d.name, spec=spec, state=state, out=Path(meta["out"]),
            progress=1.0 if state == "done" else float(progress.get("fraction", 0.0)),
            epoch=int(progress.get("epoch", 0)), epochs=spec.epochs,
            step=int(progress.get("step", 0)), steps=int(progress.get("steps", 0)),
            logs=progress.get("logs", {}), history=_read_json(d / "history.json") or {},
            message=(status or {}).get("message", ""), bundle=Path(bundle) if bundle else None,
            created=float(meta.get("created", 0.0)), started=(run or {}).get("started"),
            finished=(status or {}).get("finished"), pid=(run or {}).get("pid"),
            log_tail=_tail(d / "train.log") if state == "failed" else "",
        )

    def _reconcile(self) -> None:
        """Under the lock: record crashed processes as failed, then start queued jobs in free slots."""
        jobs = self._read_all()
        for job in jobs:
            if job.state == "failed" and not (self.root / job.id / "status.json").exists():
                B.write_json(self.root / job.id / "status.json", {"state": "failed", "message": job.message,
                                                                  "bundle": None, "finished": time.time()})
        running = sum(j.state in ("running", "stopping") for j in jobs)
        for job in sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.created):
            if running >= self.max_running:
                break
            self._launch(job)
            running += 1

    def _launch(self, job: JobStatus) -> None:
        d = self.root / job.id
        config = d / JOB_CONFIG  # written at launch, not at start(), so jobs an older runner queued start too
        B.write_json(config, job.spec.config.to_dict())
        cmd = [self.python, "-m", "vae", "train", "--config", str(config.resolve()),
               # "--name=…" in one piece: a name that starts with "-" is still the name, not an option.
               f"--name={job.spec.display_name}", "--threads", str(self.threads),
               "--out", str(job.out), "--job-dir", str(d.resolve())]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(B.REPO_ROOT), env.get("PYTHONPATH")]))
        try:
            with open(d / "train.log", "ab") as log:
                proc = subprocess.Popen(cmd, cwd=B.REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            B.write_json(d / "status.json", {"state": "failed", "bundle": None, "finished": time.time(),
                                            "message": f"Could not start the training process: {exc}"})
            return
        _CHILDREN[proc.pid] = proc
        B.write_json(d / "pid.json",
                    {"pid": proc.pid, "proc_start": _proc_start(proc.pid), "started": time.time()})


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


def _crash_message(log: Path) -> str:
    """The CLI's own `error: …` line if the process printed one, else a generic crash message."""
    for line in reversed(_tail(log, 50).splitlines()):
        if line.startswith("error: "):
            return line[len("error: "):]
    return f"{CRASHED} See the end of its log below."
