"""Photos of a digit on paper: the paper's light, coloured ink, ruled lines, specks and other marks."""

# vae.inputs.preprocess calls these between reading the ink and cropping to it. Each step leaves a clean image
# (an MNIST digit, a drawing, a font digit on even paper) as it was. Built on scipy.ndimage (labels, distance
# transforms, rank filters).

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma, as Pillow's "L"
# The paper's light is estimated on the photo shrunk to about this long side: light changes slowly.
LIGHT_SIDE = 128
# Paper whose brightness varies less than this (relative, 1st to 99th percentile) is evenly lit, and
# one colour, the border's median, stands for it, as before there was any local estimate.
EVEN_LIGHT = 0.06
# A paper colour channel below this cannot be divided by (red paper has no blue): the ink is then read from
# the brightness alone, relative to the paper's.
MIN_CHANNEL = 0.25
# Lines: near-horizontal and near-vertical straight lines, up to this slant (degrees), found in a mask
# shrunk to at most LINE_SIDE px, that cover at least LINE_COVER of the image's width (or height) and reach
# within LINE_END of both of its edges, and are at most LINE_THICK of its short side thick; at least
# LINE_MIN of them side by side (paper is ruled many times; a tightly cropped 7's bar is one line), in an
# image at least LINE_IMAGE px on its short side (a small image is a crop of a digit, not a page).
LINE_MAX_ANGLE = 10.0
LINE_SIDE = 256
LINE_COVER = 0.4
LINE_END = 0.08
LINE_THICK = 0.025
LINE_MIN = 2
LINE_IMAGE = 64
# Components: the main one is the heaviest (ink mass, favouring the middle of the photo); others join it
# when they lie within NEAR of the group's size and weigh at least DUST of it (a speck of dust beside a
# stroke stays out), or within FAR and weigh at least MARK of it.
NEAR = 0.12
DUST = 0.01
FAR = 0.4
MARK = 0.08
# Dropped components weighing less than this share of the digit are specks; heavier ones are other marks.
SPECK = 0.05


@dataclass(frozen=True)
class Lines:
    """Straight lines found in an ink mask: their pixels, how many, and the angle they lie at (degrees)."""

    pixels: np.ndarray  # bool (H, W)
    count: int
    angle: float  # the horizontal lines' slant, or the vertical ones' when there are only those


@dataclass(frozen=True)
class Group:
    """The digit's components and what was dropped."""

    keep: np.ndarray  # bool (H, W): the digit's pixels
    specks: int
    marks: int


def border(a: np.ndarray) -> np.ndarray:
    """The pixels of a frame around the image (about 5% of the short side wide), channels kept."""
    h, w = a.shape[:2]
    b = max(1, round(0.05 * min(h, w)))
    parts = [a[:b], a[-b:], a[b:-b, :b], a[b:-b, -b:]]
    return np.concatenate([p.reshape(-1, *a.shape[2:]) for p in parts])


def _shrink(a: np.ndarray, side: int) -> np.ndarray:
    """Block means, so that the long side is at most about `side`."""
    h, w = a.shape[:2]
    f = max(1, int(np.ceil(max(h, w) / side)))
    if f == 1:
        return a
    hs, ws = max(1, h // f), max(1, w // f)
    return a[:hs * f, :ws * f].reshape(hs, f, ws, f, *a.shape[2:]).mean(axis=(1, 3))


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """A float plane resized to (h, w), bilinear."""
    if a.shape == (h, w):
        return a
    img = Image.fromarray(a.astype(np.float32), mode="F")
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR))


