"""Photos of digits on paper: does an upload land where its digit lands?

MNIST test digits are printed as ink on paper and photographed (scripts/photo_digits.py), with one kind of
trouble each: uneven light, a shadow, paper grain, ruled and squared paper, coloured ink, JPEG, a turned page,
a digit near the edge, other marks; then digits drawn as pen strokes, and everything at once. Each photo goes
through the Encode page's preprocessing (vae.inputs.preprocess.preprocess_bytes) and the default model's
encoder.

Per kind: **agreement**, the share of photos whose nearest label (the majority of the 8 nearest test digits
by z_mean, as the Encode page lists them) is the digit's own label; **within ¼**, the share whose z_mean lies
within a quarter of the data's spread of the original digit's z_mean; and the median of that distance. The
spread is the RMS over latent dimensions of the test set's z_mean standard deviation. The original digit's
own test image is left out of every neighbour list, so the first row, the 28x28 digits as they are, is the
ceiling for agreement. For pen strokes the "original" is the same drawing in black on clean paper.

    python scripts/bench_photos.py                      # 200 digits per kind, under 3 minutes on 2 cores
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import photo_digits  # noqa: E402
from vae.bundles.bundle import DEFAULT_MODEL  # noqa: E402
from vae.bundles.serving import ServedModel  # noqa: E402
from vae.inputs.data import load_dataset  # noqa: E402

K = 8  # the Encode page lists the 8 nearest test digits
QUARTER = 0.25

Preprocess = Callable[[bytes], np.ndarray]


def preprocessor(path: str | None) -> tuple[str, Preprocess]:
    """The preprocessing to measure: this checkout's, or a vae/preprocess.py saved elsewhere (an old one)."""
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


def nearest_labels(model: ServedModel, z: np.ndarray, leave_out: np.ndarray | None) -> np.ndarray:
    """The majority label of the K nearest test digits to each z (ties: the smaller label), leaving out each
    row's `leave_out` index (the original digit itself)."""
    ref = model.reference["z_mean"]
    d2 = ((z[:, None, :] - ref[None, :, :]) ** 2).sum(-1)
    if leave_out is not None:
        d2[np.arange(len(z)), leave_out] = np.inf
    idx = np.argsort(d2, axis=1)[:, :K]
    labels = model.reference["labels"][idx].astype(np.int64)
    return np.array([np.bincount(row, minlength=10).argmax() for row in labels])


def measure(model: ServedModel, prep: Preprocess, photos: list[bytes], labels: np.ndarray, z_orig: np.ndarray,
            spread: float, leave_out: np.ndarray | None) -> dict[str, float]:
    """Agreement with the digit's label and with the original's nearest label, the share within a quarter of
    the spread, the median distance (in spreads) and how many photos were refused."""
    images, ok = [], []
    for b in photos:
        try:
            images.append(prep(b))
            ok.append(True)
        except Exception:  # noqa: BLE001 - an upload the page refuses counts as a miss
            images.append(np.zeros((28, 28), np.float32))
            ok.append(False)
    ok = np.array(ok)
    z, _ = model.encode(np.stack(images))
    got = np.where(ok, nearest_labels(model, z, leave_out), -1)
    dist = np.where(ok, np.sqrt(((z - z_orig) ** 2).sum(1)) / spread, np.inf)
    return {"agree": float((got == labels).mean()),
            "same": float((got == nearest_labels(model, z_orig, leave_out)).mean()),
            "quarter": float((dist <= QUARTER).mean()),
            "median": float(np.median(dist)), "failed": int((~ok).sum())}


