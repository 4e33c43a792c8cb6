"""Scaling out, measured: training jobs on the local runner against a Ray head, the load script against one
app process against two replicas behind deploy/nginx.conf, and what a class of 100
would need by these figures.

    python scripts/bench_scale.py [--jobs 4] [--users 8] [--actions 4] [--only jobs|web]

Jobs: `--jobs` tiny trainings (scikit-learn digits, 1 epoch, 256 images, 1 thread each), submitted at once
by different visitors; wall time from the first start() to the last job's end, on: the local runner one job
at a time (VAE_MAX_JOBS' default), the local runner two at a time, and the Ray runner on a local 2-CPU head
(1 CPU a job; the head's start is not counted). Web: scripts/load_test.py's p50/p95 to open a page and to
move a slider, against `streamlit run` alone and against two replicas behind nginx (the same machine, so
the same cores: this measures the balancer's cost and the split, not more hardware).
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobservice import JobSpec, LocalProcessRunner  # noqa: E402
from scripts.balancer import Balancer  # noqa: E402
from scripts.harness import AppServer, free_port  # noqa: E402
from scripts.ray_head import RayHead  # noqa: E402

TINY = {"dataset": "digits", "epochs": 1, "max_train": 256, "batch_size": 32}
ROWS = ("open Decoder", "open Encode", "slider press -> new decoded image", "upload -> its z_mean shown")
# The project's own figures (README): a 60,000-image epoch of the default preset takes about 4.2 minutes on
# one thread (fashion-mnist-2d: 6 epochs in 25 min), and one app process on 2 cores served 8 users at once
# (slider p95 2.38 s, 0 errors) with about 0.6 GiB resident.
EPOCH_THREAD_MIN = 25 / 6
DEFAULT = "local runner, 1 job at a time (default)"
USERS_PER_PROCESS, CORES_PER_PROCESS, GIB_PER_PROCESS = 8, 2, 0.6


def run_jobs(runner, n: int) -> tuple[float, list[str]]:
    """Start n tiny jobs (one per visitor) at once; seconds until all have ended, and their end states."""
    t0 = time.perf_counter()
    ids = [runner.start(JobSpec(**TINY, name=f"bench {i}"), owner=f"visitor-{i}") for i in range(n)]
    while True:
        jobs = [runner.status(i) for i in ids]
        if not any(j.active for j in jobs):
            return time.perf_counter() - t0, [j.state for j in jobs]
        time.sleep(0.25)


def bench_jobs(n: int) -> dict[str, float]:
    from jobservice.ray_runner import RayJobRunner  # here: only the Ray measurement needs it

    walls = {}
    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        for label, slots in ((DEFAULT, 1), ("local runner, 2 at a time", 2)):
            root = Path(tmp) / f"local{slots}"
            runner = LocalProcessRunner(root / "jobs", root / "models", max_running=slots, threads=1)
            walls[label], states = run_jobs(runner, n)
            print(f"  {label:<44} {walls[label]:6.1f} s  {states}", flush=True)
        root = Path(tmp) / "ray"
        with RayHead(num_cpus=2) as address:
            runner = RayJobRunner(address, root / "jobs", root / "models", threads=1, python=sys.executable,
                                  memory_mb=256, max_running=n)
            label = "Ray runner, 2-CPU head, 1 CPU a job"
            walls[label], states = run_jobs(runner, n)
            print(f"  {label:<44} {walls[label]:6.1f} s  {states}", flush=True)
    return walls


def load(args, url: str | None) -> dict[str, tuple[float, float]]:
    cmd = [sys.executable, "scripts/load_test.py", "--users", str(args.users), "--actions", str(args.actions)]
    proc = subprocess.run(cmd + (["--url", url] if url else []), cwd=ROOT, capture_output=True, text=True)
    errors = re.search(r"^errors: (\d+)", proc.stdout, re.M)
    figures = {"errors": (float(errors.group(1)) if errors else float("nan"),) * 2}
    for row in ROWS:
        m = re.search(rf"^{re.escape(row)}\s+([\d.]+)\s+([\d.]+)", proc.stdout, re.M)
        if m:
            figures[row] = (float(m.group(1)), float(m.group(2)))
    if proc.returncode or not errors:
        print(proc.stdout[-2000:] + proc.stderr[-2000:])
    return figures


def bench_web(args) -> dict[str, dict]:
    results = {"one app process": load(args, None)}
    with tempfile.TemporaryDirectory(prefix="bench_scale-web-") as tmp:
        env = {"VAE_HOME": tmp,
               "STREAMLIT_SERVER_COOKIE_SECRET": "bench-secret"}
        servers = [AppServer(Path(tmp) / f"replica_{n}.log", env=env) for n in "ab"]
        try:
            for s in servers:
                s.wait_healthy(timeout=180)
            with Balancer(Path(tmp) / "nginx", (servers[0].port, servers[1].port), free_port(),
                          decoders=servers[0].home / "decoders") as url:
                results["two replicas behind nginx"] = load(args, url)
        finally:
            for s in servers:
                s.stop()
    return results


def class_of(students: int, users: int, slider_p95: float | None) -> None:
    """Machines a class needs, by the figures above; each assumption printed beside its number."""
    print(f"\nA class of {students}, by these figures:")
    per_process = USERS_PER_PROCESS
    if slider_p95 is not None:
        print(f"  web: one process served {users} users here at slider p95 {slider_p95:.2f} s")
    replicas = math.ceil(students / per_process)
    print(f"  web: {per_process} active users per replica (2 cores, ~{GIB_PER_PROCESS} GiB) -> {replicas} "
          f"replicas, "
          f"{replicas * CORES_PER_PROCESS} cores, {replicas * GIB_PER_PROCESS:.0f} GiB: e.g. "
          f"{math.ceil(replicas * CORES_PER_PROCESS / 8)} machines of 8 cores behind one balancer")
    for epochs, images, window in ((5, 20_000, 30), (10, 60_000, 60)):
        thread_min = epochs * images / 60_000 * EPOCH_THREAD_MIN
        cores = math.ceil(students * thread_min / window)
        print(f"  training: each trains {epochs} epochs of {images:,} MNIST images ({thread_min:.0f} CPU-min "
              "a job)"
              f" within {window} min -> {cores} cores: {math.ceil(cores / 8)} Ray nodes of 8 cores")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--actions", type=int, default=4)
    ap.add_argument("--only", choices=["jobs", "web"])
    args = ap.parse_args()
    slider = None
    if args.only != "web":
        print(f"{args.jobs} tiny training jobs submitted at once: wall time", flush=True)
        walls = bench_jobs(args.jobs)
        base = walls[DEFAULT]
        for label, wall in walls.items():
            print(f"  {label:<44} {wall:6.1f} s  ratio to the default {wall / base:.2f}")
    if args.only != "jobs":
        print(f"\nload script, {args.users} users x {args.actions} actions: p50 / p95 seconds", flush=True)
        web = bench_web(args)
        for setup, figures in web.items():
            print(f"  {setup}: errors {figures['errors'][0]:.0f}")
            for row in ROWS:
                if row in figures:
                    print(f"    {row:<36} {figures[row][0]:6.2f} / {figures[row][1]:6.2f}")
        slider = web["one app process"].get(ROWS[2], (None, None))[1]
    class_of(100, args.users, slider)
