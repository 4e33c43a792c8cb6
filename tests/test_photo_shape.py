"""A photo's digit against MNIST's shape: thin pen strokes thickened into MNIST's range (thick ones kept), a
slant beyond any MNIST digit's turned back (moments), and MNIST's own digits left exactly as they are."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from vae.inputs import shape
from vae.inputs.preprocess import to_mnist


def _ring(pen: int, side: int = 200) -> Image.Image:
    """A "0": an ellipse drawn in black with a pen `pen` px wide on white paper, 160 px tall."""
    img = Image.new("L", (side, side), 255)
    ImageDraw.Draw(img).ellipse([55, 20, 145, 180], outline=0, width=pen)
    return img


def _width_at_28(crop: np.ndarray) -> float:
    return shape.stroke_width(crop) * shape.BOX_SIDE / max(crop.shape)


def test_thin_strokes_are_thickened_into_mnists_range():
    pre = to_mnist(_ring(3))  # 3 px in a 160 px tall digit: 0.4 px at 28x28, MNIST's thinnest are 1.5
    assert any(n.startswith("thickened thin strokes (from 0.") for n in pre.notes), pre.notes
    assert _width_at_28(pre.cropped) == pytest.approx(shape.THIN_TARGET, abs=0.3)


@pytest.mark.parametrize("pen", [20, 36])
def test_thick_strokes_keep_their_thickness(pen):
    """2.5 and 4.5 px at 28x28: within or above MNIST's range, untouched, and the bolder stays bolder."""
    pre = to_mnist(_ring(pen))
    assert not any("thickened" in n for n in pre.notes)
    crop = np.asarray(pre.cropped)
    assert shape.thicken_thin(crop) == (crop, None)
    assert _width_at_28(crop) == pytest.approx(pen * 20 / 160, rel=0.15)


def test_thin_stroke_rule_leaves_small_crops_alone():
    """At 28x28 a stroke cannot be measured finer than a pixel: an MNIST-sized crop is never changed."""
    crop = np.zeros((20, 12), np.float32)
    crop[:, 5] = 1
    out, before = shape.thicken_thin(crop)
    assert before is None and out is crop


def _one(degrees: float, side: int = 240) -> Image.Image:
    """A "1" (a bar with a flag) on white paper, turned by `degrees` (ndimage.rotate's sense)."""
    ink = np.zeros((side, side), np.float32)
    ink[40:200, 112:128] = 1
    ink[40:60, 92:112] = 1
    turned = np.clip(ndimage.rotate(ink, degrees, reshape=False, order=1), 0, 1)
    return Image.fromarray(((1 - turned) * 255).round().astype(np.uint8))


def test_skew_measures_the_slant():
    bar = np.zeros((100, 100))
    bar[10:90, 45:55] = 1
    assert shape.skew(bar) == pytest.approx(0, abs=1e-9)
    sheared = np.zeros((100, 100))
    for y in range(10, 90):  # x moves 0.5 px right per row down
        sheared[y, 25 + y // 2:35 + y // 2] = 1
    assert shape.skew(sheared) == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("degrees", [-45, 45])
def test_a_digit_turned_beyond_mnists_slant_is_deskewed(degrees):
    pre = to_mnist(_one(degrees))
    notes = [n for n in pre.notes if n.startswith("deskewed by")]
    assert len(notes) == 1, pre.notes
    turned = float(notes[0].split()[2].rstrip("°"))
    assert 0 < turned < abs(degrees)  # back into MNIST's range, not all the way upright
    lo, hi = shape.SKEW_RANGE
    assert lo - 0.05 <= shape.skew(np.asarray(pre.image)) <= hi + 0.05
    assert shape.skew(np.asarray(to_mnist(_one(0)).image)) == pytest.approx(0, abs=0.1)


@pytest.mark.parametrize("degrees", [0, -15, 15])
def test_a_slant_mnist_digits_have_is_kept(degrees):
    pre = to_mnist(_one(degrees))
    assert not any("deskewed" in n for n in pre.notes), pre.notes


def test_a_28_pixel_digit_is_never_deskewed():
    """A digit already 28x28 is MNIST-like input, not a photo: whatever its slant, it goes through as is."""
    ink = np.zeros((28, 28), np.float32)
    ink[4:24, 13:15] = 1
    turned = np.clip(ndimage.rotate(ink, 40, reshape=False, order=1), 0, 1)
    pre = to_mnist(Image.fromarray((turned * 255).round().astype(np.uint8)))
    assert pre.notes == ()


def test_an_mnist_digit_goes_through_as_it_is():
    """MNIST's digits keep their faint anti-aliased edges: to_mnist gives the digit back."""
    from vae.inputs.data import DataUnavailable, load_dataset

    try:
        ds = load_dataset("mnist", allow_download=False)
    except DataUnavailable:
        pytest.skip("MNIST's IDX files are not on this machine ($VAE_DATA_DIR)")
    for digit in ds.x_test[:20, :, :, 0]:
        u8 = (digit * 255).round().astype(np.uint8)
        out = to_mnist(Image.fromarray(u8)).image
        assert np.abs(out - u8 / 255).max() <= 1.5 / 255  # Lanczos at scale 1 rounds by a level at most
