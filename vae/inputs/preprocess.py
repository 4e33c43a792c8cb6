"""MNIST-style preprocessing of an opened image: ink, crop, stroke width, 20 px box, centre of mass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from vae.inputs import photo, shape
from vae.inputs.image_file import ImageError, check_pixels, load_image
from vae.inputs.shape import BOX_SIDE, MNIST_STROKE, stroke_width  # noqa: F401 - MNIST_STROKE, stroke_width: public here
from vae.plural import count

MIN_SIDE = 8  # below this there is no room for a recognisable digit
# Work at most at this resolution: the output is 28x28, and float copies of a 16-megapixel
# image would cost hundreds of MB per request on a small shared server.
WORK_SIDE = 1024
# Ink below this fraction of the image's contrast is paper texture, shadows or JPEG noise.
NOISE_THRESHOLD = 0.2
# ... or, on grainy paper or in JPEG noise, six times the paper's spread, up to this.
MAX_NOISE_THRESHOLD = 0.45
# Lines found slanted by at least this many degrees straighten the digit with them (the paper was turned).
MIN_STRAIGHTEN = 1.0
# A border whose brightness spans more than this (10th to 90th percentile) is unevenly lit, and says nothing
# about the polarity.
UNEVEN_BORDER = 0.15
# The ink counts as coloured (and the page says so) when its colour, not its darkness, made this share of it.
COLOURED_SHARE = 0.3
# A (nearly) uniform image: less than this contrast between the paper and the darkest/lightest mark.
MIN_CONTRAST = 0.15
# Fewer clearly-inked pixels than this is a speck of dust, not a digit.
MIN_INK_PIXELS = 4
# MNIST: the digit's bounding box is scaled so its long side is 20 px (shape.BOX_SIDE), then placed in 28x28
# so that its centre of mass lands on (14, 14).
SIDE = 28
# The Encode page's canvas: a square of this side, and a pen this wide, so that a digit drawn about
# 200 px tall, as its instruction asks, has MNIST's strokes before any correction (2.4 * 200 / 20).
CANVAS_SIDE = 280
CANVAS_STROKE = 24

NO_INK = "The image has no ink: it looks blank or nearly uniform, so there is nothing to encode."


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no truth value, and the object stays hashable
class Preprocessed:
    """Every stage of `to_mnist`, so the UI can show what was done to the upload."""

    original: np.ndarray  # uint8 RGB (H, W, 3) of the input as shown (alpha composited on a checker)
    gray: np.ndarray  # float32 (H, W) in [0,1], INK = 1 (after polarity detection / alpha as ink)
    inverted: bool  # True when dark ink on light paper was inverted
    alpha_used: bool  # True when the alpha channel was used as ink
    cropped: np.ndarray  # float32 crop of `gray` to the ink's bounding box (strokes set, see `stroke_width`)
    image: np.ndarray  # float32 (28, 28) in [0,1], MNIST-like: white ink on black
    # The ink's stroke width in px at 28x28 before to_mnist(stroke=...) set it; None when left as it came.
    stroke_width: float | None = None
    # bool, like `gray`: the ink that was not the digit (ruled lines, specks, other marks); None if not made.
    removed: np.ndarray | None = None
    notes: tuple[str, ...] = ()  # what was done beyond the usual steps, in words, for the page




def _shrink(img: Image.Image) -> Image.Image:
    """Downscale (box filter = area average) so the long side is at most WORK_SIDE."""
    w, h = img.size
    if max(w, h) <= WORK_SIDE:
        return img
    s = WORK_SIDE / max(w, h)
    return img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)


def _planes(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB float32 (H, W, 3) in [0, 1] and alpha (H, W) or None, at working resolution, from any mode."""
    mode = img.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        # 16-bit / 32-bit grayscale: scale by the bit depth, not min-max, so that a nearly
        # uniform image stays nearly uniform (and is reported blank) instead of amplifying noise.
        a = np.asarray(img).astype(np.float32)
        lo, hi = float(a.min()), float(a.max())
        if mode.startswith("I;16"):
            a = a / 65535.0
        elif lo >= 0 and hi <= 1 and mode == "F":
            pass
        elif lo >= 0 and hi <= 255:
            a = a / 255.0
        elif lo >= 0 and hi <= 65535:
            a = a / 65535.0
        else:
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        g = np.asarray(_shrink(Image.fromarray(np.clip(a, 0, 1).astype(np.float32), mode="F")), np.float32)
        return np.repeat(g[:, :, None], 3, axis=2), None
    has_alpha = "A" in mode or "a" in mode or "transparency" in img.info
    try:
        # P with a transparent index, L/RGB with a tRNS colour, LA, PA: all become RGBA;
        # CMYK, YCbCr, 1, L, P without transparency become RGB.
        img = img.convert("RGBA" if has_alpha else "RGB")
    except Exception:  # noqa: BLE001 - exotic modes Pillow cannot convert
        raise ImageError(f"Images in colour mode {mode} are not supported; please upload an RGB "
                         "or grayscale image.") from None
    a = np.asarray(_shrink(img), np.float32) / 255.0
    if has_alpha:
        return a[:, :, :3], a[:, :, 3]
    return a, None


