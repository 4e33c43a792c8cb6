"""MNIST-style preprocessing on hand-made images: polarity, alpha as ink, crop/scale/centre, blanks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae.inputs.preprocess import ImageError, Preprocessed, preprocess_bytes, to_mnist


def _digit_one(size=(120, 160), ink=0, paper=255, width=14) -> Image.Image:
    """A synthetic handwritten "1": a slanted stroke with a small flag, in mode L."""
    w, h = size
    img = Image.new("L", size, paper)
    d = ImageDraw.Draw(img)
    d.line([(w * 0.55, h * 0.15), (w * 0.45, h * 0.85)], fill=ink, width=width)
    d.line([(w * 0.55, h * 0.15), (w * 0.40, h * 0.30)], fill=ink, width=width // 2)
    return img


def _com(a: np.ndarray) -> tuple[float, float]:
    yy, xx = np.indices(a.shape)
    m = a.sum()
    return float((yy * a).sum() / m), float((xx * a).sum() / m)


def _bbox(a: np.ndarray, thr: float = 0.05) -> tuple[int, int]:
    """(height, width) of the pixels above thr."""
    nz = np.argwhere(a > thr)
    return tuple(int(v) for v in nz.max(0) - nz.min(0) + 1)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_output_types_shapes_and_range():
    p = to_mnist(_digit_one())
    assert isinstance(p, Preprocessed)
    assert p.image.shape == (28, 28) and p.image.dtype == np.float32
    assert p.gray.dtype == np.float32 and p.cropped.dtype == np.float32
    assert p.original.dtype == np.uint8 and p.original.shape == (160, 120, 3)
    assert p.gray.shape == (160, 120)
    for a in (p.image, p.gray, p.cropped):
        assert np.isfinite(a).all() and a.min() >= 0.0 and a.max() <= 1.0
    assert p.image.max() > 0.9  # full-strength ink, like MNIST's 255
    assert not p.image.flags.writeable  # shared results are read-only


def test_dark_on_light_is_inverted_to_white_on_black():
    p = to_mnist(_digit_one(ink=0, paper=255))
    assert p.inverted and not p.alpha_used
    # Corners are background (black), the stroke is ink (white).
    assert p.image[0, 0] == 0 and p.image[-1, -1] == 0
    assert p.image[14, 14] > 0.5 or p.image[13:16, 12:17].max() > 0.8
    assert p.gray[0, 0] == 0 and p.gray.max() == pytest.approx(1.0)


def test_light_on_dark_is_not_inverted():
    p = to_mnist(_digit_one(ink=255, paper=0))
    assert not p.inverted and not p.alpha_used
    assert p.image[0, 0] == 0 and p.image.max() > 0.9


def test_both_polarities_give_the_same_result():
    a = to_mnist(_digit_one(ink=0, paper=255)).image
    b = to_mnist(_digit_one(ink=255, paper=0)).image
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_grey_paper_and_faint_ink_are_normalised():
    """Pencil on grey paper: the paper becomes 0, the ink full strength."""
    p = to_mnist(_digit_one(ink=110, paper=170))
    assert p.inverted
    assert p.image[0, 0] == 0 and p.image.max() > 0.9


def test_paper_texture_is_not_ink():
    rng = np.random.default_rng(0)
    img = np.asarray(_digit_one(), np.float32)
    img = np.clip(img - rng.uniform(0, 25, img.shape), 0, 255).astype(np.uint8)  # speckled paper
    p = to_mnist(Image.fromarray(img))
    clean = to_mnist(_digit_one())
    # The texture did not grow the bounding box to the whole page.
    assert p.cropped.shape[0] < 0.9 * img.shape[0] and p.cropped.shape[1] < 0.9 * img.shape[1]
    assert np.abs(p.image - clean.image).mean() < 0.05


def test_alpha_only_ink_uses_alpha():
    """Transparent background, black strokes, and RGB black everywhere (as many apps save it)."""
    alpha = np.asarray(_digit_one(ink=255, paper=0))
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., 3] = alpha
    p = to_mnist(Image.fromarray(rgba, mode="RGBA"))
    assert p.alpha_used and not p.inverted
    assert p.image.max() > 0.9 and p.image[0, 0] == 0
    # Same digit as the opaque version.
    np.testing.assert_allclose(p.image, to_mnist(_digit_one()).image, atol=1e-5)
    # Shown on a checkerboard, so the black strokes are visible where it is transparent.
    assert p.original[0, 0].min() > 100


def test_opaque_alpha_is_ignored():
    rgba = _digit_one().convert("RGBA")  # alpha 255 everywhere: not meaningful
    p = to_mnist(rgba)
    assert not p.alpha_used and p.inverted


def test_off_centre_blob_is_centred_and_scaled_to_20():
    img = Image.new("L", (300, 200), 0)
    ImageDraw.Draw(img).ellipse([(10, 20), (70, 60)], fill=255)  # 61 x 41 blob in the top-left corner
    p = to_mnist(img)
    cy, cx = _com(p.image)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    h, w = _bbox(p.image)
    assert max(h, w) in (19, 20, 21) and 12 <= min(h, w) <= 15  # aspect ratio kept (41/61*20 = 13.4)
    assert p.cropped.shape == (41, 61)


def test_centre_of_mass_not_bounding_box_centre():
    """A lopsided shape: the centre of mass, not the box centre, goes to (14, 14)."""
    img = Image.new("L", (100, 100), 0)
    d = ImageDraw.Draw(img)
    d.rectangle([(10, 10), (60, 14)], fill=255)  # heavy top bar
    d.rectangle([(33, 14), (37, 90)], fill=255)  # thin stem
    p = to_mnist(img)
    cy, cx = _com(p.image)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    rows = np.flatnonzero(p.image.max(1) > 0.05)
    assert (rows[0] + rows[-1]) / 2 > 14.5  # box pushed down so the heavy top sits at the centre


def test_centring_shift_is_clipped_so_nothing_falls_off():
    img = Image.new("L", (100, 100), 0)
    d = ImageDraw.Draw(img)
    d.rectangle([(10, 10), (60, 40)], fill=255)  # so heavy that centring would push the stem out
    d.rectangle([(33, 40), (37, 90)], fill=255)
    p = to_mnist(img)
    rows = np.flatnonzero(p.image.max(1) > 0)
    assert rows[-1] == 27  # pushed to the bottom edge, not beyond
    ch, cw = p.cropped.shape
    scaled = Image.fromarray(p.cropped, "F").resize((round(cw * 20 / ch), 20), Image.Resampling.LANCZOS)
    assert p.image.sum() == pytest.approx(np.asarray(scaled).clip(0, 1).sum(), rel=1e-4)  # no ink lost
    assert _com(p.image)[0] < 14  # as close as the clipping allows


def test_tall_thin_shape_stays_inside():
    img = Image.new("L", (50, 400), 255)
    ImageDraw.Draw(img).rectangle([(20, 10), (28, 390)], fill=0)
    p = to_mnist(img)
    assert _bbox(p.image)[0] in (19, 20, 21)
    assert p.image[0].max() == 0 and p.image[-1].max() == 0  # nothing fell off


def test_synthetic_one_round_trips_like_mnist():
    """A "1" already in MNIST form (28x28, white on black, 20 px tall) comes back almost unchanged."""
    big = _digit_one(size=(60, 80), ink=255, paper=0, width=7)
    first = to_mnist(big).image
    again = to_mnist(Image.fromarray((first * 255).round().astype(np.uint8))).image
    assert np.abs(again - first).mean() < 0.03
    assert np.corrcoef(again.ravel(), first.ravel())[0, 1] > 0.95
    # A "1" is tall and narrow, and its ink is a small fraction of the field like MNIST's (~19%).
    h, w = _bbox(first)
    assert h in (19, 20, 21) and w < 15
    assert 0.03 < (first > 0.5).mean() < 0.3


def test_preprocess_bytes_matches_to_mnist():
    img = _digit_one()
    np.testing.assert_array_equal(preprocess_bytes(_png(img)).image, to_mnist(img).image)


@pytest.mark.parametrize("img", [
    Image.new("L", (64, 64), 255),
    Image.new("L", (64, 64), 0),
    Image.new("RGB", (64, 64), (120, 30, 200)),
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)),
    Image.fromarray((np.random.default_rng(1).uniform(240, 255, (64, 64))).astype(np.uint8)),
], ids=["white", "black", "colour", "transparent", "faint-noise"])
def test_blank_image_has_no_ink(img):
    with pytest.raises(ImageError, match="no ink"):
        to_mnist(img)


def test_single_speck_is_no_ink():
    a = np.full((100, 100), 255, np.uint8)
    a[50, 50] = 0
    with pytest.raises(ImageError, match="no ink"):
        to_mnist(Image.fromarray(a))


@pytest.mark.parametrize("size", [(1, 1), (1, 5000), (5000, 1), (7, 100)])
def test_too_small_image(size):
    with pytest.raises(ImageError, match="too small"):
        to_mnist(Image.new("L", size, 0))


def test_large_image_is_processed_at_bounded_resolution():
    img = _digit_one(size=(3000, 2000), width=200)
    p = to_mnist(img)
    assert max(p.gray.shape) <= 1024 and p.original.shape[:2] == p.gray.shape
    np.testing.assert_allclose(p.image, to_mnist(_digit_one(size=(300, 200), width=20)).image, atol=0.15)


# ----------------------------------------------------------------------------- stroke width (the canvas)


def _upsampled_width(image: np.ndarray, k: int = 8) -> float:
    """Stroke width of a 28x28 image in its own pixels, measured as MNIST_STROKE was: upsampled k times."""
    from vae.inputs.preprocess import stroke_width

    big = Image.fromarray(np.asarray(image, np.float32), "F").resize((28 * k, 28 * k),
                                                                     Image.Resampling.BICUBIC)
    return stroke_width(np.asarray(big)) / k


@pytest.mark.parametrize("width", [8, 16, 30])
def test_stroke_width_measures_a_pen(width):
    from vae.inputs.preprocess import stroke_width

    img = Image.new("L", (300, 300), 0)
    d = ImageDraw.Draw(img)
    d.line([(40, 60), (260, 220)], fill=255, width=width)
    d.ellipse([(60, 20), (200, 160)], outline=255, width=width)
    assert stroke_width(np.asarray(img, np.float32) / 255) == pytest.approx(width, abs=1)
    assert stroke_width(np.zeros((20, 20))) == 0


def _ring(size: int, pen: int) -> Image.Image:
    """A "0" `size` px tall drawn with a `pen` px wide pen on a 280x280 black canvas, as the Encode page's."""
    img = Image.new("L", (280, 280), 0)
    top = (280 - size) // 2
    ImageDraw.Draw(img).ellipse([(140 - size * 0.35, top), (140 + size * 0.35, top + size)], outline=255,
                                width=pen)
    return img


