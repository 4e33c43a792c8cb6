"""t-SNE of a model's test set in seconds, kept on disk: a sample embedded, the rest placed by neighbours."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import settings
from explorer.models import Handle

N_SAMPLE = 2000  # points t-SNE itself places (openTSNE, Barnes-Hut: ~7 s of one core for 2,000 16-D points)
N_NEIGHBOURS = 25  # sampled neighbours in z whose median place starts each other point
EARLY_ITER, MAIN_ITER = 250, 500  # openTSNE's defaults: early exaggeration, then the rest
# Then each other point moves for this many steps against the sample's fixed places (openTSNE's transform,
# shortened: on the 16-D model trustworthiness 0.90 at the median alone, 0.93 after 50, 0.94 after 100).
PLACE_ITER = 50
EVERY = 10  # iterations between progress reports
VERSION = 2  # of the method: a file made another way is computed afresh
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def embed(z: np.ndarray, n_sample: int = N_SAMPLE, seed: int = 0,
          on_progress: Callable[[float], None] | None = None) -> dict:
    """A 2-D t-SNE position for every row of z: `xy` (n, 2) and `sample`, the rows t-SNE embedded (a fixed
    random sample). Each other row starts at the median place of its nearest sampled rows in z and moves a
    few steps against the sample's fixed places (openTSNE's way of adding points). on_progress(fraction
    done) is called as the iterations go."""
    from openTSNE import TSNE

    z = np.asarray(z, np.float64)
    sample = np.sort(np.random.default_rng(seed).permutation(len(z))[:n_sample])
    rest = np.setdiff1d(np.arange(len(z)), sample)
    steps, done = (EARLY_ITER + MAIN_ITER + (PLACE_ITER if len(rest) else 0)) // EVERY, [0]

    def report(*_) -> bool:
        done[0] += 1
        if on_progress:
            on_progress(min(done[0] / steps, 1.0))
        return False  # go on

    tsne = TSNE(n_components=2, perplexity=min(30.0, (len(sample) - 1) / 3), random_state=seed, n_jobs=1,
                negative_gradient_method="bh", neighbors="exact", early_exaggeration_iter=EARLY_ITER,
                n_iter=MAIN_ITER, callbacks=report, callbacks_every_iters=EVERY, verbose=False)
    embedding = tsne.fit(z[sample])
    xy = np.empty((len(z), 2), np.float32)
    xy[sample] = np.asarray(embedding)
    if len(rest):
        xy[rest] = place(embedding, z[rest], report)
    return {"xy": xy, "sample": sample}


def place(embedding, z_new: np.ndarray, report: Callable[..., bool] | None = None) -> np.ndarray:
    """New points on a fitted openTSNE embedding: each at the median place of its nearest embedded points
    in z, then PLACE_ITER steps of openTSNE's transform (the embedded points stay where they are)."""
    partial = embedding.prepare_partial(z_new, initialization="median", k=min(N_NEIGHBOURS, len(embedding)),
                                        perplexity=min(5.0, (len(embedding) - 1) / 3))
    partial.optimize(n_iter=PLACE_ITER, learning_rate=0.1, exaggeration=1.5, momentum=0.8, max_grad_norm=0.25,
                     inplace=True, callbacks=report, callbacks_every_iters=EVERY)
    return np.asarray(partial, np.float32)


def seconds_left(started: float, fraction: float, now: float | None = None) -> float | None:
    """The time still to go at the rate so far, or None before there is a rate to go by."""
    elapsed = (time.perf_counter() if now is None else now) - started
    if fraction < 0.02 or elapsed <= 0:
        return None
    return elapsed * (1 - fraction) / fraction


def cache_file(handle: Handle) -> Path:
    """This model's t-SNE file in the cache folder: one per bundle folder (a re-save overwrites it)."""
    digest = hashlib.sha256(handle.path.encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(handle.path).name)[:40]
    folder = settings.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)  # OSError where it cannot be: callers then do not keep it
    return folder / f"tsne-{name}-{digest}.npz"


def load(handle: Handle) -> dict | None:
    """The t-SNE kept for this save of the model, or None (never computed, another save, or unreadable)."""
    try:
        with np.load(cache_file(handle)) as f:
            if float(f["stamp"]) != handle.stamp or int(f["version"]) != VERSION:
                return None
            return {"xy": f["xy"], "sample": f["sample"]}
    except (OSError, KeyError, ValueError):
        return None


def store(handle: Handle, result: dict) -> None:
    """Keep a result on disk: written aside and renamed in, so another process never reads half a file.
    Where the cache folder cannot be written the result is simply not kept."""
    try:
        path = cache_file(handle)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}.npz")
        np.savez(tmp, xy=result["xy"], sample=result["sample"], stamp=np.float64(handle.stamp),
                 version=np.int64(VERSION))
        os.replace(tmp, path)
    except OSError:
        pass


def embedding(handle: Handle, on_progress: Callable[[float], None] | None = None) -> dict:
    """The model's t-SNE from disk, else computed once (one session at a time per model) and kept."""
    found = load(handle)
    if found is not None:
        return found
    with _lock(handle.path):
        found = load(handle)  # another session may have made it while this one waited
        if found is None:
            found = embed(handle.served.reference["z_mean"], on_progress=on_progress)
            store(handle, found)
    return found


def _lock(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())
