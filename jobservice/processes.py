"""A local job's process: starting it detached, and whether it still runs (not a zombie, not a reused pid)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from vae.bundles.bundle import REPO_ROOT, write_json

# Popen objects of the processes this web process started: polling them reaps finished
# children, which would otherwise linger as zombies that still look alive to kill(pid, 0).
_CHILDREN: dict[int, subprocess.Popen] = {}


def launch(d: Path, cmd: list[str], threads: int = 0) -> None:
    """Start the job in folder `d` as a detached process (its output in train.log); record it in pid.json
    with the threads it was given (what its run time cost: jobservice.usage), or, if it cannot start, record
    the job as failed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    try:
        with open(d / "train.log", "ab") as log:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        print(f"Latent Explorer: could not start training job {d.name}: {exc!r}", file=sys.stderr)
        write_json(d / "status.json", {"state": "failed", "bundle": None, "finished": time.time(),
                                       "message": "Could not start the training process."})
        return
    _CHILDREN[proc.pid] = proc
    write_json(d / "pid.json", {"pid": proc.pid, "proc_start": _proc_start(proc.pid), "started": time.time(),
                                "threads": threads or os.cpu_count() or 1})


def alive(run: dict) -> bool:
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
