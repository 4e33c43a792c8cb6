"""Safe image loading and MNIST-style preprocessing (crop, stroke width, 20 px box, centre of mass)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from vae import photo
from vae.plural import count


class ImageError(ValueError):
    """An image that cannot be used; the message is one clear sentence for the user."""


ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
MAX_BYTES = 10 * 1024 * 1024  # reject bigger files before decoding
MAX_PIXELS = 4096 * 4096  # decompression-bomb bound, checked from the header before load()
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
# MNIST: the digit's bounding box is scaled so its long side is 20 px, then placed in 28x28
# so that its centre of mass lands on (14, 14).
BOX_SIDE = 20
SIDE = 28
# MNIST's pen: its test digits' strokes are 2.4 px wide on average at 28x28 (median 2.25, quartiles
# 2.0-2.75; the first 2,000, each upsampled 8x and measured with stroke_width();
# scripts/bench_drawn_digits.py --mnist measures it again).
MNIST_STROKE = 2.4
# The Encode page's canvas: a square of this side, and a pen this wide, so that a digit drawn about
# 200 px tall, as its instruction asks, has MNIST's strokes before any correction (2.4 * 200 / 20).
CANVAS_SIDE = 280
CANVAS_STROKE = 24

_ALLOWED_NAMES = "PNG, JPEG, WEBP, BMP or GIF"
NO_INK = "The image has no ink: it looks blank or nearly uniform, so there is nothing to encode."
# Pillow opens some JPEG variants (phone photos with a multi-picture index) as "MPO".
_OPENED_AS_ALLOWED = set(ALLOWED_FORMATS) | {"MPO"}
# Formats we recognise from their first bytes, to name them in the message instead of a vague
# "not an image"; none of them is ever handed to a decoder (EPS would even run Ghostscript).
_KNOWN_OTHER_FORMATS: tuple[tuple[bytes, int, str], ...] = (
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"%PDF", 0, "PDF"),
    (b"%!PS", 0, "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", 0, "PostScript/EPS"),
    (b"8BPS", 0, "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"ftypavif", 4, "AVIF"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
    (b"qoif", 0, "QOI"),
)


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


def _sniff(data: bytes) -> None:
    """Reject, from the first bytes, files that must never reach a decoder."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()  # UTF-8 BOM, leading blank lines
    # Every allowed format starts with binary magic, never "<": only markup can start like this.
    if head.startswith(b"<") and (b"<svg" in head or head.startswith(b"<?xml")):
        raise ImageError("SVG (vector) images are not supported; please upload a PNG or JPEG picture.")
    for magic, offset, name in _KNOWN_OTHER_FORMATS:
        if data[offset:offset + len(magic)] == magic:
            raise ImageError(f"{name} files are not supported; please upload a {_ALLOWED_NAMES} image.")


