"""Training jobs on a Ray cluster: the local runner's folders, owners and queue, each job submitted to Ray."""

# Training jobs on a Ray cluster: the local runner's job folders, owners, limits and fair queue, with each
# job submitted to Ray's job server (`ray.job_submission.JobSubmissionClient`) instead of started here.
#
# What travels how:
# - the command: Ray runs `python <LocalProcessRunner._command(job)>` as the job's entrypoint, asking for
#   `entrypoint_num_cpus` (the job's threads) and `entrypoint_memory`, so Ray holds back what does not fit;
# - progress, history, the STOP request, status.json and the finished bundle: files in the job's folder and
#   the models folder, which every node mounts at the same path (shared storage: README, "Scaling out");
# - liveness, logs and the last-resort stop: Ray's job status, `get_job_logs` and `stop_job`.
#
# Ray is imported only when a RayJobRunner first talks to the cluster: the web process pays nothing for it
# unless the operator chose this runner (VAE_RUNNER=ray, explorer.training.runner).

from __future__ import annotations

import os
import secrets
import shlex
import sys
import threading
import time
from pathlib import Path

import settings
from jobservice.limits import Limits
from jobservice.local import LocalProcessRunner
from jobservice.spec import JobSpec
from jobservice.state import CRASHED, JobStatus, crash_message
from vae.bundles.bundle import REPO_ROOT, is_bundle, read_json_or_none, write_json

PREFIX = "latent-explorer-"  # Ray submission ids: PREFIX + the job's id
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
STOP_GRACE_S = 120.0  # after a STOP file, how long a running trainer has to save before Ray's stop_job
STATE_TTL_S = 1.0  # a job's Ray status is asked at most this often per process
PASS_ENV = ("VAE_DATA_DIR", "KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL")  # the web process's, given to every job


