"""Simulated phone photos of digits on paper: MNIST digits printed as ink (or digits drawn as pen strokes),
with one kind of trouble each: uneven light, a shadow, paper grain, ruled or squared paper, coloured ink,
JPEG, a turned page, a digit near the edge, other marks, a thin pen.

For scripts/bench_photos.py and tests/test_photo_preprocess.py; in scripts/ like drawn_digits.py, and imported
as `scripts.photo_digits`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from scripts import drawn_digits

SIDE = 256  # the photo's side in pixels (a phone photo, shrunk)
PAPER = np.array([0.93, 0.91, 0.86], np.float32)  # warm white paper under indoor light
BLACK = np.array([0.12, 0.12, 0.14], np.float32)
INKS = {  # coloured pens, and pencil
    "blue": np.array([0.12, 0.22, 0.65], np.float32),
    "red": np.array([0.75, 0.12, 0.12], np.float32),
    "green": np.array([0.10, 0.50, 0.22], np.float32),
    "light blue": np.array([0.35, 0.60, 0.95], np.float32),
    "pencil": np.array([0.42, 0.42, 0.45], np.float32),
}
RULE = np.array([0.55, 0.70, 0.90], np.float32)  # the light blue of ruled and squared paper


def place(digit: np.ndarray, rng: np.random.Generator, scale: float | None = None,
          centre: tuple[float, float] | None = None, side: int = SIDE) -> np.ndarray:
    """Where the ink lies on the paper (side, side) in [0, 1]: a 28x28 digit (ink = 1) enlarged `scale` times
    (its 20 px box becomes 20 * scale px; random 4-6.5 when None) at `centre` (near the middle when None)."""
    s = float(rng.uniform(4.0, 6.5)) if scale is None else scale
    n = round(28 * s)
    big = np.clip(np.asarray(Image.fromarray(np.asarray(digit, np.float32), "F")
                             .resize((n, n), Image.Resampling.BICUBIC)), 0, 1)
    if centre is None:
        centre = (side / 2 + float(rng.normal(0, side * 0.04)), side / 2 + float(rng.normal(0, side * 0.04)))
    out = np.zeros((side, side), np.float32)
    top, left = round(centre[0] - n / 2), round(centre[1] - n / 2)
    ys, xs = slice(max(top, 0), min(top + n, side)), slice(max(left, 0), min(left + n, side))
    out[ys, xs] = big[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left]
    return out


def drawn(label: int, rng: np.random.Generator, side: int = SIDE) -> np.ndarray:
    """A digit drawn as pen strokes (drawn_digits.py's hands) with a pen 6-16 px wide: its ink coverage."""
    canvas = drawn_digits.draw_digit(label, float(rng.uniform(6, 16)), rng)[..., 0].astype(np.float32) / 255
    return np.asarray(Image.fromarray(canvas, "F").resize((side, side), Image.Resampling.BILINEAR))


def thinned(digit: np.ndarray, rng: np.random.Generator, zoom: int = 8) -> np.ndarray:
    """A 28x28 MNIST digit (ink = 1) as if written with a thin pen: its ink at `zoom` times the size, with
    strokes 0.5-1.2 px wide at 28x28 (MNIST's own are 1.5-3.7 px), the same centre lines, a soft edge."""
    big = np.asarray(Image.fromarray(np.asarray(digit, np.float32), "F")
                     .resize((28 * zoom, 28 * zoom), Image.Resampling.BILINEAR)) >= 0.5
    inside = ndimage.distance_transform_edt(big)
    ridge = (inside > 0) & (inside >= ndimage.maximum_filter(inside, size=3))
    width = 2 * float(np.median(inside[ridge])) if ridge.any() else 0.0  # the strokes' width now, zoomed
    target = float(rng.uniform(0.5, 1.2)) * zoom
    # Pixels deeper than this inside the stroke stay: a stroke `width` wide keeps its middle `target`.
    depth = max(0.0, (width - target) / 2)
    return np.clip(inside - depth, 0, 1).astype(np.float32)


def lay(paper: np.ndarray, cover: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Ink of `colour` laid on `paper` (H, W, 3) where `cover` (H, W) says how much."""
    return paper * (1 - cover[..., None]) + colour * cover[..., None]


def blank(side: int = SIDE) -> np.ndarray:
    return np.broadcast_to(PAPER, (side, side, 3)).copy()


def on_paper(cover: np.ndarray, colour: np.ndarray = BLACK) -> np.ndarray:
    """The cover in ink of `colour` on blank paper."""
    return lay(blank(len(cover)), cover, colour)


def ruled_page(rng: np.random.Generator) -> np.ndarray:
    """Blank paper with ruled lines, no digit yet."""
    return lay(blank(), ruled(SIDE, rng), RULE)


def ruled(side: int, rng: np.random.Generator, squared: bool = False) -> np.ndarray:
    """The lines of ruled paper (every 12-16 % of the side) or squared paper (every 6-9 %), 1-2 px thick."""
    gap = side * (rng.uniform(0.06, 0.09) if squared else rng.uniform(0.12, 0.16))
    width = float(rng.uniform(1.0, 2.0))
    yy, xx = np.indices((side, side), dtype=np.float32)

    def lines(u: np.ndarray) -> np.ndarray:
        d = np.abs((u - rng.uniform(0, gap)) % gap)
        d = np.minimum(d, gap - d)
        return np.clip(width / 2 + 0.5 - d, 0, 1)

    cover = lines(yy)
    if squared:
        cover = np.maximum(cover, lines(xx))
    return cover * float(rng.uniform(0.6, 1.0))


def light_gradient(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light falling off across the page in a random direction, to 40-65 % at the far side."""
    h, w = rgb.shape[:2]
    a = rng.uniform(0, 2 * math.pi)
    yy, xx = np.indices((h, w), dtype=np.float32)
    u = ((xx / w - 0.5) * math.cos(a) + (yy / h - 0.5) * math.sin(a)) / math.sqrt(0.5) + 0.5  # 0..1
    light = 1 - rng.uniform(0.35, 0.6) * np.clip(u, 0, 1)
    return rgb * light[..., None]


def shadow(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hand's or phone's shadow: one side of a line through the page darkened to 45-65 %, soft-edged."""
    h, w = rgb.shape[:2]
    a = rng.uniform(0, 2 * math.pi)
    yy, xx = np.indices((h, w), dtype=np.float32)
    c = rng.uniform(0.15, 0.4) * min(h, w)  # the edge passes this far from the middle
    d = (xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a) - c
    soft = rng.uniform(2, 8)
    inside = 1 / (1 + np.exp(np.clip(-d / soft, -50, 50)))
    light = 1 - rng.uniform(0.35, 0.55) * inside
    return rgb * light[..., None]


def grain(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper texture (fibres, 3-6 % of the light) and dust: 20-60 dark specks, 1-3 px."""
    h, w = rgb.shape[:2]
    tex = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 1.2)
    tex = 1 + tex / tex.std() * rng.uniform(0.03, 0.06)
    out = rgb * tex[..., None].astype(np.float32)
    dust = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(dust)
    for _ in range(int(rng.integers(20, 60))):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.5, 1.5)
        d.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.uniform(80, 220)))
    return lay(out, np.asarray(dust, np.float32) / 255, BLACK)


