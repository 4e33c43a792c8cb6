"""A picture squared for a model of own images as its dataset's were: cropped, or padded with its edge."""

import numpy as np
from PIL import Image

from vae.inputs import own_images, picture


def _wide_picture() -> Image.Image:
    """120×40: white, with a red square in the middle and a blue bar at the far left."""
    img = np.full((40, 120, 3), 255, np.uint8)
    img[10:30, 50:70] = (220, 30, 30)
    img[:, :6] = (30, 30, 220)
    return Image.fromarray(img)


def test_crop_keeps_the_middle_and_pad_keeps_everything_on_the_edge_colour():
    cropped = picture.to_model_input(_wide_picture(), (32, 32, 3), "crop")
    padded = picture.to_model_input(_wide_picture(), (32, 32, 3), "pad")
    assert cropped.cropped.shape == (40, 40, 3) and padded.cropped.shape == (120, 120, 3)
    # The crop loses the blue bar; the pad keeps it, and fills above and below with the edge's white.
    assert (cropped.image[..., 2] > cropped.image[..., 0] + 0.3).sum() == 0
    assert (padded.image[..., 2] > padded.image[..., 0] + 0.3).sum() > 0
    np.testing.assert_allclose(padded.image[0], 1.0, atol=0.02)
    assert padded.steps[1].startswith("Padded to a square with its edge colour")


def test_a_dataset_and_encode_fit_a_picture_the_same_way():
    for fit in picture.FITS:
        prepared = own_images.fit_image(_wide_picture(), "32-colour", fit)
        encoded = picture.to_model_input(_wide_picture(), (32, 32, 3), fit).image
        np.testing.assert_array_equal(prepared.astype(np.float32) / 255.0, encoded)
        grey = own_images.fit_image(_wide_picture(), "28-grey", fit)
        assert grey.shape == (28, 28, 1)
        np.testing.assert_array_equal(grey[..., 0].astype(np.float32) / 255.0,
                                      picture.to_model_input(_wide_picture(), (28, 28, 1), fit).image)
