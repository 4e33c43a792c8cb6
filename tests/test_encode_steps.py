"""Encode's preprocessing pictures: every step at its own aspect ratio, all at one height (issue 23)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.support.pages import open_page
from tests.support.pictures import thin_one_png


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as img:
        return img.size


def test_step_sizes_share_one_height_and_keep_each_aspect():
    from explorer.sections.encode import step_sizes
    from vae.inputs.preprocess import preprocess_bytes

    pre = preprocess_bytes(thin_one_png())
    pictures = [pre.original, pre.gray, pre.cropped, pre.image]
    assert pre.cropped.shape[0] > 3 * pre.cropped.shape[1]  # the crop of a "1" is thin
    height, widths = step_sizes(pictures)
    assert height > 0
    for picture, width in zip(pictures, widths):
        aspect = picture.shape[1] / picture.shape[0]
        assert abs(width / height - aspect) <= 1 / height + 1e-9, (width, height, picture.shape)
    assert widths[2] < widths[3] / 3  # the crop is drawn thin, not stretched to a square's width


def test_a_very_wide_picture_lowers_the_common_height():
    from explorer.sections.encode import STEP_MAX_WIDTH, step_sizes

    height, widths = step_sizes([np.zeros((10, 200)), np.zeros((28, 28))])
    assert max(widths) <= STEP_MAX_WIDTH and widths[1] == height


def test_at_height_keeps_the_aspect_ratio_and_enlarges_sharply():
    from explorer.pictures import at_height

    crop = np.zeros((40, 8), np.float32)
    crop[:, 3:5] = 1.0
    png = at_height(crop, 200)
    assert _size(png) == (40, 200)
    with Image.open(io.BytesIO(png)) as img:
        values = set(np.asarray(img).ravel().tolist())
    assert values == {0, 255}  # nearest-neighbour: no blur of grey between ink and paper
    assert _size(at_height(np.zeros((400, 300, 3), np.uint8), 280)) == (210, 280)


def test_the_page_shows_a_thin_digits_steps_at_one_height(monkeypatch):
    """What Encode sends for a photographed "1": each step's PNG at the same height, at its own aspect."""
    from explorer import pictures
    from vae.inputs.preprocess import preprocess_bytes

    made = []
    real = pictures.at_height

    def spy(image, height):
        png = real(image, height)
        made.append((np.asarray(image).shape[:2], _size(png)))
        return png

    monkeypatch.setattr(pictures, "at_height", spy)
    at = open_page("pages/encode.py")
    at.file_uploader(key="encode_upload").upload("one.png", thin_one_png(), "image/png")
    at.run()
    assert not at.exception, at.exception
    pre = preprocess_bytes(thin_one_png())
    shapes = [pre.original.shape[:2], pre.gray.shape, pre.cropped.shape, pre.image.shape]
    assert [shape for shape, _ in made] == shapes  # no "removed" picture for this clean photo
    heights = {size[1] for _, size in made[-4:]}
    assert len(heights) == 1, made
    for (h, w), (png_w, png_h) in made[-4:]:
        assert abs(png_w / png_h - w / h) <= 1 / png_h + 1e-9
    shown = [i.proto.imgs[0].alt for i in at.get("image")][:4]
    assert shown[2].startswith("your digit: cropped to the ink") and shown[3].startswith("your digit: 28×28")
