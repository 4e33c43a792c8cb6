"""What recording the replay of training (vae.model.replay) costs: the same training run with and without it.

Trains MNIST with the default preset through the CLI (`python -m vae train`, by default 2 epochs, batch
128, one thread), alternating runs with --replay and --no-replay, and prints per run the training time
(the card's train_seconds: Keras fit, snapshots included), the whole command's wall time and CPU time
(user + system: on a machine shared with other work, the steadier of the two) and the time the snapshots
took (the card's replay_seconds); then the medians, their ratios, and replay.npz's size, array by array.

Usage: python scripts/bench_replay.py --data-dir ../shared/data/mnist [--repeats 3] [--epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(out: Path, replay: bool, args) -> dict:
    """One training run through the CLI; its card's timings and the command's wall time."""
    cmd = [sys.executable, "-m", "vae", "train", "--dataset", "mnist", "--epochs", str(args.epochs),
           "--threads", str(args.threads), "--data-dir", args.data_dir, "--out", str(out),
           "--replay" if replay else "--no-replay"]
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    card = json.loads((out / "card.json").read_text())
    size = (out / "replay.npz").stat().st_size if replay else 0
    if replay and not args.sizes:
        with zipfile.ZipFile(out / "replay.npz") as z:
            args.sizes = {i.filename.removesuffix(".npy"): i.compress_size for i in z.infolist()}
    return {"train": card["train_seconds"], "wall": wall, "cpu": cpu,
            "replay": card.get("replay_seconds", 0.0), "size": size}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data" / "mnist"))
    p.add_argument("--repeats", type=int, default=3, help="runs of each kind, alternating")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    args.sizes = {}
    results: dict[bool, list[dict]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for replay in ((True, False) if i % 2 == 0 else (False, True)):
                r = run(Path(tmp) / f"{'with' if replay else 'without'}-{i}", replay, args)
                results[replay].append(r)
                print(f"run {i} {'with' if replay else 'without'} replay: train {r['train']:.1f} s, "
                      f"wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, snapshots {r['replay']:.1f} s",
                      flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("train", "wall", "cpu", "replay", "size")}
           for k, v in results.items()}
    w, wo = med[True], med[False]
    print(f"\nmedians of {args.repeats} runs each ({args.epochs} epochs, {args.threads} thread(s)):")
    print(f"  training (fit) time: {w['train']:.1f} s with replay, {wo['train']:.1f} s without: "
          f"ratio {w['train'] / wo['train']:.3f}")
    print(f"  whole command:       {w['wall']:.1f} s with replay, {wo['wall']:.1f} s without: "
          f"ratio {w['wall'] / wo['wall']:.3f}")
    print(f"  whole command, CPU:  {w['cpu']:.1f} s with replay, {wo['cpu']:.1f} s without: "
          f"ratio {w['cpu'] / wo['cpu']:.3f}")
    print(f"  snapshots' own time: {w['replay']:.1f} s ({w['replay'] / wo['train']:.1%} of training without)")
    parts = ", ".join(f"{k} {v / 1024:.0f}" for k, v in sorted(args.sizes.items(), key=lambda kv: -kv[1]))
    print(f"  replay.npz: {w['size'] / 1024:.0f} KiB (compressed KiB: {parts})")


if __name__ == "__main__":
    main()
