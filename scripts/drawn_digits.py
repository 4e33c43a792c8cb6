"""Simulated drawings on the Encode canvas: pen-stroke templates of the digits 0-9, varied like hands vary.

The stroke templates live here, in one place, for scripts/bench_drawn_digits.py, tests/test_drawn_digits.py,
the Encode page's tests and the browser test that draws them with the mouse (tests/e2e/test_encode_canvas.py).
It is in scripts/ because scripts must not import tests, and it is no part of the app, so not in vae/ either;
everyone imports it as `scripts.drawn_digits`, like scripts/harness.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from vae.inputs.preprocess import CANVAS_SIDE

K_NEAREST = 8  # the Encode page lists the 8 nearest test digits
# Rendered at this many times the canvas's resolution and box-averaged down: the browser anti-aliases
# its strokes, PIL's lines are not anti-aliased.
SUPERSAMPLE = 4

Point = tuple[float, float]
Path = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> Path:
    """Points on an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down, as on a screen)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


# Each digit: three ways people write it, each a list of pen strokes (polylines) in a box where x and y
# run over [0, 1] (y down), so that no single way of writing decides a class.
TEMPLATES: dict[int, list[list[Path]]] = {
    0: [
        [_arc(0.5, 0.5, 0.36, 0.5, -90, 275, 40)],
        [_arc(0.5, 0.5, 0.3, 0.5, -100, 265, 40)],
        [_arc(0.5, 0.5, 0.42, 0.48, -80, 290, 40)],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.25, 0.2), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.58, 0.0), (0.45, 1.0)]],
    ],
    2: [
        [_arc(0.5, 0.28, 0.38, 0.28, 190, 370, 20) + [(0.05, 1.0), (0.95, 1.0)]],
        [_arc(0.48, 0.3, 0.4, 0.3, 180, 380, 20) + [(0.2, 0.78), (0.0, 1.0), (1.0, 0.98)]],
        [_arc(0.5, 0.25, 0.35, 0.25, 200, 360, 16) + [(0.1, 0.95), (0.05, 1.0), (0.9, 0.95)]],
    ],
    3: [
        [_arc(0.45, 0.25, 0.38, 0.25, 200, 450, 20) + _arc(0.45, 0.75, 0.42, 0.25, -90, 160, 20)],
        [[(0.1, 0.0), (0.85, 0.0), (0.4, 0.42)] + _arc(0.45, 0.72, 0.42, 0.28, -80, 160, 20)],
        [_arc(0.5, 0.26, 0.36, 0.26, 190, 440, 20) + _arc(0.5, 0.74, 0.4, 0.26, -70, 170, 20)],
    ],
    4: [
        [[(0.15, 0.0), (0.0, 0.62), (1.0, 0.62)], [(0.72, 0.2), (0.72, 1.0)]],
        [[(0.7, 0.0), (0.0, 0.65), (1.0, 0.65)], [(0.7, 0.0), (0.7, 1.0)]],
        [[(0.2, 0.0), (0.15, 0.55), (0.9, 0.55)], [(0.75, 0.05), (0.7, 1.0)]],
    ],
    5: [
        [[(0.9, 0.0), (0.15, 0.0), (0.1, 0.45)] + _arc(0.45, 0.7, 0.42, 0.3, -120, 150, 20)],
        [[(0.15, 0.0), (0.1, 0.45)] + _arc(0.45, 0.7, 0.42, 0.3, -120, 150, 20), [(0.15, 0.0), (0.9, 0.0)]],
        [[(0.85, 0.02), (0.2, 0.0), (0.15, 0.42)] + _arc(0.5, 0.7, 0.4, 0.3, -130, 160, 20)],
    ],
    6: [
        [[(0.75, 0.0)] + _arc(0.8, 0.7, 0.75, 0.7, -100, -180, 10)
         + _arc(0.5, 0.72, 0.42, 0.28, 180, 540, 30)],
        [[(0.7, 0.0), (0.2, 0.5)] + _arc(0.5, 0.72, 0.4, 0.28, 200, 560, 30)],
        [[(0.8, 0.02)] + _arc(0.85, 0.75, 0.75, 0.73, -105, -180, 10)
         + _arc(0.5, 0.75, 0.4, 0.25, 180, 540, 30)],
    ],
    7: [
        [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
        [[(0.0, 0.05), (0.95, 0.0), (0.45, 1.0)], [(0.35, 0.5), (0.85, 0.5)]],
        [[(0.05, 0.1), (0.05, 0.0), (1.0, 0.0), (0.5, 1.0)]],
    ],
    8: [
        [_arc(0.5, 0.25, 0.32, 0.25, 90, 450, 30), _arc(0.5, 0.74, 0.4, 0.26, -90, 270, 30)],
        [_arc(0.5, 0.26, 0.3, 0.26, 0, 360, 30), _arc(0.5, 0.75, 0.38, 0.25, 0, 360, 30)],
        [_arc(0.5, 0.25, 0.32, 0.25, -20, -250, 20) + _arc(0.5, 0.74, 0.38, 0.26, -70, 250, 30)
         + _arc(0.5, 0.25, 0.32, 0.25, -20, -20, 1)],
    ],
    9: [
        [_arc(0.5, 0.28, 0.38, 0.28, 0, 360, 30), [(0.88, 0.28), (0.85, 1.0)]],
        [_arc(0.45, 0.27, 0.38, 0.27, 10, 370, 30) + [(0.7, 1.0)]],
        [_arc(0.5, 0.3, 0.4, 0.3, -10, 360, 30) + [(0.9, 0.3), (0.9, 1.0)]],
    ],
}
# Width / height of each digit's box, chosen so that the drawings' bounding boxes after preprocessing are
# about as wide as MNIST's test digits of that class (a "1" is a narrow stroke, a "0" is wide).
ASPECT = {0: 1.05, 1: 0.45, 2: 0.95, 3: 0.8, 4: 0.85, 5: 0.95, 6: 0.8, 7: 0.9, 8: 0.7, 9: 0.75}
# The shear of a slanted digit (x moves by SLANT * height from bottom to top; > 0 leans right). MNIST's
# slants vary with this spread; a "clean" drawing, as in the issue, leans much less.
SLANT_MEAN = 0.075
SLANT_SD = {"varied": 0.3, "clean": 0.1}