class RayJobRunner(LocalProcessRunner):
    """Runs each job on a Ray cluster; at most `max_running` submitted at once (VAE_MAX_JOBS, default 16;
    Ray itself holds back jobs its nodes have no room for, as PENDING, which the Train page shows as
    running at 0 %). Everything else is LocalProcessRunner's: the job folder, owners, limits, the queue."""

    def __init__(self, address: str, root: str | Path | None = None, models_dir: str | Path | None = None,
                 *, max_running: int | None = None, threads: int | None = None, python: str | None = None,
                 limits: Limits | None = None, memory_mb: int | None = None,
                 env: dict[str, str] | None = None, counted_dirs: tuple[str | Path, ...] = ()):
        if not address:
            raise ValueError("the Ray runner needs the address of a Ray job server (VAE_RAY_ADDRESS, "
                             "e.g. http://HEAD:8265).")
        max_running = settings.max_jobs(ray=True) if max_running is None else max_running
        # A job's threads are the CPUs it asks Ray for (VAE_TRAIN_THREADS, default 2).
        threads = settings.train_threads(ray=True) if threads is None else threads
        super().__init__(root, models_dir, max_running=max_running, threads=max(1, threads),
                         python=python or settings.text("VAE_RAY_PYTHON"), limits=limits,
                         counted_dirs=counted_dirs)
        self.address = address.rstrip("/")
        # Memory Ray sets aside for a job (VAE_RAY_JOB_MEMORY_MB, default 3 GiB: an MNIST training's peak).
        memory_mb = settings.integer("VAE_RAY_JOB_MEMORY_MB") if memory_mb is None else memory_mb
        self.memory_mb = int(memory_mb)
        self.env = dict(env or {})

    @classmethod
    def from_env(cls, **kw) -> RayJobRunner:
        return cls(settings.text("VAE_RAY_ADDRESS"), **kw)

    @property
    def client(self):
        """The job server's client (made once per process and address: making one asks the server)."""
        with _LOCK:
            if self.address not in _CLIENTS:
                from ray.job_submission import JobSubmissionClient  # Ray: optional, and slow to import

                _CLIENTS[self.address] = JobSubmissionClient(self.address)
            return _CLIENTS[self.address]

    # -- submitting --------------------------------------------------------------------------

    def entrypoint(self, job: JobStatus, extra_args: tuple[str, ...] = ()) -> str:
        """The shell line Ray runs: the local runner's command, each word quoted (a visitor's job name is in
        it, and Ray hands the line to a shell)."""
        return shlex.join([self.python, *self._command(job), *extra_args])

    def submit(self, job: JobStatus, extra_args: tuple[str, ...] = (),
               env: dict[str, str] | None = None) -> str:
        """Submit the job to Ray and record it in pid.json; returns Ray's submission id. Raises what the
        client raises when the cluster cannot take it."""
        d = self.root / job.id
        sid = PREFIX + job.id
        env_vars = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        env_vars.update({"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1", **self.env, **(env or {})})
        env_vars.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            self.client.submit_job(entrypoint=self.entrypoint(job, extra_args), submission_id=sid,
                                   entrypoint_num_cpus=self.threads,
                                   entrypoint_memory=int(self.memory_mb) * 2**20,
                                   runtime_env={"env_vars": env_vars},
                                   metadata={"app": "latent-explorer", "job": job.id})
        except Exception:
            if self._ray_state(sid, fresh=True)[0] is None:  # not there: a real failure
                raise
            # Already submitted (a launch that died before writing pid.json): it is the same job.
        write_json(d / "pid.json", {"ray_job": sid, "address": self.address, "started": time.time(),
                                    "threads": self.threads})
        return sid

    def _launch(self, job: JobStatus) -> None:
        try:
            self.submit(job)
        except Exception as exc:
            print(f"Latent Explorer: could not submit job {job.id} to the Ray cluster at {self.address}: "
                  f"{exc!r}", file=sys.stderr)
            write_json(self.root / job.id / "status.json",
                         {"state": "failed", "bundle": None, "finished": time.time(),
                          "message": "Could not submit the job to the training cluster."})

    # -- watching and stopping ---------------------------------------------------------------

    def _running(self, d: Path, run: dict) -> bool:
        """Ray's job status says whether it runs; an unreachable cluster counts as running (unknown) so that
        a network blip never marks jobs failed. A STOP file a trainer has not honoured (it never started, or
        hangs) becomes Ray's stop_job."""
        sid = run.get("ray_job")
        if not sid:  # started by a local runner sharing this folder
            return super()._running(d, run)
        state, message = self._ray_state(sid)
        if state is None:
            return True
        if state not in TERMINAL:
            stop = d / "STOP"
            if stop.exists() and (state == "PENDING" or time.time() - stop.stat().st_mtime > STOP_GRACE_S):
                self._stop_in_ray(sid)
            return True
        self._record_end(d, sid, state, message)
        return False

    def stop(self, job_id: str, *, owner: str | None) -> None:
        """As the local runner's (a STOP file the trainer honours at its next batch); a job Ray still holds
        back, or one past the grace time, is stopped in Ray too."""
        super().stop(job_id, owner=owner)
        run = read_json_or_none(self._dir(job_id) / "pid.json") or {}
        if run.get("ray_job"):
            _forget(run["ray_job"])
            self._running(self.root / job_id, run)

    def log_tail(self, job_id: str, lines: int = 30) -> str:
        """The end of the job's output: Ray's logs while it runs, the copy in train.log once it has ended
        (for the operator and tests: it names server paths, so never a visitor)."""
        d = self._dir(job_id)
        run = read_json_or_none(d / "pid.json") or {}
        if run.get("ray_job") and not (d / "train.log").exists():
            try:
                return "\n".join(self.client.get_job_logs(run["ray_job"]).splitlines()[-lines:])
            except Exception:
                return ""
        return super().log_tail(job_id, lines)

    def ray_message(self, job_id: str) -> str:
        """Ray's own word on how the job ended (e.g. the entrypoint's exit code), or ""."""
        run = read_json_or_none(self._dir(job_id) / "pid.json") or {}
        return self._ray_state(run["ray_job"])[1] if run.get("ray_job") else ""

    def _stop_in_ray(self, sid: str) -> None:
        try:
            self.client.stop_job(sid)
        except Exception as exc:
            print(f"Latent Explorer: Ray could not stop {sid}: {exc!r}", file=sys.stderr)
        _forget(sid)

    def _record_end(self, d: Path, sid: str, state: str, message: str) -> None:
        """Once Ray says a job ended: keep its logs as train.log (the local runner's crash message and log
        tail read it), and record a job Ray stopped before its trainer could say so."""
        if not (d / "train.log").exists():
            try:
                logs = self.client.get_job_logs(sid)
            except Exception:
                logs = ""
            scratch = d / f".train.log.{os.getpid()}.{threading.get_ident()}"
            scratch.write_text(f"{logs.rstrip()}\n[ray] job {state}: {message}\n")
            os.replace(scratch, d / "train.log")
        if state == "STOPPED" and not (d / "status.json").exists():
            write_json(d / "status.json", {"state": "stopped", "bundle": None, "finished": time.time(),
                                            "message": "Stopped on the cluster; no model was saved."})

    def _ray_state(self, sid: str, fresh: bool = False) -> tuple[str | None, str]:
        """(Ray's status of the job, its message), at most STATE_TTL_S old; (None, "") when it cannot be
        asked (no such job, or no cluster)."""
        now = time.monotonic()
        hit = _STATES.get((self.address, sid))
        if hit and not fresh and (hit[1] in TERMINAL or now - hit[0] < STATE_TTL_S):
            return hit[1], hit[2]
        try:
            info = self.client.get_job_info(sid)
        except Exception as exc:
            _warn(f"Latent Explorer: Ray job server at {self.address} did not answer for {sid}: {exc!r}")
            return None, ""
        state = str(getattr(info.status, "value", info.status))
        _STATES[(self.address, sid)] = (now, state, info.message or "")
        return state, info.message or ""