def _local_median(lum: np.ndarray) -> np.ndarray:
    """The median brightness over a window a third of the image wide, around every pixel: computed on a copy
    shrunk 4 times (a median filter's cost grows with its window's area), then enlarged again."""
    coarse = _shrink(lum, max(lum.shape) // 4)
    local = ndimage.median_filter(coarse, size=max(3, round(min(coarse.shape) / 3)) | 1, mode="nearest")
    return _resize(local, *lum.shape)


def _paper_average(rgb: np.ndarray, paper: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian average of the paper pixels' colour around every pixel (normalised convolution), and how
    much paper that average rests on."""
    weight = ndimage.gaussian_filter(paper.astype(np.float32), sigma, mode="nearest")
    avg = np.stack([ndimage.gaussian_filter(rgb[..., c] * paper, sigma, mode="nearest")
                    for c in range(3)], axis=-1)
    return avg / np.maximum(weight, 1e-6)[..., None], weight


def paper_light(rgb: np.ndarray) -> np.ndarray | None:
    """The paper's colour under the photo's light at every pixel (H, W, 3), or None when it is evenly lit.

    On the photo shrunk to LIGHT_SIDE: a median over a window a third of the photo wide (on a coarser copy,
    for speed) says roughly how bright the paper is around each pixel (ink is darker, and covers less than
    half of any window). The pixels no darker than that are paper, and a narrow Gaussian average of those
    alone (normalised convolution) gives the paper's colour everywhere, also under the ink; a second pass
    with the paper judged against that sharper estimate keeps a shadow's edge sharp to a few pixels.
    """
    h, w = rgb.shape[:2]
    small = _shrink(rgb, LIGHT_SIDE)
    hs, ws = small.shape[:2]
    lum = small @ LUMA
    local = _local_median(lum)
    noise = 1.4826 * float(np.median(np.abs(lum - local)))
    tol = max(0.03, 2.5 * noise)
    sigma = max(1.0, min(hs, ws) / 48)
    light, weight = _paper_average(small, lum >= local - tol, sigma)
    light = np.where(weight[..., None] > 1e-3, light, local[..., None])
    again, weight = _paper_average(small, lum >= light @ LUMA - tol, sigma)
    light = np.where(weight[..., None] > 1e-3, again, light)
    bright = light @ LUMA
    lo, hi = np.percentile(bright, [1, 99])
    if hi <= 0 or (hi - lo) / hi < EVEN_LIGHT:
        return None
    return np.stack([_resize(light[..., c], h, w) for c in range(3)], axis=-1)


def dark_is_ink(lum: np.ndarray) -> bool:
    """Under uneven light: whether the ink is darker than the paper, judged against the paper's brightness
    around each pixel (a median over a third of the photo), not the whole photo's: the stronger of the two
    tails of the difference, darker or lighter, is the ink."""
    small = _shrink(lum, LIGHT_SIDE)
    local = _local_median(small)
    lo, hi = np.percentile(small - local, [0.1, 99.9])
    return -lo > hi


def dark_ink(rgb: np.ndarray, light: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """How much ink covers each pixel of dark-on-light paper (0 = paper), and where its colour said more than
    its darkness (None when the paper is too tinted to tell).

    The photo is divided by the paper's colour (its reflectance: the light and the paper's tint cancel); ink
    is the darker of its darkness and its colourfulness (max - min channel), so that a yellow or light
    blue pen, light but coloured, counts as much as a black one. Without `light`, the border's median
    colour stands for the paper.
    """
    paper = np.median(border(rgb), axis=0) if light is None else light
    paper_min = float(np.min(paper)) if light is None else float(np.percentile(light.min(axis=-1), 5))
    if paper_min < MIN_CHANNEL:  # tinted paper: a channel too dark to divide by
        bright = paper @ LUMA if light is not None else float(paper @ LUMA)
        return 1.0 - np.clip((rgb @ LUMA) / np.maximum(bright, 1e-3), 0, 1), None
    refl = np.clip(rgb / paper, 0, 1)
    dark = 1.0 - refl @ LUMA
    chroma = refl.max(axis=-1) - refl.min(axis=-1)
    return np.maximum(dark, chroma), chroma > dark + 0.1


def _line_bins(ys: np.ndarray, xs: np.ndarray, length: int, across: int, angle: float) -> np.ndarray:
    """For lines along x slanted by `angle`: each ink pixel's offset across the lines (rounded)."""
    t = np.radians(angle)
    return np.round(ys * np.cos(t) - xs * np.sin(t)).astype(np.int64) + int(np.ceil(length * abs(np.sin(t))))


def _find_along(mask: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    """Lines running along the x axis of `mask` (rows): (pixels, angle, count, the thickest one's bins)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    none = np.zeros_like(mask), 0.0, 0, 0
    if len(ys) < LINE_COVER * w:
        return none
    step = np.degrees(1.0 / w)  # the line drifts by at most a pixel across the image between two angles
    angles = np.arange(-LINE_MAX_ANGLE, LINE_MAX_ANGLE + step / 2, step)
    best = None
    for a in angles:
        rho = _line_bins(ys, xs, w, h, a)
        counts = np.bincount(rho)
        score = int(counts[counts >= LINE_COVER * w].sum())
        if score and (best is None or score > best[0]):
            best = (score, a, rho, counts)
    if best is None:
        return none
    _, angle, rho, counts = best
    thick = max(2, round(LINE_THICK * min(h, w)))
    lines = np.zeros(len(counts) + 2, bool)
    count, widest = 0, 0
    for run in ndimage.find_objects(ndimage.label(counts >= LINE_COVER * w)[0]):
        lo, hi = run[0].start, run[0].stop
        on = (rho >= lo) & (rho < hi)
        x = xs[on]
        # Its thickness: as far as the neighbouring offsets hold a good part of its ink (a slanted stroke's
        # middle may cover LINE_COVER in a few offsets only, but its neighbours are nearly as full).
        full = counts >= 0.5 * counts[lo:hi].max()
        a, b = lo, hi
        while a > 0 and full[a - 1]:
            a -= 1
        while b < len(full) and full[b]:
            b += 1
        # A ruled line runs across the paper from edge to edge and is thin; a digit's bar is neither.
        if b - a <= thick and x.min() <= LINE_END * w and x.max() >= (1 - LINE_END) * w - 1:
            lines[max(lo - 1, 0):hi + 1] = True  # and its anti-aliased edges
            count += 1
            widest = max(widest, hi - lo + 2)
    if count < LINE_MIN:
        return none
    pixels = np.zeros_like(mask)
    hit = lines[rho]
    pixels[ys[hit], xs[hit]] = True
    return pixels, float(angle), count, widest


def _both_sides(a: np.ndarray, reach: int, axis: int) -> np.ndarray:
    """Pixels with a True of `a` within `reach` on both sides along `axis` (above and below, for axis 0)."""
    before, after = np.zeros_like(a), np.zeros_like(a)
    n = a.shape[axis]
    for k in range(1, min(reach, n - 1) + 1):
        src = [slice(None)] * 2
        dst = [slice(None)] * 2
        src[axis], dst[axis] = slice(0, n - k), slice(k, n)
        before[tuple(dst)] |= a[tuple(src)]
        after[tuple(src)] |= a[tuple(dst)]
    return before & after


def find_lines(mask: np.ndarray, level: np.ndarray) -> Lines:
    """Ruled or squared paper: long, thin, straight lines across the image, near-horizontal or vertical.

    Found by projection (a Radon transform over a small range of angles) on the mask shrunk to LINE_SIDE,
    then taken at full resolution as the ink pixels in their bands. The band's pixels that are clearly
    darker than the lines (`level`: the ink's strength; a stroke lying on a line) are given back, and so are
    those with stroke right beside them on both sides (a stroke crossing a line as dark as itself).
    """
    h, w = mask.shape
    if min(h, w) < LINE_IMAGE:
        return Lines(np.zeros_like(mask), 0, 0.0)
    f = max(1, int(np.ceil(max(h, w) / LINE_SIDE)))
    small = mask if f == 1 else ndimage.maximum_filter(mask, size=f)[f // 2::f, f // 2::f]
    rows, a_rows, n_rows, w_rows = _find_along(small)
    cols, a_cols, n_cols, w_cols = _find_along(small.T)
    if not n_rows and not n_cols:
        return Lines(np.zeros_like(mask), 0, 0.0)
    found = rows | cols.T
    if f > 1:  # back to full resolution: the bands grow by the shrink factor, so nothing of a line is left
        found = np.repeat(np.repeat(found, f, axis=0), f, axis=1)[:h, :w]
        found = np.pad(found, ((0, h - found.shape[0]), (0, w - found.shape[1])), mode="edge")
    pixels = found & mask
    line_level = float(np.median(level[pixels])) if pixels.any() else 1.0
    strokes = level >= max(0.5, line_level + 0.25)
    pixels &= ~strokes
    reach = (max(w_rows, w_cols) + 1) * f
    # A stroke crossing a line has stroke on both sides of the band, right beside it: those band pixels are
    # given back. Twice, so that where a stroke crosses two lines at once (squared paper) the crossing is too.
    for _ in range(2):
        rest = strokes & ~pixels
        back = np.zeros_like(mask)
        if n_rows:
            back |= _both_sides(rest, reach, axis=0)
        if n_cols:
            back |= _both_sides(rest, reach, axis=1)
        pixels &= ~back
    angle = a_rows if n_rows else -a_cols
    return Lines(pixels, n_rows + n_cols, angle)


def main_group(gray: np.ndarray) -> Group:
    """The digit's connected components: the heaviest one (ink mass, favouring the photo's middle), and those
    that belong to it (close by, or fairly close and not tiny); the rest are specks and other marks."""
    h, w = gray.shape
    labels, n = ndimage.label(gray >= 0.25, structure=np.ones((3, 3), bool))
    if n == 0:
        return Group(np.zeros_like(gray, bool), 0, 0)
    ids = np.arange(1, n + 1)
    mass = np.asarray(ndimage.sum(gray, labels, ids))
    centres = np.asarray(ndimage.center_of_mass(gray, labels, ids)).reshape(n, 2)
    off = np.hypot((centres[:, 0] - h / 2) / h, (centres[:, 1] - w / 2) / w)  # 0 in the middle, ~0.7 corner
    main = int(np.argmax(mass / (1 + 4 * off ** 2)))
    kept = np.zeros(n, bool)
    kept[main] = True
    for _ in range(4):  # the group grows; a component near a newly joined one may join next
        group = kept[labels - 1] & (labels > 0)
        rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
        size = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        dist = ndimage.distance_transform_edt(~group)
        near = np.asarray(ndimage.minimum(dist, labels, ids))
        total = mass[kept].sum()
        join = ~kept & (((near <= NEAR * size) & (mass >= DUST * total))
                        | ((near <= FAR * size) & (mass >= MARK * total)))
        if not join.any():
            break
        kept |= join
    keep = kept[labels - 1] & (labels > 0)
    # The faint edges of the kept strokes (below the labelling level) stay with them.
    keep = ndimage.binary_dilation(keep, iterations=2) & (gray > 0)
    dropped = ~kept
    total = mass[kept].sum()
    specks = int((dropped & (mass < SPECK * total)).sum())
    return Group(keep, specks, int(dropped.sum()) - specks)
