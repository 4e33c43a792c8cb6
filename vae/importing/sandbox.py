"""The sandbox process that loads an untrusted model: spawn, resource limits, timeout, job and result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import settings
from vae.bundles.bundle import REPO_ROOT, read_json, write_json
from vae.importing.archive_check import ImportRefused

DEFAULT_TIMEOUT_S = 1200  # wall clock; generous because TensorFlow starts slowly on a busy machine
CODE_MB = 448  # TensorFlow's, ONNX Runtime's and Python's code, resident but file-backed (measured: 440 MB)
CHILD_MODULE = "vae.importing.child"  # run as `python -m vae.importing.child JOB.json`


def default_memory_mb() -> int:
    """The memory an import's sandboxed process may use, in MB (settings: VAE_IMPORT_MEMORY_MB)."""
    return settings.integer("VAE_IMPORT_MEMORY_MB")


class ChildFailed(RuntimeError):
    """A failure after the model was accepted (data, export): reported as an error, not a refusal."""


def one_line(text: object, limit: int = 300) -> str:
    """A message on one line of at most `limit` characters: refusals are shown as one sentence."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_child(job: dict, work: Path, timeout_s: int, memory_mb: int) -> dict:
    """Run `job` in a fresh interpreter with limits; return its result or raise ImportRefused."""
    job_path = work / "job.json"
    result_path = work / "result.json"
    job = {**job, "result": str(result_path), "memory_mb": memory_mb, "cpu_s": int(timeout_s) * 4}
    job_path.write_text(json.dumps(job))
    pythonpath = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MALLOC_ARENA_MAX": "2", "PYTHONHASHSEED": "0",
           "PYTHONPATH": pythonpath}
    # A new session, so that a timeout kills the child and anything it started as one process group.
    proc = subprocess.Popen([sys.executable, "-m", CHILD_MODULE, str(job_path)], cwd=str(work), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ImportRefused(f"loading and checking the model took longer than the {timeout_s} s "
                            f"limit") from None
    result = read_json(result_path)
    if result is None:
        tail = (log or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ImportRefused(f"the process that loads the model {_why_no_result(proc.returncode, tail[0])} "
                            f"without a result (memory limit {memory_mb} MB): {one_line(tail[0])}")
    if result.get("status") == "refused":
        raise ImportRefused(result["message"])
    if result.get("status") != "ok":
        raise RuntimeError(result.get("message", "the import failed"))
    return result


def _why_no_result(returncode: int, last_line: str) -> str:
    """How the child ended, with a guess at the limit it hit (its exit signal is all there is to go on)."""
    if returncode < 0:
        why = f"was killed by {signal.Signals(-returncode).name}"
    else:
        why = f"exited with status {returncode}"
    if returncode == -signal.SIGXCPU:
        return why + " (over its CPU-time limit)"
    if "MemoryError" in last_line or returncode in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
        return why + " (probably over its memory limit)"
    return why


def _set_limits(memory_mb: int, cpu_s: int) -> None:
    import resource  # POSIX only, and only the child needs it

    # RLIMIT_DATA, not RLIMIT_AS: TensorFlow reserves over 2 GB of address space it never touches (a tiny
    # model's import was refused under a 2 GiB RLIMIT_AS), while the data limit counts the private memory
    # the process maps for itself (heap, anonymous maps, thread stacks: Linux 4.7 and later). Resident
    # memory is then at most that plus the code's file-backed pages (CODE_MB).
    limit = max(256, int(memory_mb) - CODE_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child_main(job_path: str, run: Callable[[dict], dict]) -> int:
    """The child's side: set the limits, `run(job)`, and write its outcome as the result file."""
    job = json.loads(Path(job_path).read_text())
    _set_limits(job["memory_mb"], job["cpu_s"])
    result_path = Path(job["result"])
    try:
        result = {"status": "ok", **run(job)}
    except ImportRefused as exc:
        result = {"status": "refused", "message": one_line(exc)}
    except MemoryError:
        result = {"status": "refused",
                  "message": f"loading the model needs more than the {job['memory_mb']} MB memory limit"}
    except ChildFailed as exc:
        result = {"status": "error", "message": one_line(exc)}
    except Exception as exc:  # anything else while handling an untrusted model is a refusal, with a reason
        first = str(exc).splitlines()[0] if str(exc) else ""
        result = {"status": "refused",
                  "message": one_line(f"the model could not be used: {type(exc).__name__}: {first}")}
    write_json(result_path, result)  # atomic: the parent never reads half a result
    return 0