def _checker(h: int, w: int, cell: int = 8) -> np.ndarray:
    """A mid-grey checkerboard: shows transparency, and both dark and light ink stay visible on it."""
    yy, xx = np.indices((h, w))
    return np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.85, 0.65).astype(np.float32)


def _readonly(a: np.ndarray) -> np.ndarray:
    # Results may be cached and shared between sessions: nobody should modify them in place.
    a.setflags(write=False)
    return a


def _soft(level: np.ndarray, threshold: float) -> np.ndarray:
    """Soft threshold: below `threshold` is paper (0); above, rescaled so that the strokes' anti-aliased
    edges are kept."""
    return np.clip((level - threshold) / (1 - threshold), 0, 1).astype(np.float32)


def _straighten(crop: np.ndarray, angle: float, edge: float) -> np.ndarray:
    """The crop turned by `angle` degrees, and cropped again to the box of its ink above `edge` (the level
    the threshold put the box at: the faint edges outside it are not part of MNIST's box)."""
    turned = np.clip(ndimage.rotate(np.pad(crop, 2), angle, order=1, reshape=True), 0, 1).astype(np.float32)
    turned[turned < 0.02] = 0
    rows, cols = np.flatnonzero(turned.max(axis=1) > edge), np.flatnonzero(turned.max(axis=0) > edge)
    return turned[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] if len(rows) else crop


def _notes(evened: bool, coloured: bool, threshold: float, lines: photo.Lines, group: photo.Group,
           removed: np.ndarray) -> tuple[str, ...]:
    """What was done beyond the usual steps, each in a few words."""
    notes = []
    if evened:
        notes.append("evened out the lighting (the paper's brightness around each pixel divided out)")
    if coloured:
        notes.append("read the coloured ink by its colour as well as its darkness")
    if threshold > NOISE_THRESHOLD:
        notes.append(f"raised the noise threshold to {threshold:.0%} of the ink's strength for the paper's "
                     "grain or JPEG noise")
    if lines.count:
        line_px = int((lines.pixels & removed).sum())
        text = f"removed {count(lines.count, 'ruled line')} ({count(line_px, 'pixel')})"
        if abs(lines.angle) >= MIN_STRAIGHTEN:
            text += f" and turned the digit {abs(lines.angle):.1f}° to lie square with them"
        notes.append(text)
    parts = [count(group.specks, "speck")] if group.specks else []
    if group.marks:
        parts.append(count(group.marks, "other mark"))
    if parts:
        notes.append("removed " + " and ".join(parts) + " apart from the digit")
    return tuple(notes)


def _faint_edges(level: np.ndarray, keep: np.ndarray, lines: np.ndarray, top: float,
                 floor: float) -> np.ndarray:
    """The digit's ink with its strokes' faint anti-aliased edges, which MNIST's digits have and the threshold
    cuts: the level above `floor` (the paper's own noise), rescaled so the strongest ink is 1,
    where it is connected to the digit and within a twentieth of its size of it (one pixel at 28x28)."""
    shade = _soft(np.clip(level / max(top, 1e-3), 0, 1), floor)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    reach = max(1, round(max(rows[-1] - rows[0], cols[-1] - cols[0]) / BOX_SIDE))
    band = ndimage.binary_dilation(keep, iterations=reach) & ~lines
    band = ndimage.binary_propagation(keep & band, mask=band & (shade > 0))
    return np.where(band, shade, 0).astype(np.float32)