def pen_paths(label: int, variant: int = 0, size: float = 200.0, slant: float = SLANT_MEAN,
              rotation: float = 0.0, centre: Point = (CANVAS_SIDE / 2, CANVAS_SIDE / 2),
              jitter: float = 0.0, rng: np.random.Generator | None = None) -> list[Path]:
    """The pen's paths, in canvas pixels, for one way (`variant`) of writing `label`, `size` px tall,
    slanted, rotated (degrees) and with every point moved by Gaussian `jitter` (a fraction of the size)."""
    strokes = TEMPLATES[label][variant % len(TEMPLATES[label])]
    h, w = float(size), float(size) * ASPECT[label]
    if rng is None:
        rng = np.random.default_rng(0)
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    paths = []
    for stroke in strokes:
        pts = []
        for x, y in stroke:
            u, v = (x - 0.5) * w, (y - 0.5) * h
            u -= slant * v  # shear (v < 0 at the top)
            u, v = u * cos - v * sin, u * sin + v * cos
            if jitter:
                u, v = u + float(rng.normal(0, jitter * h)), v + float(rng.normal(0, jitter * h))
            pts.append((centre[0] + u, centre[1] + v))
        paths.append(_smooth(pts))
    return paths


def _smooth(pts: Path) -> Path:
    """Chaikin corner cutting, two passes: a hand, and the canvas's brush, round the corners a little."""
    if len(pts) < 3:
        return pts
    for _ in range(2):
        out = [pts[0]]
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
            out += [(0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1),
                    (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1)]
        out.append(pts[-1])
        pts = out
    return pts


