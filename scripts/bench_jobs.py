"""Benchmark: how long the Train page's job list takes to read at 10, 100 and 1,000 jobs.

Makes N finished job folders (as a class leaves them: spec, status, history, a log) plus a few queued ones,
spread over 30 visitors, then times `LocalProcessRunner.list(owner)`: the first call of a fresh process
(every job read from disk) and later ones (what a Train tab repeats every 2 s while a job runs), median of
repeats. With --before REV it times that revision's vae/jobs.py side by side in the same run (its list()
has no owner: everyone's jobs).

    python scripts/bench_jobs.py [--sizes 10 100 1000] [--repeats 15] [--before 66c623b]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import jobservice  # noqa: E402
import jobservice.state  # noqa: E402  (its cache of finished jobs, cleared between measurements)

OWNERS = [f"v-visitor{i:02d}" for i in range(30)]
HISTORY = {k: [500.0 - i for i in range(20)] for k in ("loss", "reconstruction_loss", "kl_loss", "val_loss")}


def make_jobs(root: Path, n: int) -> None:
    """n job folders: all finished but five queued."""
    for i in range(n):
        d = root / f"20261202-{i:06d}-{i:06x}"
        d.mkdir(parents=True)
        spec = {"dataset": "digits", "preset": "default", "latent_dim": 2, "beta": 1.0, "epochs": 20,
                "batch_size": 128, "name": f"job {i}"}
        (d / "spec.json").write_text(json.dumps({"spec": spec, "created": 1.0e9 + i, "owner": OWNERS[i % 30],
                                                 "out": f"/srv/models/job-{i}"}))
        if i < n - 5:
            (d / "status.json").write_text(json.dumps({"state": "done", "message": "Trained 20 epochs.",
                                                       "bundle": None, "finished": 2.0e9}))
            (d / "pid.json").write_text(json.dumps({"pid": 1, "proc_start": 0, "started": 1.5e9}))
            (d / "history.json").write_text(json.dumps(HISTORY))
            (d / "progress.json").write_text(json.dumps({"fraction": 1.0, "epoch": 20, "step": 12,
                                                         "steps": 12, "logs": {"loss": 480.0}}))
            (d / "train.log").write_text("Epoch 1/20\n" * 40)


def load_jobs_module(rev: str | None):
    if rev is None:
        return jobservice
    source = subprocess.run(["git", "show", f"{rev}:vae/jobs.py"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    path = Path(tempfile.mkdtemp()) / f"jobs_{rev}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"jobs_{rev}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def time_list(mod, root: Path, repeats: int, owned: bool) -> tuple[float, float]:
    """(first call, median of the later ones) in ms; max_running=0 so nothing starts."""
    runner = mod.LocalProcessRunner(root, root.parent / "models", max_running=0)
    call = (lambda: runner.list(OWNERS[0])) if owned else runner.list
    t0 = time.perf_counter()
    call()
    first = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return first, statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--before", help="a git revision whose vae/jobs.py to time alongside")
    args = ap.parse_args()
    versions = [("now", None)] + ([(args.before, args.before)] if args.before else [])
    mods = {label: load_jobs_module(rev) for label, rev in versions}
    print("| jobs | version | first list (ms) | later lists, median (ms) |")
    print("|---:|---|---:|---:|")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "jobs"
            make_jobs(root, n)
            for label, _ in versions:
                # A fresh module state per measurement: clear the finished-job cache of the current one.
                getattr(mods[label], "_FINAL", jobservice.state._FINAL).clear()
                first, later = time_list(mods[label], root, args.repeats, owned=label == "now")
                print(f"| {n:,} | {label} | {first:.1f} | {later:.1f} |", flush=True)


if __name__ == "__main__":
    main()
