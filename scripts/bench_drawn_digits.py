"""How often digits drawn on the Encode canvas land among their own kind, with the old and the new canvas.

    python scripts/bench_drawn_digits.py [--n 50] [--model models/mnist-2d] [--mnist ../shared/data/mnist]

Draws every digit n times (scripts/drawn_digits.py: three ways of writing each, jittered like a hand),
preprocesses them as the Encode page does, encodes them with the model (ONNX Runtime) and prints, per
class, the share of the 8 nearest test digits (by z_mean, as the page lists them) that are of the drawn
class, how often the page's majority label is right, and the reconstruction loss at z_mean; "before" is
the old canvas (an 18 px pen, strokes left as drawn), "after" the current one. With --mnist it also
measures the stroke width of MNIST's test digits, which MNIST_STROKE in vae/inputs/preprocess.py quotes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts import drawn_digits  # noqa: E402
from vae.bundles.serving import ServedModel  # noqa: E402
from vae.inputs.data import load_dataset  # noqa: E402
from vae.inputs.preprocess import CANVAS_STROKE, MNIST_STROKE, stroke_width, to_mnist  # noqa: E402

# The canvas as it was when issue 14 reported a drawn "2" landing among 3s and 8s.
OLD_PEN = 18
SETTINGS = {"before": (OLD_PEN, None), "after": (CANVAS_STROKE, MNIST_STROKE)}
SIZES = (120, 160, 200, 250)


def preprocess(stroke: float | None):
    return lambda img: to_mnist(img, stroke=stroke).image


def run(model, n: int, seed: int, style: str, size: float | None = None) -> dict[str, dict]:
    out = {}
    for name, (pen, stroke) in SETTINGS.items():
        images, labels = drawn_digits.drawings(n, pen, seed=seed, size=size, style=style)
        out[name] = drawn_digits.own_kind(model, images, labels, preprocess(stroke))
    return out


def mean(per_class: dict, key: str) -> float:
    return float(np.mean([v[key] for v in per_class.values()]))


def class_table(res: dict[str, dict]) -> None:
    b, a = res["before"], res["after"]
    print("| class | own kind among the 8 nearest, before → after | majority right, before → after "
          "| reconstruction (nats), before → after |")
    print("|---|---|---|---|")
    for c in range(10):
        print(f"| {c} | {b[c]['share']:.2f} → **{a[c]['share']:.2f}** | {b[c]['majority']:.2f} → "
              f"**{a[c]['majority']:.2f}** | {b[c]['rec']:.1f} → {a[c]['rec']:.1f} |")
    ok_b = sum(v["majority"] > 0.5 for v in b.values())
    ok_a = sum(v["majority"] > 0.5 for v in a.values())
    print(f"| all | {mean(b, 'share'):.3f} → **{mean(a, 'share'):.3f}** | {mean(b, 'majority'):.3f} → "
          f"**{mean(a, 'majority'):.3f}** ({ok_b} → {ok_a} classes right more often than not) | "
          f"{mean(b, 'rec'):.1f} → {mean(a, 'rec'):.1f} |")


def ceiling(model) -> dict[int, float]:
    """The same share for MNIST's own test digits (each one's 8 nearest others): what the model allows."""
    z, y = model.reference["z_mean"].astype(np.float64), model.reference["labels"].astype(np.int64)
    shares = np.empty(len(z))
    for i in range(0, len(z), 1000):  # in blocks: the whole 10,000 x 10,000 matrix would be 800 MB
        d2 = ((z[i:i + 1000, None, :] - z[None]) ** 2).sum(-1)
        d2[np.arange(len(d2)), np.arange(i, i + len(d2))] = np.inf
        nearest = np.argsort(d2, axis=1)[:, :drawn_digits.K_NEAREST]
        shares[i:i + len(d2)] = (y[nearest] == y[i:i + len(d2), None]).mean(1)
    return {c: float(shares[y == c].mean()) for c in range(10)}


def mnist_strokes(data_dir: str, upsample: int = 8, n: int = 2000) -> np.ndarray:
    """Stroke widths (px at 28x28) of MNIST test digits, each measured upsampled (stroke_width needs
    strokes many pixels wide)."""
    x = load_dataset("mnist", data_dir=data_dir, allow_download=False).x_test[:n, ..., 0]
    return np.array([stroke_width(_up(a, upsample)) / upsample for a in x])


def _up(a: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(Image.fromarray(np.asarray(a, np.float32), "F").resize(
        (a.shape[1] * k, a.shape[0] * k), Image.Resampling.BICUBIC))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="drawings per class (default 50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default=str(REPO / "models" / "mnist-2d"))
    ap.add_argument("--mnist", default=None, help="a folder with MNIST's IDX files: measure its strokes")
    args = ap.parse_args()
    model = ServedModel(args.model)
    test_rec = float((model.card.get("test_metrics") or {}).get("reconstruction_loss_at_mean", "nan"))
    print(f"model: {model.name}; drawings: {args.n} per class, seed {args.seed}; "
          f"before: {OLD_PEN} px pen, strokes as drawn; after: {CANVAS_STROKE} px pen, strokes set to "
          f"{MNIST_STROKE} px\n")
    for style in ("clean", "varied"):
        print(f"## {style} drawings ({'slant sd ' + str(drawn_digits.SLANT_SD[style])}), 150-240 px tall\n")
        class_table(run(model, args.n, args.seed, style))
        print()
    print("## by size (clean drawings): own-kind share / the 2s' share / reconstruction\n")
    print("| px tall | before | after |")
    print("|---|---|---|")
    for size in SIZES:
        res = run(model, args.n, args.seed, "clean", size)
        cells = [f"{mean(r, 'share'):.3f} / {r[2]['share']:.2f} / {mean(r, 'rec'):.1f}"
                 for r in (res["before"], res["after"])]
        print(f"| {size} | {cells[0]} | **{cells[1]}** |")
    ceil = ceiling(model)
    print(f"\nMNIST's own test digits, for comparison: own-kind share {np.mean(list(ceil.values())):.3f} "
          f"({', '.join(f'{c}: {v:.2f}' for c, v in ceil.items())}); reconstruction {test_rec:.1f} nats.")
    if args.mnist:
        w = mnist_strokes(args.mnist)
        print(f"\nMNIST test digits' stroke width at 28x28 (first {len(w)}, upsampled 8x): "
              f"mean {w.mean():.2f}, median {np.median(w):.2f}, "
              f"quartiles {np.percentile(w, 25):.2f}-{np.percentile(w, 75):.2f} px")
        for name, (pen, stroke) in SETTINGS.items():
            for size in (120, 250):
                imgs, _ = drawn_digits.drawings(5, pen, seed=args.seed, size=size, style="clean")
                ws = [stroke_width(_up(to_mnist(Image.fromarray(a), stroke=stroke).image, 8)) / 8
                      for a in imgs]
                print(f"  drawn {size} px tall, {name}: mean {np.mean(ws):.2f} px")


if __name__ == "__main__":
    main()