def marks(cover: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Other marks on the page, away from the digit: 1-3 short pen scribbles and a few dots."""
    h, w = cover.shape
    ys, xs = np.nonzero(cover > 0.3)
    box = (ys.min(), ys.max(), xs.min(), xs.max())
    size = max(box[1] - box[0], box[3] - box[2])
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    made = 0
    for _ in range(200):
        if made >= int(rng.integers(1, 4)) + 2:
            break
        x, y = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
        gap = max(box[0] - y, y - box[1], box[2] - x, x - box[3])  # outside the digit's box by this
        if gap < 0.5 * size:
            continue
        if made < 2:  # dots
            r = rng.uniform(1.5, 3.5)
            d.ellipse([x - r, y - r, x + r, y + r], fill=255)
        else:  # a short scribble or a tick, 10-20 % of the side
            pts = [(x, y)]
            for _ in range(int(rng.integers(2, 5))):
                pts.append((pts[-1][0] + rng.normal(0, 0.07 * w), pts[-1][1] + rng.normal(0, 0.04 * h)))
            d.line(pts, fill=255, width=int(rng.integers(2, 5)), joint="curve")
        made += 1
    return np.maximum(cover, np.asarray(img, np.float32) / 255)


def turn(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The page turned by `degrees` in the frame (the paper reaches beyond the photo's corners)."""
    return np.stack([ndimage.rotate(rgb[..., c], degrees, reshape=False, order=1, mode="nearest")
                     for c in range(3)], axis=-1)


def camera(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's slight blur and sensor noise."""
    blur = ndimage.gaussian_filter(rgb, (0.6, 0.6, 0))
    return np.clip(blur + rng.normal(0, 0.012, rgb.shape), 0, 1)


def encode(rgb: np.ndarray, fmt: str = "PNG", quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8), "RGB")
    img.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _printed(cover, rng, ink=BLACK, paper=None):
    return lay(blank() if paper is None else paper, cover, ink)


def _photo(kind: str, cover: np.ndarray, rng: np.random.Generator) -> bytes:
    """One photo of the ink `cover` with trouble of one `kind`."""
    if kind == "printed":
        rgb = _printed(cover, rng)
    elif kind == "light gradient":
        rgb = light_gradient(_printed(cover, rng), rng)
    elif kind == "shadow":
        rgb = shadow(_printed(cover, rng), rng)
    elif kind == "paper grain":
        rgb = grain(_printed(cover, rng), rng)
    elif kind in ("ruled paper", "squared paper"):
        paper = lay(blank(), ruled(SIDE, rng, squared=kind == "squared paper"), RULE)
        rgb = _printed(cover, rng, paper=paper)
    elif kind == "ink colours":
        names = list(INKS)
        rgb = _printed(cover, rng, ink=INKS[names[int(rng.integers(len(names)))]])
    elif kind == "jpeg":
        return encode(camera(_printed(cover, rng), rng), "JPEG", int(rng.integers(20, 50)))
    elif kind == "rotation":
        rgb = turn(_printed(cover, rng), float(rng.choice([-1, 1]) * rng.uniform(4, 12)))
    elif kind == "other marks":
        rgb = _printed(marks(cover, rng), rng)
    elif kind == "everything":
        paper = lay(blank(), ruled(SIDE, rng), RULE)
        rgb = grain(_printed(cover, rng, ink=INKS["blue"], paper=paper), rng)
        rgb = light_gradient(turn(rgb, float(rng.uniform(-5, 5))), rng)
        return encode(camera(rgb, rng), "JPEG", int(rng.integers(30, 60)))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return encode(camera(rgb, rng))


# The kinds of trouble, one each (the last two several at once and pen strokes); "printed" has none.
KINDS = ("printed", "light gradient", "shadow", "paper grain", "ruled paper", "squared paper", "ink colours",
         "jpeg", "rotation", "near the edge", "other marks", "thin pen", "pen strokes", "everything")


def photo(kind: str, digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A photo (PNG or JPEG bytes) of a 28x28 MNIST digit (ink = 1, in [0, 1]) printed on paper, with `kind`'s
    trouble; for "pen strokes", `digit` is the ink of a drawing on the whole photo (`drawn`)."""
    if kind == "pen strokes":
        return encode(camera(grain(light_gradient(_printed(digit, rng), rng), rng), rng))
    if kind == "thin pen":  # the same digit written with a thin pen, on grainy paper under uneven light
        cover = place(thinned(digit, rng), rng)
        return encode(camera(grain(light_gradient(_printed(cover, rng), rng), rng), rng))
    if kind == "near the edge":  # smaller or larger, and 2-8 % of the side from one edge
        s = float(rng.uniform(3.5, 7.0))
        half = 10 * s  # half the digit's 20 px box, enlarged
        margin = float(rng.uniform(0.02, 0.08)) * SIDE
        far = SIDE - margin - half
        near = margin + half
        centre = [SIDE / 2 + float(rng.normal(0, 10)), SIDE / 2 + float(rng.normal(0, 10))]
        axis = int(rng.integers(2))
        centre[axis] = near if rng.random() < 0.5 else far
        return encode(camera(_printed(place(digit, rng, s, (centre[0], centre[1])), rng), rng))
    return _photo(kind, place(digit, rng), rng)


def photos(kind: str, digits: np.ndarray, seed: int = 0) -> list[bytes]:
    """One photo of each digit (28x28 images, or drawings for "pen strokes") with `kind`'s trouble."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    return [photo(kind, d, rng) for d in digits]


Preprocess = Callable[[bytes], np.ndarray]
