"""Colour and larger images (issue 27, item 2): the colour preset, training at 32x32x3 and 64x64x3 on shapes
the tests draw, the ONNX export against Keras, and what a bundle serves."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.support.colour import SHAPES, make_shapes_dataset, shapes_arrays, train_colour
from tests.support.pages import open_page


def test_the_colour_preset_takes_32_and_64_pixel_images_and_says_why_not_28():
    from vae.model.config import ModelConfig

    for side in (32, 64):
        assert ModelConfig(preset="colour", image_shape=(side, side, 3)).image_shape == (side, side, 3)
    with pytest.raises(ValueError, match="colour preset takes 32 or 64"):
        ModelConfig(preset="colour", image_shape=(28, 28, 3))
    with pytest.raises(ValueError, match="image_shape must be square"):
        ModelConfig(image_shape=(30, 30, 3))
    assert ModelConfig().image_shape == (28, 28, 1)  # MNIST's models as they were


def test_a_training_config_takes_a_prepared_datasets_image_shape():
    from vae.model.training_config import TrainingConfig

    name = make_shapes_dataset("config64", 64, n_train=8, n_test=8)
    config = TrainingConfig(dataset=name, preset="colour", epochs=1)
    assert config.image_shape == (64, 64, 3) and config.model_config.image_shape == (64, 64, 3)
    assert TrainingConfig.from_json(config.to_json()) == config
    assert TrainingConfig(dataset="digits", epochs=1).image_shape == (28, 28, 1)
    with pytest.raises(ValueError, match="No prepared dataset 'own/nowhere'"):
        TrainingConfig(dataset="own/nowhere", epochs=1)


def test_a_colour_gallery_keeps_its_colours():
    from vae.inputs.data import gallery, load_dataset

    data = load_dataset(make_shapes_dataset("gallery32", 32, n_train=8, n_test=40))
    shown = gallery(data, per_label=3)
    assert shown["images"].shape == (12, 32, 32, 3) and shown["images"].dtype == np.uint8
    assert np.array_equal(shown["images"], np.round(data.x_test[shown["indices"]] * 255).astype(np.uint8))


def test_colour_pictures_are_rgb_pngs():
    from explorer import pictures as pics

    images, _ = shapes_arrays(4, 32)
    grid = pics.compose_grid(images / 255.0, 2, 2, gap=1)
    assert grid.shape == (65, 65, 3)
    png = Image.open(io.BytesIO(pics.to_png(grid, 2)))
    assert png.mode == "RGB" and png.size == (130, 130)
    assert Image.open(io.BytesIO(pics.to_png(np.zeros((28, 28))))).mode == "L"  # grey stays grey


def test_the_colour_bundle_serves_colour(colour_bundle):
    from vae.bundles.bundle import load_gallery, load_replay, read_json
    from vae.bundles.serving import ServedModel

    served = ServedModel(colour_bundle)
    assert served.image_shape == (32, 32, 3) and served.colour
    assert served.decode(np.zeros((3, 2))).shape == (3, 32, 32, 3)
    x, _ = shapes_arrays(5, 32)
    z_mean, z_log_var = served.encode(x / 255.0)
    assert z_mean.shape == z_log_var.shape == (5, 2)
    assert load_gallery(colour_bundle)["images"].shape[1:] == (32, 32, 3)
    assert load_replay(colour_bundle)["grid_decodes"].shape[2:] == (32, 32, 3)
    card = read_json(colour_bundle / "card.json")
    assert card["image_shape"] == [32, 32, 3] and card["likelihood"].startswith("Bernoulli")
    assert "Images and likelihood:** 32×32 colour" in (colour_bundle / "MODEL_CARD.md").read_text()
    assert np.isfinite(card["test_metrics"]["neg_elbo"])


def _onnx_against_keras(bundle) -> float:
    """The largest difference between the bundle's ONNX decoder and encoder and its Keras model."""
    from vae.bundles.save import load_vae
    from vae.bundles.serving import ServedModel
    from vae.model.presets import probability_decoder

    vae, cfg = load_vae(bundle)
    served = ServedModel(bundle)
    z = np.random.default_rng(0).normal(size=(6, cfg.latent_dim)).astype(np.float32)
    keras_images = np.asarray(probability_decoder(vae.decoder)(z, training=False))
    x, _ = shapes_arrays(6, cfg.image_shape[0], seed=3)
    x = (x / 255.0).astype(np.float32)
    keras_z_mean = np.asarray(vae.encoder(x, training=False)[0])
    return max(float(np.abs(keras_images - served.decode(z)).max()),
               float(np.abs(keras_z_mean - served.encode(x)[0]).max()))


# The menu's pages that show a model (Train and Import show the visitor's jobs instead).
PAGES = ["pages/home.py", "pages/latent_map.py", "pages/decoder.py", "pages/encode.py",
         "pages/how_it_works.py", "pages/compare.py", "pages/directions.py", "pages/interpolate.py"]


@pytest.mark.slow
@pytest.mark.parametrize("side", [32, 64])
def test_one_epoch_at_each_colour_size_exports_onnx_that_matches_keras(side, tmp_path):
    name = make_shapes_dataset(f"train{side}", side, n_train=256, n_test=64)
    bundle = train_colour(tmp_path / f"colour{side}", name, "--latent-dim", "4", "--batch-size", "32")
    from vae.bundles.bundle import read_json

    assert read_json(bundle / "config.json")["image_shape"] == [side, side, 3]
    assert read_json(bundle / "training_config.json")["image_shape"] == [side, side, 3]
    assert _onnx_against_keras(bundle) < 1e-4
    labels = read_json(bundle / "card.json")
    assert labels["dataset"] == name and labels["n_train"] == 256
    assert len(SHAPES) == 4
    # Every page explores the model at its size (tests/test_app_colour.py looks closer, at 32×32).
    for page in PAGES:
        at = open_page(page, str(bundle))
        said = " ".join(str(e.value) for kind in ("markdown", "caption", "subheader") for e in at.get(kind))
        # (Compare puts it beside a digit model, whose own sentences rightly say "digit".)
        assert page == "pages/compare.py" or "digit" not in said.lower(), page


def test_encoding_a_file_with_a_colour_model_crops_and_resizes_it(colour_bundle, tmp_path):
    from vae.bundles.serving import ServedModel, encode_files
    from vae.inputs.picture import to_model_input

    picture = Image.new("RGB", (60, 40), (220, 120, 40))
    picture.save(tmp_path / "wide.png")
    entry = encode_files(colour_bundle, [str(tmp_path / "wide.png")])[0]
    fitted = to_model_input(picture, (32, 32, 3))
    assert fitted.cropped.shape == (40, 40, 3) and fitted.image.shape == (32, 32, 3)
    z_mean = ServedModel(colour_bundle).encode(fitted.image[None])[0][0]
    assert np.allclose(entry["z_mean"], z_mean, atol=1e-5)


def test_the_replays_grid_of_a_colour_model_is_in_colour():
    import base64

    from explorer.replay_figure import grid_png

    decodes, _ = shapes_arrays(4, 32)
    url = grid_png(decodes, (2, 2))
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert picture.mode == "RGB" and picture.size == (65, 65)
    assert np.array_equal(np.asarray(picture)[33:, 33:], decodes[3])  # each tile its own colours
    grey = Image.open(io.BytesIO(base64.b64decode(grid_png(decodes[..., 0], (2, 2)).split(",", 1)[1])))
    assert grey.mode == "L" and np.array_equal(np.asarray(grey)[:32, :32], 255 - decodes[0, ..., 0])