_LOCK = threading.Lock()
_CLIENTS: dict[str, object] = {}
_STATES: dict[tuple[str, str], tuple[float, str, str]] = {}  # (address, id) -> (asked at, status, message)
_WARNED: dict[str, float] = {}


def _forget(sid: str) -> None:
    for key in [k for k in _STATES if k[1] == sid]:
        _STATES.pop(key, None)


def _warn(text: str) -> None:
    """Print a warning at most once a minute (the queue keeper asks every 2 s)."""
    key = text.split(" for ")[0]
    if time.monotonic() - _WARNED.get(key, -1e9) > 60:
        _WARNED[key] = time.monotonic()
        print(text, file=sys.stderr)


# -- the command line: python -m vae train … --runner ray --ray-address URL --out MODEL_DIR -----------------

def train_cli(config, args) -> int:
    """Submit one training to Ray, print its progress, and return 0 once the bundle is complete at --out,
    or print the job's error in one line and return 1. Its job folder is --job-dir, or a new folder under
    $VAE_JOBS_DIR/cli (on shared storage, as --out must be)."""
    address = args.ray_address or settings.text("VAE_RAY_ADDRESS")
    if not address:
        raise ValueError("--runner ray needs --ray-address http://HOST:8265 (or VAE_RAY_ADDRESS).")
    out = Path(args.out).resolve()
    if args.job_dir:
        d = Path(args.job_dir).resolve()
        if (d / "status.json").exists() or (d / "pid.json").exists():
            raise ValueError(f"--job-dir {d} already holds another job's files; give a new folder.")
    else:
        d = settings.jobs_dir().resolve() / "cli" / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    d.mkdir(parents=True, exist_ok=True)
    # max_running 0: this runner only watches; it never starts queued jobs of its folder.
    runner = RayJobRunner(address, root=d.parent, models_dir=out.parent, max_running=0,
                          threads=args.threads or None)
    spec = JobSpec.from_dict({**config.to_dict(), "name": args.name or ""})
    write_json(d / "spec.json", {"spec": spec.to_dict(), "created": time.time(), "owner": None,
                                  "out": str(out)})
    job = runner._read(d)
    extra = (() if getattr(args, "replay", True) else ("--no-replay",)) + \
        ((f"--description={args.description}",) if args.description else ())
    env = {"VAE_DATA_DIR": str(Path(args.data_dir).resolve())} if args.data_dir else {}
    try:
        sid = runner.submit(job, extra, env)
    except Exception as exc:
        message = f"could not submit the training to Ray at {address}: {exc}"
        write_json(d / "status.json", {"state": "failed", "bundle": None, "finished": time.time(),
                                        "message": message})
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 1
    print(f"Submitted Ray job {sid} to {address} (job folder {d})", flush=True)
    try:
        job = _watch(runner, d)
        deadline = time.monotonic() + 30  # the trainer has said how it ended: let Ray's status follow
        while runner._ray_state(sid, fresh=True)[0] not in (*TERMINAL, None) and time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        (d / "STOP").touch()
        runner._stop_in_ray(sid)
        print("interrupted: the Ray job was asked to stop", file=sys.stderr)
        return 130
    if job.state in ("done", "stopped") and is_bundle(out):
        status = read_json_or_none(d / "status.json") or {}
        print(f"{job.state}: {status.get('message', '')} The bundle is complete at {out}", flush=True)
        return 0
    status = read_json_or_none(d / "status.json") or {}
    message = status.get("message") or crash_message(d / "train.log")
    if message.startswith(CRASHED) or not message:
        message = f"{CRASHED} Ray: {runner.ray_message(d.name) or job.state}"
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return 1


def _watch(runner: RayJobRunner, d: Path, poll_s: float = 1.0) -> JobStatus:
    """Print a line whenever the job's state, epoch or tenth of an epoch changes; return it once ended."""
    last = None
    while True:
        job = runner._read(d)
        if job.active and job.steps:
            loss = job.logs.get("loss")
            key = (job.state, job.epoch, job.step * 10 // job.steps)
            epoch = min(job.epoch + 1, job.epochs)
            line = f"{job.state}: epoch {epoch}/{job.epochs}, batch {job.step}/{job.steps}"
            line += f", loss {loss:.2f}" if isinstance(loss, (int, float)) else ""
        else:
            key = line = job.state if not job.active else "waiting for the cluster and the trainer to start"
        if key != last:
            print(line, flush=True)
            last = key
        if not job.active:
            return job
        time.sleep(poll_s)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