def _has_allowed_magic(data: bytes) -> bool:
    return (data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM"))
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"))


def _looks_like_text(data: bytes) -> bool:
    """Mostly printable UTF-8 (a renamed .txt, .csv, .html, .json...), judged from the first 4 KB."""
    text = data[:4096].decode("utf-8", errors="replace")
    ok = sum((c.isprintable() and c != "\ufffd") or c in "\t\r\n" for c in text)
    return ok >= 0.95 * len(text)


def _read(source: bytes | str | Path) -> bytes:
    """The file's bytes, refusing empty and oversized files before reading them whole."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            if not path.is_file():
                raise ImageError(f"The file {path.name!r} does not exist or is not a regular file.")
            size = path.stat().st_size
            if size > MAX_BYTES:  # checked before reading, so a huge file never lands in memory
                raise ImageError(_too_big(size))
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"The file {path.name!r} could not be read ({exc.strerror or exc}).") from None
    else:
        raise ImageError(f"Expected image bytes or a file path, got {type(source).__name__}.")
    if not data:
        raise ImageError("The file is empty (0 bytes); please upload an image.")
    if len(data) > MAX_BYTES:
        raise ImageError(_too_big(len(data)))
    return data


def _too_big(size: int) -> str:
    return f"The file is {size / 2**20:.1f} MB, larger than the {MAX_BYTES // 2**20} MB limit."


def _check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError("The image has no pixels (its width or height is zero).")
    if width * height > MAX_PIXELS:
        side = int(MAX_PIXELS**0.5)
        raise ImageError(f"The image is {width}x{height} pixels, too large to process safely "
                         f"(the limit is {side}x{side}, {MAX_PIXELS / 1e6:.1f} megapixels).")


def load_image(source: bytes | str | Path) -> Image.Image:
    """Open an upload safely: checks before decoding, then the loaded first frame, EXIF-rotated upright.

    Raises ImageError (one sentence for the user) for anything that is not a usable picture.
    """
    data = _read(source)
    _sniff(data)
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS and raises above twice that while reading the
        # header; both mean "decompression bomb". catch_warnings is process-global, but the only
        # filter it changes is for this warning, which every caller wants as an error anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            if img.format not in _OPENED_AS_ALLOWED:  # defence in depth against plugin aliases
                raise ImageError(f"{img.format} files are not supported; "
                                 f"please upload a {_ALLOWED_NAMES} image.")
            _check_pixels(*img.size)  # from the header alone: nothing decoded yet
            img.load()  # first frame only: animated GIF/WEBP and multi-page files are not expanded
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("The image's dimensions are far too large to process safely "
                         "(a possible decompression bomb).") from None
    except MemoryError:
        raise ImageError("The image is too large to decode in the memory available.") from None
    except Exception as exc:  # noqa: BLE001 - Pillow plugins raise OSError, SyntaxError, ValueError, EOFError,
        # struct.error, zlib.error... on malformed input; all mean the same thing to the user.
        if _looks_like_text(data):  # checked only now: a real image is never refused for looking like text
            raise ImageError("This file is text, not an image; "
                             "please upload a PNG or JPEG picture.") from None
        if isinstance(exc, Image.UnidentifiedImageError) and not _has_allowed_magic(data):
            raise ImageError("This file is not a recognised image; "
                             f"please upload a {_ALLOWED_NAMES} image.") from None
        # It starts like a PNG/JPEG/... but the header or the data is cut short or broken.
        raise ImageError("The image file is truncated or corrupt and could not be decoded.") from None
    try:
        # Phone photos store "rotate 90°" in EXIF rather than in the pixels. Returns a copy,
        # which also detaches the image from the file and from any further animation frames.
        upright = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF metadata is no reason to refuse the pixels
        upright = img.copy()
    return upright


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


def _straighten(crop: np.ndarray, angle: float) -> np.ndarray:
    """The crop turned by `angle` degrees (the slant of the paper's lines), and cropped to its ink again."""
    turned = np.clip(ndimage.rotate(np.pad(crop, 2), angle, order=1, reshape=True), 0, 1).astype(np.float32)
    turned[turned < 0.02] = 0
    rows, cols = np.flatnonzero(turned.max(axis=1) > 0), np.flatnonzero(turned.max(axis=0) > 0)
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


def stroke_width(ink: np.ndarray) -> float:
    """The typical width in pixels of the strokes in an ink image (ink >= 0.5), 0 when there is none:
    twice the median distance from the strokes' centre lines (the ridge of the distance transform)
    to the paper. Exact for even widths, one pixel too wide for odd ones: use it on images whose strokes
    are many pixels wide."""
    from scipy import ndimage

    return _ridge_width(ndimage.distance_transform_edt(np.pad(np.asarray(ink) >= 0.5, 1)))


def _ridge_width(dist: np.ndarray) -> float:
    from scipy import ndimage

    if not dist.any():
        return 0.0
    ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3))
    return 2.0 * float(np.median(dist[ridge]))


def _set_stroke(crop: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """Thicken or thin the strokes of a crop so that they are `target` px wide once its long side is
    scaled to BOX_SIDE; returns the new crop (to its ink again) and the old width at that scale.

    A pen of fixed width makes a digit drawn large thin-stroked and one drawn small bold once both are
    scaled to 20 px, and the encoder only knows MNIST's strokes. The strokes are redrawn at the new width
    from the signed distance to their edge, with a one-pixel soft edge (anti-aliased like the canvas).
    """
    from scipy import ndimage

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


def to_mnist(img: Image.Image, stroke: float | None = None) -> Preprocessed:
    """Any image -> an MNIST-like 28x28 input, made the way MNIST was made.

    1. Ink: if the background is transparent (border alpha median < 0.5), alpha is the ink.
       Otherwise the image is composited on white and converted to luminance, and polarity is
       detected: when the border's median is lighter than the image's mean, the ink is darker
       than the paper, so the image is inverted (dark ink on light paper -> white ink on black).
    2. Paper removal: the border median is subtracted and the result scaled by the strongest ink,
       so grey paper becomes 0 and faint pencil becomes full strength; then anything below
       NOISE_THRESHOLD of that contrast is paper texture and set to 0.
    3. Crop to the ink's bounding box. With `stroke` (px at 28x28; MNIST_STROKE for MNIST's pen), the
       strokes are thickened or thinned to that width: for drawings made with one pen, whatever their size.
    4. Scale the long side to 20 px (Lanczos, anti-aliased), and place in 28x28 so the centre of
       mass is at (14, 14), clipped so nothing falls off.

    Raises ImageError for images too small to hold anything and for images with no ink.
    """
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"The image is {w}x{h} pixels, too small: it needs at least "
                         f"{MIN_SIDE} pixels on each side.")
    _check_pixels(w, h)  # callers may pass an image that did not come through load_image
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
    cropped = kept[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy()
    if lines.count and abs(lines.angle) >= MIN_STRAIGHTEN:
        cropped = _straighten(cropped, lines.angle)
    strong = kept >= 0.5
    coloured = colour is not None and float(colour[strong].mean()) >= COLOURED_SHARE
    notes = _notes(evened, coloured, threshold, lines, group, removed)
    before = None
    if stroke is not None:
        cropped, before = _set_stroke(cropped, float(stroke))

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
