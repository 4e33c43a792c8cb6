"""The local runner: each job a detached `python -m vae train` (or `import`) process on this machine."""

# Pages talk to a `JobRunner` (jobservice.state). `LocalProcessRunner` keeps each job's state in its own
# folder, so a job outlives page reruns, page switches and closed tabs; another runner (jobservice.ray_runner)
# implements the same interface. Nothing here imports Streamlit or TensorFlow.
#
# Every job has an owner (an opaque visitor id); the runner itself enforces what a class server needs: only
# the owner stops, cancels or deletes a job, each job saves to a folder of its own (a name never replaces
# anything), per-visitor and whole-queue limits, a cap on a job's size, and storage quotas (`Limits`).

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import settings
from jobservice import datasets, processes, user_models
from jobservice.disk import DiskUse, check_disk, disk_use, over_quota
from jobservice.limits import Limits, check_limits, fair_starts
from jobservice.pause import paused
from jobservice.spec import UPLOADS, DatasetSpec, ImportSpec, JobSpec, upload_digest
from jobservice.state import (
    FINISHED,
    JOB_CONFIG,
    JobStatus,
    job_folder,
    locked,
    read_job,
    read_jobs,
    remove_job_folder,
    tail,
)
from vae.bundles.access import SERVER
from vae.bundles.bundle import is_bundle, write_json

KINDS = {ImportSpec: "import", DatasetSpec: "dataset"}  # spec.json's "kind" (none: a training)
NotYours = user_models.NotYours  # only a job's owner may stop, cancel or delete it