def run(n: int, seed: int, model_path: str, data_dir: str | None, befores: list[str | None],
        kinds: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    """{kind: {"before"/"after": figures}}, with the ceiling row "MNIST digit as is" first."""
    ds = load_dataset("mnist", data_dir=data_dir, allow_download=False)
    model = ServedModel(model_path)
    preps = [preprocessor(p) for p in befores]
    idx = np.sort(np.random.default_rng(seed).choice(len(ds.y_test), n, replace=False))
    digits, labels = ds.x_test[idx, :, :, 0], ds.y_test[idx]
    z_orig = model.reference["z_mean"][idx]
    spread = float(np.sqrt(model.reference["z_mean"].std(axis=0).__pow__(2).mean()))
    ceiling = {"agree": float((nearest_labels(model, z_orig, idx) == labels).mean()), "same": 1.0,
               "quarter": 1.0, "median": 0.0, "failed": 0}
    results = {"MNIST digit as is (ceiling)": {name: ceiling for name, _ in preps}}
    for kind in kinds:
        t = time.time()
        if kind == "pen strokes":  # drawn digits: compared with the same drawing on clean paper
            rng = np.random.default_rng([seed, 99])
            covers = [photo_digits.drawn(int(lab), rng) for lab in labels]
            photos = photo_digits.photos(kind, covers, seed)
            clean = [photo_digits.encode(photo_digits.on_paper(c)) for c in covers]
            results[kind], results["pen strokes on clean paper (their ceiling)"] = {}, {}
            for name, prep in preps:
                zc, _ = model.encode(np.stack([prep(b) for b in clean]))
                results[kind][name] = measure(model, prep, photos, labels, zc, spread, None)
                results["pen strokes on clean paper (their ceiling)"][name] = measure(
                    model, prep, clean, labels, zc, spread, None)
        else:
            photos = photo_digits.photos(kind, digits, seed)
            results[kind] = {name: measure(model, prep, photos, labels, z_orig, spread, idx)
                             for name, prep in preps}
        print(f"  {kind}: {time.time() - t:.1f} s", file=sys.stderr)
    return results


def pooled(results: dict[str, dict[str, dict]], name: str) -> dict[str, float]:
    """The mean over the kinds of trouble (not the ceilings)."""
    rows = [r[name] for k, r in results.items() if "ceiling" not in k]
    mean = {key: float(np.mean([r[key] for r in rows])) for key in ("agree", "same", "quarter", "median")}
    return mean | {"failed": sum(r["failed"] for r in rows)}


def table(results: dict[str, dict[str, dict]], names: list[str]) -> str:
    """Markdown: a row per kind, each cell "before → after" when there are two preprocessings."""
    def cell(rows: list[dict], key: str, fmt: str) -> str:
        return " → ".join(format(r[key], fmt) for r in rows)

    def line(kind: str, rows: list[dict], bold: bool = False) -> str:
        b = "**" if bold else ""
        refused = " → ".join(str(r.get("failed", 0)) for r in rows)
        return (f"| {b}{kind}{b} | {b}{cell(rows, 'agree', '.0%')}{b} | {cell(rows, 'same', '.0%')} | "
                f"{b}{cell(rows, 'quarter', '.0%')}{b} | {cell(rows, 'median', '.2f')} | {refused} |")

    out = ["| kind | right label | same label as the original | within ¼ spread | median distance (spreads) "
           "| refused |", "|---|---:|---:|---:|---:|---:|"]
    out += [line(kind, [r[n] for n in names]) for kind, r in results.items()]
    out.append(line("all kinds of trouble (mean)", [pooled(results, n) for n in names], True))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="digits per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--data-dir", default=None, help="folder of MNIST's IDX files (default: $VAE_DATA_DIR)")
    ap.add_argument("--before", default=None,
                    help="a vae/preprocess.py to measure beside this one's (git show REV:vae/preprocess.py)")
    ap.add_argument("--kinds", default=",".join(photo_digits.KINDS), help="comma-separated kinds")
    args = ap.parse_args()
    befores = ([args.before] if args.before else []) + [None]
    t = time.time()
    results = run(args.n, args.seed, args.model, args.data_dir, befores, tuple(args.kinds.split(",")))
    names = [preprocessor(p)[0] for p in befores]
    print(f"{args.n} digits per kind, model {Path(args.model).name}, seed {args.seed}, "
          f"{time.time() - t:.0f} s; {' → '.join(names)}\n")
    print(table(results, names))


if __name__ == "__main__":
    main()
