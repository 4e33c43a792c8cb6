"""Benchmark the Latent map's t-SNE on a model's test set: before (scikit-learn on 3,000) and now.

    nice -n 10 python scripts/bench_tsne.py [--model mnist-16d] [--repeats 3]

Before: what the page ran until issue 23, scikit-learn's TSNE (Barnes-Hut, init PCA) of a fixed sample of
3,000 z_mean, on the map alone. Now: explorer.tsne.embed, openTSNE (Barnes-Hut, one thread) of 2,000, the
rest started at their nearest sampled neighbours' median place in z and moved 50 steps against the sample's
fixed places (openTSNE's transform): every test digit on the map. Prints each run's
wall and CPU seconds, their medians, and the trustworthiness (sklearn.manifold, 10 neighbours) of the
points each shows, on a fixed 2,000 of them. A second call reads the disk cache (not timed here).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def before(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The page's t-SNE as it was (explorer/cache.py's tsne_2d at a9a6137): (rows shown, their xy)."""
    from sklearn.manifold import TSNE

    idx = np.random.default_rng(0).permutation(len(z))[:3000]
    return idx, TSNE(n_components=2, init="pca", random_state=0, perplexity=30).fit_transform(z[idx])


def now(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from explorer.tsne import embed

    return np.arange(len(z)), embed(z)["xy"]


def trust(z: np.ndarray, rows: np.ndarray, xy: np.ndarray, n: int = 2000) -> float:
    from sklearn.manifold import trustworthiness

    pick = np.random.default_rng(1).permutation(len(rows))[:n]
    return float(trustworthiness(z[rows[pick]], xy[pick], n_neighbors=10))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnist-16d")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    z = np.load(ROOT / "models" / args.model / "reference.npz")["z_mean"]
    print(f"{args.model}: {len(z):,} test z_mean of {z.shape[1]} dims")
    for name, run in (("before: scikit-learn, 3,000 sampled", before),
                      ("now: openTSNE 2,000 + the rest added, all", now)):
        walls, cpus = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            rows, xy = run(z)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            print(f"  {name}: {walls[-1]:.1f} s wall, {cpus[-1]:.1f} s CPU", flush=True)
        print(f"{name}: median {statistics.median(walls):.1f} s wall, {statistics.median(cpus):.1f} s CPU; "
              f"{len(rows):,} points shown, trustworthiness {trust(z, rows, xy):.3f}", flush=True)


if __name__ == "__main__":
    main()
