"""Bad and odd uploads, all made here: each ends in a Preprocessed or a specific ImageError, never a crash."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae.inputs.image_file import MAX_BYTES, ImageError, load_image
from vae.inputs.preprocess import Preprocessed, preprocess_bytes, to_mnist

REPO = Path(__file__).resolve().parent.parent


# ---- makers: every file is built here, from nothing --------------------------------------------

def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _stroke(size=(60, 80), mode="L", ink=0, paper=255) -> Image.Image:
    """A vertical bar, dark on light: a legible '1'."""
    img = Image.new(mode, size, paper)
    w, h = size
    ImageDraw.Draw(img).rectangle([(w * 0.4, h * 0.15), (w * 0.6, h * 0.85)], fill=ink)
    return img


def _good_png() -> bytes:
    return _save(_stroke(), "PNG")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb(width: int, height: int) -> bytes:
    """A valid-looking 1-bit PNG whose header claims width x height, with a few rows of data (~100 bytes)."""
    rows = b"".join(b"\x00" + b"\x00" * ((width + 7) // 8) for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""))


def _random_bytes() -> bytes:
    return np.random.default_rng(0).bytes(4000)


def _svg() -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="28" '
            b'height="28"><path d="M14 4 L14 24" stroke="black" stroke-width="3"/></svg>\n')


def _bare_svg() -> bytes:
    return b'\n  <svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'


def _exif_rotated_jpeg() -> bytes:
    """Pixels stored sideways (a horizontal bar in a wide image) with EXIF 'rotate 90 CW' (orientation 6)."""
    img = Image.new("L", (120, 60), 255)
    ImageDraw.Draw(img).rectangle([(15, 25), (105, 35)], fill=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(img, "JPEG", exif=exif.tobytes(), quality=95)


def _png16() -> bytes:
    a = np.full((80, 60), 60000, np.uint16)
    a[12:68, 24:36] = 3000
    return _save(Image.fromarray(a), "PNG")


def _cmyk_jpeg() -> bytes:
    # Black stroke on white paper in CMYK: K=255 where the ink is, 0 elsewhere.
    k = np.asarray(_stroke(ink=255, paper=0))
    cmyk = np.zeros((*k.shape, 4), np.uint8)
    cmyk[..., 3] = k
    return _save(Image.fromarray(cmyk, mode="CMYK"), "JPEG", quality=95)


def _palette_png_transparent() -> bytes:
    """Palette image: index 0 transparent background, index 1 black strokes."""
    img = Image.new("P", (60, 80), 0)
    img.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    ImageDraw.Draw(img).rectangle([(24, 12), (36, 68)], fill=1)
    return _save(img, "PNG", transparency=0)


def _animated_gif() -> bytes:
    """Frame 1: a tall bar; frame 2: a wide bar. Only the first frame must be used."""
    tall = Image.new("L", (80, 80), 255)
    ImageDraw.Draw(tall).rectangle([(35, 5), (45, 75)], fill=0)
    wide = Image.new("L", (80, 80), 255)
    ImageDraw.Draw(wide).rectangle([(5, 35), (75, 45)], fill=0)
    return _save(tall, "GIF", save_all=True, append_images=[wide], duration=100, loop=0)


def _rgba_png() -> bytes:
    rgba = np.zeros((80, 60, 4), np.uint8)  # transparent black background, opaque black strokes
    rgba[12:68, 24:36, 3] = 255
    return _save(Image.fromarray(rgba, mode="RGBA"), "PNG")


# name -> (make bytes, None for a valid result or words the ImageError must contain)
CASES = {
    "empty": (lambda: b"", "empty"),
    "too-many-bytes": (lambda: b"\x89PNG" + b"\x00" * MAX_BYTES, "MB limit"),
    "truncated-png": (lambda: _good_png()[: len(_good_png()) // 2], "truncated or corrupt"),
    "png-header-only": (lambda: _good_png()[:40], "truncated or corrupt"),
    "corrupt-png-data": (lambda: _good_png()[:60] + b"\xff" * 200 + _good_png()[260:],
                         "truncated or corrupt"),
    "truncated-jpeg": (lambda: _save(_stroke(), "JPEG")[:300], "truncated or corrupt"),
    "random-bytes": (_random_bytes, "not a recognised image"),
    "text": (lambda: b"name,score\nalice,3\nbob,4\n" * 20, "text, not an image"),
    "text-starting-like-bmp": (lambda: b"BMW service history\n" * 10, "text, not an image"),
    "html": (lambda: b"<!doctype html><html><body>hi</body></html>", "text, not an image"),
    "svg": (_svg, "SVG"),
    "svg-without-xml-header": (_bare_svg, "SVG"),
    "tiff": (lambda: _save(_stroke(), "TIFF"), "TIFF files are not supported"),
    "pdf-magic": (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF files are not supported"),
    "eps-magic": (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
                  "EPS files are not supported"),
    "ico": (lambda: _save(_stroke(size=(32, 32)), "ICO"), "ICO files are not supported"),
    "bomb-20000x20000": (lambda: _png_bomb(20000, 20000), "too large"),
    "bomb-10000x10000": (lambda: _png_bomb(10000, 10000), "too large"),  # Pillow's warning range
    "bomb-5000x5000": (lambda: _png_bomb(5000, 5000), "too large"),  # under Pillow's own limit, over ours
    "bomb-gif": (lambda: _save(Image.new("P", (5000, 4000)), "GIF"), "too large"),
    "one-by-one": (lambda: _save(Image.new("L", (1, 1), 0), "PNG"), "too small"),
    "one-by-5000": (lambda: _save(Image.new("L", (1, 5000), 0), "PNG"), "too small"),
    "blank-white": (lambda: _save(Image.new("RGB", (64, 64), "white"), "PNG"), "no ink"),
    "blank-white-jpeg": (lambda: _save(Image.new("RGB", (64, 64), "white"), "JPEG"), "no ink"),
    "fully-transparent": (lambda: _save(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"), "no ink"),
    # Odd but legitimate: these must work.
    "exif-rotated-jpeg": (_exif_rotated_jpeg, None),
    "png-16-bit": (_png16, None),
    "cmyk-jpeg": (_cmyk_jpeg, None),
    "palette-png-transparency": (_palette_png_transparent, None),
    "animated-gif": (_animated_gif, None),
    "rgba-png": (_rgba_png, None),
    "bmp": (lambda: _save(_stroke(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)), "BMP"), None),
    "webp": (lambda: _save(_stroke(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)), "WEBP"), None),
    "grey-1bit-png": (lambda: _save(_stroke(mode="1", ink=0, paper=1), "PNG"), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_upload_ends_in_result_or_clear_error(name):
    make, words = CASES[name]
    data = make()
    try:
        result = preprocess_bytes(data)
    except ImageError as exc:
        msg = str(exc)
        assert words is not None, f"{name}: unexpected ImageError {msg!r}"
        assert words.lower() in msg.lower(), msg
        assert msg.endswith(".") and "\n" not in msg and len(msg) < 200  # one sentence for the user
        return
    assert words is None, f"{name}: expected an ImageError about {words!r}"
    assert isinstance(result, Preprocessed)
    img = result.image
    assert img.shape == (28, 28) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    assert img.max() > 0.9 and img[0, 0] == 0  # white ink on black


def _bbox_hw(a: np.ndarray) -> tuple[int, int]:
    nz = np.argwhere(a > 0.3)
    return tuple(int(v) for v in nz.max(0) - nz.min(0) + 1)


def test_exif_rotation_is_applied():
    img = load_image(_exif_rotated_jpeg())
    assert img.size == (60, 120)  # stored 120x60, shown upright as 60 wide x 120 tall
    h, w = _bbox_hw(to_mnist(img).image)
    assert h >= 19 and w <= 5  # the sideways bar became a vertical stroke


def test_animated_gif_uses_first_frame():
    h, w = _bbox_hw(preprocess_bytes(_animated_gif()).image)
    assert h >= 19 and w <= 5  # the tall bar of frame 1, not the wide bar of frame 2


def test_16_bit_png_keeps_polarity_and_shape():
    img = load_image(_png16())
    assert img.mode.startswith("I")
    p = to_mnist(img)
    assert p.inverted and _bbox_hw(p.image)[0] >= 19


def test_cmyk_jpeg_dark_ink_is_ink():
    p = preprocess_bytes(_cmyk_jpeg())
    assert p.inverted and _bbox_hw(p.image)[0] >= 19


def test_palette_transparency_uses_alpha():
    p = preprocess_bytes(_palette_png_transparent())
    assert p.alpha_used and not p.inverted and _bbox_hw(p.image)[0] >= 19


def test_paths_are_checked_too(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path)  # a directory
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: refused from its size, never read
    with pytest.raises(ImageError, match="MB limit"):
        load_image(big)
    good = tmp_path / "good.png"
    good.write_bytes(_good_png())
    assert load_image(str(good)).size == (60, 80)


def test_loaded_image_is_detached_and_loaded():
    img = load_image(_animated_gif())
    assert getattr(img, "fp", None) is None  # no file handle left open
    assert img.size == (80, 80)


def test_cli_encode_reports_bad_files_without_traceback(tiny_bundle, tmp_path):
    files = {
        "good.png": _good_png(),
        "bad.png": _random_bytes(),
        "empty.png": b"",
        "drawing.svg": _svg(),
        "blank.png": _save(Image.new("L", (64, 64), 255), "PNG"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / n) for n in files] + [str(tmp_path / "missing.png")]
    proc = subprocess.run([sys.executable, "-m", "vae", "encode", "--model", str(tiny_bundle),
                           *paths, "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    results = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    good = results["good.png"]
    assert "error" not in good and len(good["z_mean"]) >= 1 and all(np.isfinite(good["z_mean"]))
    expected = {"bad.png": "not a recognised image", "empty.png": "empty", "drawing.svg": "SVG",
                "blank.png": "no ink", "missing.png": "does not exist"}
    for name, words in expected.items():
        assert words.lower() in results[name]["error"].lower(), results[name]
