"""Photos of digits on paper: does a photo land where its original digit lands, in each shipped model?

MNIST test digits are printed as ink on paper and photographed (scripts/photo_digits.py), with one kind of
trouble each: uneven light, a shadow, paper grain, ruled and squared paper, coloured ink, JPEG, a turned page,
a digit near the edge, other marks, a thin pen; then digits drawn as pen strokes, and everything at once. Each
photo goes through the Encode page's preprocessing (vae.inputs.preprocess.preprocess_bytes) and each model's
encoder (ONNX, as the page serves it).

Per model and kind, measured against what the model does with the ORIGINAL 28x28 digit, not its true label:
- **agreement**: the share of photos whose nearest label (the majority of the 8 nearest test encodings by
  z_mean, ties to the smaller label, as the Encode page lists them) is the original digit's own nearest label,
  found the same way. The original's own test image is left out of both neighbour lists.
- **within 1/4**: the share of photos whose z_mean lies within a quarter of the data's whole spread of the
  original's z_mean; the whole spread is sqrt(sum over d of Var z_d) over the test encodings, so it does not
  grow with latent_dim. And the median of that distance, in whole spreads.
For pen strokes the "original" is the same drawing in black on clean paper, through the same preprocessing.
The first row, "original moved by under half a pixel", is no photo: the original digit itself shifted by a
random sub-pixel amount (cubic), the one thing no photo can tell (MNIST put each digit's centre of mass at
a random point of the middle pixel), so it is the limit of what any preprocessing can reach.

    python scripts/bench_photos.py                      # 200 digits per kind, both models
    python scripts/bench_photos.py --n 50 --before /tmp/old_preprocess.py   # and an older preprocessing

Needs MNIST's IDX files (--data-dir or $VAE_DATA_DIR); never downloads.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import photo_digits  # noqa: E402
from vae.bundles.serving import ServedModel  # noqa: E402
from vae.inputs.data import load_dataset  # noqa: E402

K = 8  # the Encode page lists the 8 nearest test digits
QUARTER = 0.25
MODELS = ("mnist-2d", "mnist-16d")  # the shipped 2-D and 16-D models, in models/
TARGETS = {"agree": 0.90, "quarter": 0.80}
LIMIT = "original moved by under half a pixel (the limit)"

Preprocess = Callable[[bytes], np.ndarray]


def preprocessor(path: str | None) -> tuple[str, Preprocess]:
    """The preprocessing to measure: this checkout's, or a preprocess.py saved elsewhere (an old one)."""
    if path is None:
        from vae.inputs.preprocess import (
            preprocess_bytes,  # this checkout's, only when it is the one measured
        )

        return "after", lambda b: preprocess_bytes(b).image
    spec = importlib.util.spec_from_file_location("preprocess_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is being made
    spec.loader.exec_module(module)
    return "before", lambda b: module.preprocess_bytes(b).image


def whole_spread(z_mean: np.ndarray) -> float:
    """sqrt(sum over d of Var z_d): the data's whole spread, the same whatever latent_dim is."""
    return float(np.sqrt(np.asarray(z_mean, np.float64).var(axis=0).sum()))


def nearest_labels(ref_z: np.ndarray, ref_labels: np.ndarray, z: np.ndarray,
                   leave_out: np.ndarray | None = None, k: int = K) -> np.ndarray:
    """The majority label of the k nearest rows of `ref_z` to each z (ties: the smaller label), leaving out
    each row's `leave_out` index (the original digit itself)."""
    d2 = ((z[:, None, :] - ref_z[None, :, :]) ** 2).sum(-1)
    if leave_out is not None:
        d2[np.arange(len(z)), leave_out] = np.inf
    idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
    labels = np.asarray(ref_labels)[idx].astype(np.int64)
    return np.array([np.bincount(row, minlength=10).argmax() for row in labels])


def scores(z: np.ndarray, z_orig: np.ndarray, got: np.ndarray, want: np.ndarray, spread: float,
           ok: np.ndarray | None = None) -> dict[str, float]:
    """Agreement (got == want), the share within QUARTER of `spread` of z_orig, the median distance in
    spreads, and how many were refused (`ok` False: a miss, infinitely far)."""
    ok = np.ones(len(z), bool) if ok is None else np.asarray(ok)
    dist = np.where(ok, np.sqrt(((z - z_orig) ** 2).sum(1)) / spread, np.inf)
    return {"agree": float(((got == want) & ok).mean()), "quarter": float((dist <= QUARTER).mean()),
            "median": float(np.median(dist)), "failed": int((~ok).sum())}


def _images(prep: Preprocess, photos: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    images, ok = [], []
    for b in photos:
        try:
            images.append(prep(b))
            ok.append(True)
        except Exception:  # noqa: BLE001 - an upload the page refuses counts as a miss
            images.append(np.zeros((28, 28), np.float32))
            ok.append(False)
    return np.stack(images).astype(np.float32), np.array(ok)


class Judge:
    """One model, its test encodings and spread: scores 28x28 images against the originals'."""

    def __init__(self, model: ServedModel):
        self.model = model
        self.ref, self.labels = model.reference["z_mean"], model.reference["labels"]
        self.spread = whole_spread(self.ref)

    def labels_of(self, z: np.ndarray, leave_out: np.ndarray | None) -> np.ndarray:
        return nearest_labels(self.ref, self.labels, z, leave_out)

    def score(self, images: np.ndarray, ok: np.ndarray, z_orig: np.ndarray,
              leave_out: np.ndarray | None) -> dict[str, float]:
        z, _ = self.model.encode(images)
        return scores(z, z_orig, self.labels_of(z, leave_out), self.labels_of(z_orig, leave_out),
                      self.spread, ok)


def run(n: int, seed: int, model_dirs: list[Path], data_dir: str | None, befores: list[str | None],
        kinds: tuple[str, ...]) -> dict[str, dict[str, dict[str, dict]]]:
    """{model: {kind: {"before"/"after": scores}}}, the limit row first."""
    ds = load_dataset("mnist", data_dir=data_dir, allow_download=False)
    judges = {d.name: Judge(ServedModel(d)) for d in model_dirs}
    preps = [preprocessor(p) for p in befores]
    idx = np.sort(np.random.default_rng(seed).choice(len(ds.y_test), n, replace=False))
    digits, labels = ds.x_test[idx, :, :, 0], ds.y_test[idx]
    results = {m: {} for m in judges}
    shifts = np.random.default_rng([seed, 7]).uniform(-0.5, 0.5, (n, 2))
    moved = np.stack([np.clip(ndimage.shift(d, s, order=3), 0, 1) for d, s in zip(digits, shifts)])
    for m, judge in judges.items():
        limit = judge.score(moved.astype(np.float32), np.ones(n, bool), judge.ref[idx], idx)
        results[m][LIMIT] = {name: limit for name, _ in preps}
    for kind in kinds:
        t = time.time()
        if kind == "pen strokes":  # drawn digits: compared with the same drawing on clean paper
            rng = np.random.default_rng([seed, 99])
            covers = [photo_digits.drawn(int(lab), rng) for lab in labels]
            photos = photo_digits.photos(kind, covers, seed)
            clean = [photo_digits.encode(photo_digits.on_paper(c)) for c in covers]
        else:
            photos = photo_digits.photos(kind, digits, seed)
        for name, prep in preps:
            images, ok = _images(prep, photos)
            if kind == "pen strokes":
                originals, _ = _images(prep, clean)
            for m, judge in judges.items():
                if kind == "pen strokes":
                    z_orig, _ = judge.model.encode(originals)
                    figures = judge.score(images, ok, z_orig, None)
                else:
                    figures = judge.score(images, ok, judge.ref[idx], idx)
                results[m].setdefault(kind, {})[name] = figures
        print(f"  {kind}: {time.time() - t:.1f} s", file=sys.stderr)
    return results


def pooled(rows: dict[str, dict[str, dict]], name: str) -> dict[str, float]:
    """Over all photos of every kind (each kind has as many): the mean of each share, the median of the
    kinds' medians, the refusals summed. The limit row is not a photo and stays out."""
    figures = [r[name] for kind, r in rows.items() if kind != LIMIT]
    mean = {key: float(np.mean([f[key] for f in figures])) for key in ("agree", "quarter")}
    return mean | {"median": float(np.median([f["median"] for f in figures])),
                   "failed": sum(f["failed"] for f in figures)}


def table(rows: dict[str, dict[str, dict]], names: list[str]) -> str:
    """Markdown: a row per kind, each cell "before → after" when there are two preprocessings."""
    def cell(figures: list[dict], key: str, fmt: str) -> str:
        return " → ".join(format(f[key], fmt) for f in figures)

    def line(kind: str, figures: list[dict], bold: bool = False) -> str:
        b = "**" if bold else ""
        return (f"| {b}{kind}{b} | {b}{cell(figures, 'agree', '.0%')}{b} | "
                f"{b}{cell(figures, 'quarter', '.0%')}{b} | {cell(figures, 'median', '.3f')} | "
                f"{cell(figures, 'failed', 'd')} |")

    out = ["| kind | agreement with the original | within ¼ spread | median distance (spreads) | refused |",
           "|---|---:|---:|---:|---:|"]
    out += [line(kind, [r[n] for n in names]) for kind, r in rows.items()]
    out.append(line("all photos", [pooled(rows, n) for n in names], True))
    return "\n".join(out)


def verdict(rows: dict[str, dict[str, dict]], name: str) -> str:
    """The targets, met or not, over all photos."""
    total = pooled(rows, name)
    return "; ".join(f"{key} ≥ {target:.0%}: {'met' if total[key] >= target else 'NOT met'} "
                     f"({total[key]:.1%})" for key, target in TARGETS.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="digits per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated bundles in models/ (or paths)")
    ap.add_argument("--data-dir", default=None, help="folder of MNIST's IDX files (default: $VAE_DATA_DIR)")
    ap.add_argument("--before", default=None, help="a vae/inputs/preprocess.py to measure beside this one's "
                    "(git show REV:vae/inputs/preprocess.py > /tmp/old_preprocess.py)")
    ap.add_argument("--kinds", default=",".join(photo_digits.KINDS), help="comma-separated kinds")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent / "models"
    model_dirs = [Path(m) if Path(m).is_dir() else root / m for m in args.models.split(",")]
    befores = ([args.before] if args.before else []) + [None]
    t = time.time()
    results = run(args.n, args.seed, model_dirs, args.data_dir, befores, tuple(args.kinds.split(",")))
    names = [preprocessor(p)[0] for p in befores]
    print(f"{args.n} digits per kind, seed {args.seed}, {time.time() - t:.0f} s; {' → '.join(names)}")
    for m, rows in results.items():
        print(f"\n### {m}\n\n{table(rows, names)}\n\nTargets ({names[-1]}): {verdict(rows, names[-1])}")


if __name__ == "__main__":
    main()