@pytest.mark.parametrize("size", [100, 160, 220, 260])
def test_stroke_is_set_to_the_target_whatever_the_drawing_size(size):
    """One pen makes a digit drawn large thin-stroked at 28x28 and one drawn small bold; with stroke=...
    both come out with that width, and the width they had is reported."""
    from vae.inputs.preprocess import MNIST_STROKE

    pen = 18
    as_drawn = to_mnist(_ring(size, pen))
    assert as_drawn.stroke_width is None  # the default leaves strokes alone
    set_ = to_mnist(_ring(size, pen), stroke=MNIST_STROKE)
    assert _upsampled_width(set_.image) == pytest.approx(MNIST_STROKE, abs=0.3)
    assert set_.stroke_width == pytest.approx(pen * 20 / size, rel=0.15)  # the width before, at 28x28
    # Still a 20 px box centred by its mass, and the ring is still open in the middle.
    assert _bbox(set_.image)[0] in (19, 20, 21)
    cy, cx = _com(set_.image)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    assert set_.image[12:17, 12:17].max() < 0.05


def test_strokes_can_be_thinned():
    p = to_mnist(_ring(200, 40), stroke=2.0)
    assert p.stroke_width == pytest.approx(40 * 20 / 200, rel=0.15)
    assert _upsampled_width(p.image) == pytest.approx(2.0, abs=0.3)


@pytest.mark.parametrize("stroke", [0, -1, 10, 25])
def test_impossible_stroke_is_refused(stroke):
    with pytest.raises(ValueError, match="stroke"):
        to_mnist(_ring(200, 18), stroke=stroke)
