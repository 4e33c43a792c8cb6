"""Opening an uploaded image safely: size, format and pixel checks before anything is decoded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps


class ImageError(ValueError):
    """An image that cannot be used; the message is one clear sentence for the user."""


ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
MAX_BYTES = 10 * 1024 * 1024  # reject bigger files before decoding
MAX_PIXELS = 4096 * 4096  # decompression-bomb bound, checked from the header before load()

_ALLOWED_NAMES = "PNG, JPEG, WEBP, BMP or GIF"
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


def check_pixels(width: int, height: int) -> None:
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
            check_pixels(*img.size)  # from the header alone: nothing decoded yet
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