def render(paths: Sequence[Path], stroke_width: float) -> np.ndarray:
    """The paths as st_canvas returns its image_data: uint8 RGBA (280, 280, 4), white ink, opaque black.

    The canvas paints the page's background_color into the PNG it sends, so alpha is 255 everywhere; the
    pen has round caps and joins like Fabric's pencil brush, and the strokes are anti-aliased.
    """
    s = SUPERSAMPLE
    img = Image.new("L", (CANVAS_SIDE * s, CANVAS_SIDE * s), 0)
    d = ImageDraw.Draw(img)
    r = stroke_width * s / 2
    for path in paths:
        pts = [(x * s, y * s) for x, y in path]
        d.line(pts, fill=255, width=max(1, round(2 * r)))
        for x, y in pts:  # round joins and caps
            d.ellipse([x - r, y - r, x + r, y + r], fill=255)
    gray = np.asarray(img.resize((CANVAS_SIDE, CANVAS_SIDE), Image.Resampling.BOX), np.uint8)
    out = np.empty((CANVAS_SIDE, CANVAS_SIDE, 4), np.uint8)
    out[..., :3] = gray[..., None]
    out[..., 3] = 255
    return out


def draw_digit(label: int, stroke_width: float, rng: np.random.Generator, variant: int | None = None,
               size: float | None = None, style: str = "varied") -> np.ndarray:
    """One simulated drawing of `label` on the canvas (see `render`).

    `size` px tall (random, 150-240, when None: "large, in the middle", as the page asks), placed near the
    centre, slanted (`style`: "varied" like MNIST, or "clean"), rotated and stretched a little, and every
    point jittered like a hand; kept on the canvas, as a hand would.
    """
    variant = int(rng.integers(len(TEMPLATES[label]))) if variant is None else variant
    h = float(rng.uniform(150, 240)) if size is None else float(size)
    paths = pen_paths(
        label, variant, size=h,
        slant=float(np.clip(rng.normal(SLANT_MEAN, SLANT_SD[style]), -0.6, 0.6)),
        rotation=float(rng.uniform(-6, 6)),
        centre=(CANVAS_SIDE / 2 + float(rng.normal(0, 12)), CANVAS_SIDE / 2 + float(rng.normal(0, 12))),
        jitter=0.012, rng=rng)
    # Stretch the width only (the height is `size`): people's digits vary in width more than in height.
    stretch = float(rng.uniform(0.85, 1.15))
    cx = float(np.mean([x for p in paths for x, _ in p]))
    paths = [[(cx + (x - cx) * stretch, y) for x, y in p] for p in paths]
    xy = np.concatenate(paths)
    margin = stroke_width / 2 + 2
    dx, dy = (float(np.clip(0, margin - xy[:, i].min(), CANVAS_SIDE - margin - xy[:, i].max()))
              for i in (0, 1))
    return render([[(x + dx, y + dy) for x, y in p] for p in paths], stroke_width)


def drawings(n_per_class: int, stroke_width: float, seed: int = 0, size: float | None = None,
             style: str = "varied") -> tuple[np.ndarray, np.ndarray]:
    """n_per_class drawings of every digit, cycling through its ways of writing: (RGBA images, labels)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(10):
        for i in range(n_per_class):
            images.append(draw_digit(label, stroke_width, rng, variant=i, size=size, style=style))
            labels.append(label)
    return np.stack(images), np.asarray(labels)


def own_kind(model, images: np.ndarray, labels: np.ndarray, preprocess: Callable[[Image.Image], np.ndarray],
             k: int = K_NEAREST) -> dict[int, dict[str, float]]:
    """Per class: `share`, the fraction of the k nearest test digits (by z_mean, as the Encode page lists
    them) that are of the drawn class; `majority`, how often the page's majority label is the drawn class;
    and `rec`, the mean reconstruction loss at z_mean (nats, as the page shows it)."""
    x = np.stack([preprocess(Image.fromarray(a)) for a in images]).astype(np.float32)
    z_mean, _ = model.encode(x)
    p = np.clip(model.decode(z_mean).reshape(len(x), -1).astype(np.float64), 1e-7, 1 - 1e-7)
    t = x.reshape(len(x), -1).astype(np.float64)
    rec = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(1)
    ref = model.reference["labels"][model.nearest(z_mean, k)].astype(np.int64)  # (n, k)
    majority = np.array([np.bincount(row, minlength=10).argmax() for row in ref])  # ties: the smaller label
    return {c: {"share": float((ref[labels == c] == c).mean()),
                "majority": float((majority[labels == c] == c).mean()),
                "rec": float(rec[labels == c].mean())} for c in range(10)}
