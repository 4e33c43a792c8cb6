"""A digit's shape against MNIST's: its strokes' width (thin pen strokes thickened) and its slant (deskew)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

BOX_SIDE = 20  # MNIST's digits fill a 20 px box (their long side) inside 28x28
# MNIST's pen: its test digits' strokes are 2.4 px wide on average at 28x28 (median 2.25, quartiles
# 2.0-2.75, 5th percentile 1.5; the first 2,000, each upsampled 8x and measured with stroke_width();
# scripts/bench_drawn_digits.py --mnist measures it again).
MNIST_STROKE = 2.4
# A photo's strokes thinner than MNIST's 5th percentile (at the 20 px box) are much thinner than any MNIST
# pen: they are thickened to MNIST's lower quartile, the bottom of its usual range. Anything thicker keeps its
# width, which the latent code carries (a bold digit is not a thin one).
THIN_STROKE = 1.5
THIN_TARGET = 2.0
# Widths are only measured where a stroke is several pixels wide: a crop at least this many times the box.
MEASURE_SCALE = 3
# MNIST's slant: the moments' skew mu11 / mu02 (x right, y down) of its 10,000 test digits lies in
# [-0.80, 0.58] for 99 % of them (0.5th and 99.5th percentiles; median -0.09). A photo's digit slanted beyond
# that was turned with the page: it is turned back just far enough to lie within MNIST's range, so a digit
# as slanted as MNIST's own keeps its slant (MNIST's digits were never deskewed).
SKEW_RANGE = (-0.80, 0.58)
MAX_DESKEW = 45  # degrees: beyond this the digit is lying on its side, not slanted
# Moments are measured on the crop shrunk to about this long side (cheap, and exact enough for degrees).
MOMENT_SIDE = 64


def stroke_width(ink: np.ndarray) -> float:
    """The typical width in pixels of the strokes in an ink image (ink >= 0.5), 0 when there is none:
    twice the median distance from the strokes' centre lines (the ridge of the distance transform)
    to the paper. Exact for even widths, one pixel too wide for odd ones: use it on images whose strokes
    are many pixels wide."""
    return _ridge_width(ndimage.distance_transform_edt(np.pad(np.asarray(ink) >= 0.5, 1)))


def _ridge_width(dist: np.ndarray) -> float:
    if not dist.any():
        return 0.0
    ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3))
    return 2.0 * float(np.median(dist[ridge]))


def set_stroke(crop: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """Thicken or thin the strokes of a crop so that they are `target` px wide once its long side is
    scaled to BOX_SIDE; returns the new crop (to its ink again) and the old width at that scale.

    A pen of fixed width makes a digit drawn large thin-stroked and one drawn small bold once both are
    scaled to 20 px, and the encoder only knows MNIST's strokes. The strokes are redrawn at the new width
    from the signed distance to their edge, with a one-pixel soft edge (anti-aliased like the canvas).
    """
    if not 0 < target < BOX_SIDE / 2:
        raise ValueError(f"stroke must be between 0 and {BOX_SIDE / 2} px, got {target}")
    long_side = max(crop.shape)
    k = target / BOX_SIDE
    # Room for the thickest the strokes can become (delta below, for width 0), plus one pixel of paper.
    ink = np.pad(crop >= 0.5, int(np.ceil(k * long_side / (2 * (1 - k)))) + 1)
    inside = ndimage.distance_transform_edt(ink)
    width = _ridge_width(inside)
    before = width * BOX_SIDE / long_side
    if width <= 0:
        return crop, before
    # Thicker strokes also grow the box, which shrinks them again when it is scaled to BOX_SIDE: the edge
    # moves out by delta where  width + 2*delta = target / BOX_SIDE * (long_side + 2*delta).
    delta = (k * long_side - width) / (2 * (1 - k))
    # Distance to the strokes' edge: > 0 on the paper, < 0 in the ink (pixel centres lie 0.5 inside).
    edge = np.where(ink, 0.5 - inside, ndimage.distance_transform_edt(~ink) - 0.5)
    out = np.clip(0.5 + delta - edge, 0, 1).astype(np.float32)
    rows, cols = np.flatnonzero(out.max(axis=1) > 0), np.flatnonzero(out.max(axis=0) > 0)
    if len(rows) == 0:  # thinned away entirely (cannot happen for target > 0, but never return nothing)
        return crop, before
    return out[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], before


def thicken_thin(crop: np.ndarray) -> tuple[np.ndarray, float | None]:
    """A photo's crop whose strokes are much thinner than MNIST's (under THIN_STROKE at the 20 px box) with
    them thickened to THIN_TARGET, and their width before (None, and the crop as it was, when they are thick
    enough or the crop is too small to measure them)."""
    if max(crop.shape) < MEASURE_SCALE * BOX_SIDE or not (crop >= 0.5).any():
        return crop, None
    width = stroke_width(crop) * BOX_SIDE / max(crop.shape)
    if width >= THIN_STROKE:
        return crop, None
    thick, _ = set_stroke(crop, THIN_TARGET)
    return thick, width


def skew(ink: np.ndarray) -> float:
    """The classic deskew's measure of slant: mu11 / mu02, how far x moves per row (x right, y down), 0 for an
    upright digit; 0 when there is no spread."""
    mass = float(ink.sum())
    if mass <= 0:
        return 0.0
    yy, xx = np.indices(ink.shape, dtype=np.float64)
    cy, cx = float((yy * ink).sum()) / mass, float((xx * ink).sum()) / mass
    mu02 = float((((yy - cy) ** 2) * ink).sum())
    return float((((yy - cy) * (xx - cx)) * ink).sum()) / mu02 if mu02 > 0 else 0.0


def _shrunk(crop: np.ndarray) -> np.ndarray:
    f = max(1, int(np.ceil(max(crop.shape) / MOMENT_SIDE)))
    return ndimage.zoom(crop, 1 / f, order=1) if f > 1 else crop


def deskew_angle(crop: np.ndarray) -> float:
    """The degrees to turn a crop (ndimage.rotate's sense) to bring its skew back within MNIST's SKEW_RANGE,
    or 0 when it lies within it already (or cannot be brought there by MAX_DESKEW)."""
    small = _shrunk(crop)
    s = skew(small)
    lo, hi = SKEW_RANGE
    if lo <= s <= hi:
        return 0.0
    # Turning by +1 degree (ndimage.rotate: counter-clockwise on screen) makes a digit lean further right by
    # about tan(1 degree) of its height per row, so skew grows: a digit leaning too far right is turned by -.
    step = -0.5 if s > hi else 0.5
    padded = np.pad(small, max(small.shape) // 2)
    for k in range(1, int(MAX_DESKEW / abs(step)) + 1):
        turned = ndimage.rotate(padded, k * step, order=1, reshape=False)
        if lo <= skew(np.clip(turned, 0, 1)) <= hi:
            return k * step
    return 0.0