def to_mnist(img: Image.Image, stroke: float | None = None) -> Preprocessed:
    """Any image -> an MNIST-like 28x28 input, made the way MNIST was made.

    1. Ink: if the background is transparent (border alpha median < 0.5), alpha is the ink.
       Otherwise the image is composited on white and converted to luminance, and polarity is
       detected: when the border's median is lighter than the image's mean, the ink is darker
       than the paper, so the image is inverted (dark ink on light paper -> white ink on black).
    2. Paper removal: the border median is subtracted and the result scaled by the strongest ink,
       so grey paper becomes 0 and faint pencil becomes full strength; then anything below
       NOISE_THRESHOLD of that contrast is paper texture and set to 0.
    3. Crop to the ink's bounding box, keeping the strokes' faint edges. With `stroke` (px at 28x28;
       MNIST_STROKE for MNIST's pen), the strokes are thickened or thinned to that width: for drawings made
       with one pen, whatever their size. Without it (an upload, a photo), a digit slanted beyond 99 % of
       MNIST's is turned back into their range, and strokes much thinner than MNIST's are thickened to the
       bottom of its range (vae.inputs.shape); thicker ones keep their width.
    4. Scale the long side to 20 px (Lanczos, anti-aliased), and place in 28x28 so the centre of
       mass is at (14, 14), clipped so nothing falls off.

    Raises ImageError for images too small to hold anything and for images with no ink.
    """
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"The image is {w}x{h} pixels, too small: it needs at least "
                         f"{MIN_SIDE} pixels on each side.")
    check_pixels(w, h)  # callers may pass an image that did not come through load_image
    rgb, alpha = _planes(img)
    hh, ww = rgb.shape[:2]

    if alpha is not None:
        shown = rgb * alpha[:, :, None] + _checker(hh, ww)[:, :, None] * (1 - alpha[:, :, None])
    else:
        shown = rgb
    original = (np.clip(shown, 0, 1) * 255).round().astype(np.uint8)

    alpha_used = alpha is not None and float(np.median(photo.border(alpha))) < 0.5
    inverted, evened, colour = False, False, None
    if alpha_used:
        ink = alpha
    else:
        flat = rgb if alpha is None else rgb * alpha[:, :, None] + (1 - alpha[:, :, None])  # on white paper
        lum = flat @ photo.LUMA
        edge = photo.border(lum)
        lo, hi = np.percentile(edge, [10, 90])
        if hi - lo < UNEVEN_BORDER:  # even paper all round: ink is what differs from the border
            inverted = float(np.median(edge)) > float(lum.mean())
        else:  # uneven light: compared with the paper around it, is the ink darker or lighter?
            inverted = photo.dark_is_ink(lum)
        if inverted:  # dark ink on light paper: a photo, perhaps, under uneven light
            light = photo.paper_light(flat)
            evened = light is not None
            ink, colour = photo.dark_ink(flat, light)
        else:
            ink = lum

    paper = float(np.median(photo.border(ink)))
    contrast = float(ink.max()) - paper
    if contrast < MIN_CONTRAST:
        raise ImageError(NO_INK)
    level = np.clip((ink - paper) / contrast, 0, 1).astype(np.float32)
    # Grainy paper and JPEG noise: the threshold rises above the paper's own spread (robust: the median
    # absolute deviation, as paper is most of the image); clean paper has none and keeps NOISE_THRESHOLD.
    faint = level[level < 0.5]
    spread = 1.4826 * float(np.median(np.abs(faint - np.median(faint)))) if faint.size else 0.0
    threshold = float(np.clip(6 * spread, NOISE_THRESHOLD, MAX_NOISE_THRESHOLD))
    gray = _soft(level, threshold)
    if int((gray >= 0.5).sum()) < MIN_INK_PIXELS:
        raise ImageError("The image has no ink to speak of: only a speck stands out from the background.")

    # Lines are looked for down to half the threshold: a faint ruled line is whole there, not in pieces.
    lines = photo.find_lines(level > threshold / 2, level)
    group = photo.main_group(np.where(lines.pixels, 0, gray))
    if not group.keep.any():
        raise ImageError(NO_INK)
    # The digit's own strongest ink is full strength, whatever darker speck or mark was dropped.
    top = float(level[group.keep].max())
    if 0 < top < 1:
        gray = _soft(np.clip(level / top, 0, 1), threshold)
    kept = np.where(ndimage.binary_dilation(group.keep) & ~lines.pixels, gray, 0).astype(np.float32)
    removed = (gray > 0) & (kept == 0) | lines.pixels
    if int((kept >= 0.5).sum()) < MIN_INK_PIXELS:
        raise ImageError("The image has no ink to speak of: only a speck stands out from the background.")

    rows = np.flatnonzero(kept.max(axis=1) > 0)
    cols = np.flatnonzero(kept.max(axis=0) > 0)
    floor = float(np.clip(3 * spread, 0.0, threshold))
    faint = _faint_edges(level, group.keep, lines.pixels, top, floor)
    if min(hh, ww) < photo.LINE_IMAGE:  # a digit already about MNIST's size: its faintest ink is its box's
        rows, cols = np.flatnonzero(faint.max(axis=1) > 0), np.flatnonzero(faint.max(axis=0) > 0)
    cropped = faint[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    edge = (threshold - floor) / (1 - floor)  # the threshold, on the faint edges' scale
    strong = kept >= 0.5
    coloured = colour is not None and float(colour[strong].mean()) >= COLOURED_SHARE
    notes = _notes(evened, coloured, threshold, lines, group, removed)
    if lines.count and abs(lines.angle) >= MIN_STRAIGHTEN:
        cropped = _straighten(cropped, lines.angle, edge)
    elif stroke is None and min(hh, ww) >= photo.LINE_IMAGE:
        # A photo (not a drawing, not a digit already 28x28) turned without lines to tell by how much: its
        # slant, if beyond 99 % of MNIST's digits', is the page's.
        angle = shape.deskew_angle(cropped)
        if angle:
            cropped = _straighten(cropped, angle, edge)
            notes += (f"deskewed by {abs(angle):.1f}° (the digit leaned further than 99 % of MNIST's "
                      "digits)",)
    before = None
    if stroke is not None:
        cropped, before = shape.set_stroke(cropped, float(stroke))
    else:
        cropped, thin = shape.thicken_thin(cropped)
        if thin is not None:
            notes += (f"thickened thin strokes (from {thin:.1f} px to MNIST's {shape.THIN_TARGET:.1f} px "
                      "at 28x28)",)

    ch, cw = cropped.shape
    s = BOX_SIDE / max(ch, cw)
    nw, nh = max(1, round(cw * s)), max(1, round(ch * s))
    small = Image.fromarray(cropped, mode="F").resize((nw, nh), Image.Resampling.LANCZOS)
    small_a = np.clip(np.asarray(small, np.float32), 0, 1)  # Lanczos overshoots slightly at edges
    mass = float(small_a.sum())
    if mass <= 0:  # cannot happen after the ink check, but never divide by zero
        raise ImageError(NO_INK)
    yy, xx = np.indices(small_a.shape)
    cy, cx = float((yy * small_a).sum()) / mass, float((xx * small_a).sum()) / mass
    # Whole-pixel shifts (as in the usual MNIST recipes) keep strokes sharp; clipped to stay inside.
    top = int(np.clip(round(SIDE / 2 - cy), 0, SIDE - nh))
    left = int(np.clip(round(SIDE / 2 - cx), 0, SIDE - nw))
    image = np.zeros((SIDE, SIDE), np.float32)
    image[top:top + nh, left:left + nw] = small_a

    return Preprocessed(original=_readonly(original), gray=_readonly(gray), inverted=bool(inverted),
                        alpha_used=bool(alpha_used), cropped=_readonly(cropped), image=_readonly(image),
                        stroke_width=before, removed=_readonly(removed), notes=notes)


def preprocess_bytes(data: bytes) -> Preprocessed:
    """Uploaded bytes -> every preprocessing stage (load_image + to_mnist)."""
    return to_mnist(load_image(data))