class LocalProcessRunner:
    """Runs each job as a detached `python -m vae train` process; at most `max_running` at once.

    There is no daemon here: every call to start/status/list/stop first reconciles the folder (marks dead
    processes failed, gives finished bundles their owner, starts queued jobs in free slots) under a file
    lock, so any number of Streamlit sessions, threads and app replicas can share one jobs folder. The web
    process also calls reconcile() every few seconds (explorer.keeper), so the queue moves with no page open.
    """

    def __init__(self, root: str | Path | None = None, models_dir: str | Path | None = None, *,
                 max_running: int | None = None, threads: int | None = None, python: str = sys.executable,
                 limits: Limits | None = None, counted_dirs: Iterable[str | Path] = ()):
        self.root = Path(root) if root else settings.jobs_dir()
        self.models_dir = Path(models_dir) if models_dir else settings.user_models_dir()
        self.max_running = settings.max_jobs() if max_running is None else max_running
        self.threads = settings.train_threads() if threads is None else threads
        self.python = python
        self.limits = limits or Limits.from_env()
        # More folders the server's disk budget counts besides jobs and models (the published decoders).
        self.counted_dirs = tuple(Path(d) for d in counted_dirs)

    # -- the JobRunner interface -------------------------------------------------------------

    def start(self, spec: JobSpec | ImportSpec | DatasetSpec, *, owner: str,
              uploads: dict[str, bytes] | None = None) -> str:
        """Queue the owner's job (it starts at once if a slot is free), or raise LimitReached saying why
        not; the owner's identical active job (a double-click) is reused. An import's `uploads` (its files'
        bytes by `spec.upload_names`) are saved in the job's folder before the job can start."""
        if not isinstance(spec, (JobSpec, ImportSpec, DatasetSpec)):
            raise TypeError("start() takes a JobSpec, an ImportSpec or a DatasetSpec")
        if not owner:
            raise ValueError("a job needs an owner")
        if isinstance(spec, (ImportSpec, DatasetSpec)) and spec.upload_names:
            if sorted(uploads or {}) != sorted(spec.upload_names) or spec.digest != upload_digest(uploads):
                raise ValueError(f"an import needs exactly its files ({', '.join(spec.upload_names)}), "
                                 "as its digest says")
        elif uploads:
            raise ValueError("only an import or an upload's dataset job takes uploads")
        with locked(self.root):
            self._reconcile()
            jobs = self._read_all()
            for job in jobs:
                if job.active and job.owner == owner and job.spec == spec:
                    return job.id
            adding = sum(len(b) for b in (uploads or {}).values())
            check_limits(self.limits, spec, owner, jobs, self.models_dir, adding)
            check_disk(self.limits, self.disk_use(), adding)
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            d = self.root / job_id
            d.mkdir(parents=True)
            for name, data in (uploads or {}).items():  # before spec.json: a job is never seen without them
                (d / UPLOADS).mkdir(exist_ok=True)
                (d / UPLOADS / name).write_bytes(data)
            # Its own folder, named after the job as well as the name: two equal names never collide.
            out = (self.models_dir / f"{spec.slug}-{job_id.rsplit('-', 1)[1]}").resolve()
            if isinstance(spec, DatasetSpec):  # a dataset's folder is its id: own/<id>
                own_id = (f"{spec.slug}-{job_id.rsplit('-', 1)[1]}" if spec.upload_names
                          else datasets.folder_dataset_id(spec.folder, spec.size, spec.fit))
                out = (settings.datasets_dir() / own_id).resolve()
            kind = {"kind": KINDS[type(spec)]} if type(spec) in KINDS else {}
            write_json(d / "spec.json", {**kind, "spec": spec.to_dict(), "created": time.time(),
                                          "owner": owner, "out": str(out)})
            self._reconcile()
        return job_id

    def status(self, job_id: str) -> JobStatus:
        d = self._dir(job_id)
        with locked(self.root):
            jobs = self._reconcile() or self._read_all()
        return next((j for j in jobs if j.id == d.name), None) or self._read(d)

    def list(self, owner: str | None = None) -> list[JobStatus]:
        """The owner's jobs (everyone's for None: the operator), newest first."""
        with locked(self.root):
            jobs = self._reconcile() or self._read_all()
        return sorted((j for j in jobs if owner is None or j.owner == owner), key=lambda j: j.created,
                      reverse=True)

    def stop(self, job_id: str, *, owner: str | None) -> None:
        """A queued job is cancelled; a running one stops at its next batch and saves what it has. Only the
        job's owner may (owner None: the operator, from the command line or a test)."""
        d = self._dir(job_id)
        with locked(self.root):
            job = self._read(d)
            self._check_owner(job, owner)
            if job.state == "queued":
                write_json(d / "status.json", {"state": "stopped", "bundle": None, "finished": time.time(),
                                                "message": "Cancelled before it started."})
            elif job.state == "running":
                (d / "STOP").touch()
            self._reconcile()

    def result(self, job_id: str) -> Path | None:
        job = self.status(job_id)
        return job.bundle if job.bundle and is_bundle(job.bundle) else None

    # -- the class server's part ------------------------------------------------------------

    def delete(self, job_id: str, *, owner: str | None) -> None:
        """Remove a finished job from the list (its model, if any, stays: delete that on Home)."""
        d = self._dir(job_id)
        with locked(self.root):
            job = self._read(d)
            self._check_owner(job, owner)
            if job.active:
                raise ValueError("Stop the job before removing it.")
            remove_job_folder(d)

    def reconcile(self) -> None:
        """Start queued jobs in free slots and record ended ones (what every call does first)."""
        with locked(self.root):
            self._reconcile()

    def clean_up(self, retention_days: float, now: float | None = None) -> list[str]:
        """Remove the folders of jobs that finished more than `retention_days` ago (0: keep all); their
        models stay. Returns the removed job ids."""
        if retention_days <= 0:
            return []
        now = time.time() if now is None else now
        removed = []
        with locked(self.root):
            for job in self._read_all():
                if job.state in FINISHED and now - (job.finished or job.created) > retention_days * 86400:
                    remove_job_folder(self.root / job.id)
                    removed.append(job.id)
        return removed

    def disk_use(self) -> DiskUse:
        """What the server's jobs, models and counted folders hold now."""
        return disk_use(self.root, self.models_dir, self.counted_dirs, settings.datasets_dir())

    def paused(self) -> dict | None:
        """{"since", "by"} while a teacher has paused the queue (jobservice.pause), else None."""
        return paused(self.root)

    def _check_owner(self, job: JobStatus, owner: str | None) -> None:
        if owner is not None and job.owner != owner:
            raise NotYours("Only the visitor who started a job can stop, cancel or remove it.")

    # -- files and processes -----------------------------------------------------------------

    def log_tail(self, job_id: str, lines: int = 30) -> str:
        """The end of the job's log, for the operator and tests: it names server paths, so never a visitor."""
        return tail(self._dir(job_id) / "train.log", lines)

    def _dir(self, job_id: str) -> Path:
        return job_folder(self.root, job_id)

    def _read_all(self) -> list[JobStatus]:
        return read_jobs(self.root, self._running)

    def _read(self, d: Path) -> JobStatus:
        """A job's state from its files and whether its process is alive; writes nothing."""
        return read_job(d, self._running)

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
                write_json(d / "status.json", {"state": "failed", "message": job.message, "bundle": None,
                                                 "finished": time.time()})
                # The whole story (a traceback, server paths) is for the operator: the server's log.
                print(f"Latent Explorer: training job {job.id} failed; its log: {d / 'train.log'}\n"
                      f"{tail(d / 'train.log', 15)}", file=sys.stderr)
            if job.bundle and job.owner and job.state in FINISHED and str(job.bundle) not in _OWNED:
                if is_bundle(job.bundle) and user_models.access(job.bundle).owner is None:
                    changed |= not self._keep(job)
                _OWNED.add(str(job.bundle))
            if job.kind in ("import", "dataset") and job.state in FINISHED and job.id not in _CLEARED:
                # The visitor's files are needed only until the import ends, refused or not: gone at once.
                shutil.rmtree(d / UPLOADS, ignore_errors=True)
                _CLEARED.add(job.id)
        if not self.paused():  # a teacher's pause holds every queued job; running ones go on
            for job in fair_starts(jobs, self.max_running, self.limits.running_per_owner):
                self._launch(job)
                changed = True
        return None if changed else jobs

    def _keep(self, job: JobStatus) -> bool:
        """Give a finished job's new bundle to its owner if it fits their quota and the server's budget
        (checked again now: several jobs may have been accepted at once); else remove it and say why in the
        job's status. Returns whether it was kept."""
        why = over_quota(self.limits, job.owner, job.bundle, self.models_dir, self.disk_use())
        if why is None:
            user_models.set_owner(job.bundle, job.owner)
            return True
        user_models.remove(job.bundle)
        write_json(self.root / job.id / "status.json", {"state": "refused", "bundle": None, "message": why,
                                                          "finished": job.finished or time.time()})
        return False

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
        if isinstance(job.spec, DatasetSpec):
            return self._dataset_command(job)
        config = d / JOB_CONFIG  # written at launch, not at start(), so jobs an older runner queued start too
        write_json(config, job.spec.config.to_dict())
        return ["-m", "vae", "train", "--config", str(config.resolve()),
                # "--name=…" in one piece: a name that starts with "-" is still the name, not an option.
                f"--name={job.spec.display_name}", "--threads", str(self.threads),
                "--out", str(job.out), "--job-dir", str(d.resolve())]

    def _dataset_command(self, job: JobStatus) -> list[str]:
        """A dataset job's command: the visitor's zip (or the operator's folder, found by its id now) checked
        and prepared, with the owner's room left and the server's image cap."""
        s, d = job.spec, (self.root / job.id).resolve()
        if s.source == "upload":
            source = [str(d / UPLOADS / s.upload_names[0])]
            owner = job.owner or ""
            room = ["--max-mb", f"{datasets.room(owner, self.limits.dataset_bytes_per_owner) / 2**20:.3f}"]
        else:
            source, owner, room = ["--folder", datasets.folder_path(s.folder)], SERVER, []
        return ["-m", "vae", "dataset", *source, "--size", s.size, "--fit", s.fit, f"--name={s.display_name}",
                f"--licence={s.licence}", f"--shown={s.file_name or 'the server folder'}", f"--owner={owner}",
                "--max-images", str(self.limits.dataset_images), *room, "--out", str(job.out),
                "--job-dir", str(d)]

    def _running(self, d: Path, run: dict) -> bool:
        """Whether a launched job (its pid.json: `run`) still runs: here its process; another runner asks
        its cluster."""
        return bool(run.get("pid")) and processes.alive(run)

    def _launch(self, job: JobStatus) -> None:
        processes.launch(self.root / job.id, [self.python, *self._command(job)], self.threads)


_OWNED: set[str] = set()  # bundles of finished jobs already given their owner
_CLEARED: set[str] = set()  # finished imports whose uploads are gone
