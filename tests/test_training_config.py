"""The training config (vae.model.training_config): checks, the JSON file and its version, the recipe line."""

import json
from dataclasses import fields, replace

import pytest

from vae.model.config import ModelConfig
from vae.model.training_config import FORMAT_VERSION, TrainingConfig

BASE = dict(dataset="digits", epochs=10)


def test_json_round_trip_and_the_file_format():
    config = TrainingConfig(**BASE, preset="default", encoder="deep", latent_dim=16,
                            decoder_filters=(128, 32), ema=True, average_last=5,
                            decoder_from="models/mnist-2d", max_train=256)
    text = config.to_json()
    assert TrainingConfig.from_json(text) == config
    raw = json.loads(text)
    assert list(raw)[0] == "format_version" and raw["format_version"] == FORMAT_VERSION
    assert raw["decoder_filters"] == [128, 32]
    assert set(raw) == {"format_version", *(f.name for f in fields(TrainingConfig))}


def test_keys_a_file_lacks_take_their_defaults():
    read = TrainingConfig.from_dict({"dataset": "digits", "epochs": 3})
    assert read == TrainingConfig(dataset="digits", epochs=3)
    with pytest.raises(ValueError, match="A training config needs dataset and epochs"):
        TrainingConfig.from_dict({"beta": 2.0})


def test_unknown_keys_are_typos_unless_a_newer_version_wrote_the_file():
    with pytest.raises(ValueError, match="Unknown training-config key learning_rat: choose from"):
        TrainingConfig.from_dict({**BASE, "learning_rat": 0.1})
    with pytest.raises(ValueError, match="Unknown training-config keys a, b"):
        TrainingConfig.from_dict({**BASE, "format_version": FORMAT_VERSION, "b": 1, "a": 2})
    newer = TrainingConfig.from_dict({**BASE, "format_version": FORMAT_VERSION + 1, "warp_drive": True})
    assert newer == TrainingConfig(**BASE)
    for version in (0, "1", 1.5, True):
        with pytest.raises(ValueError, match="format_version must be a whole number"):
            TrainingConfig.from_dict({**BASE, "format_version": version})
    with pytest.raises(ValueError, match="a JSON object"):
        TrainingConfig.from_json("[1, 2]")


def test_read_names_the_file(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="recipe.json: Expecting property name"):
        TrainingConfig.read(path)
    path.write_text(TrainingConfig(**BASE, seed=3).to_json())
    assert TrainingConfig.read(path).seed == 3


@pytest.mark.parametrize("bad, says", [
    (dict(latent_dim=65), "latent_dim must be between 1 and 64"),
    (dict(latent_dim="2"), "latent_dim must be a number"),
    (dict(seed=1.5), "seed must be a whole number"),
    (dict(epochs=float("nan")), "epochs must be a whole number"),
    (dict(weight_decay=2.0), "weight_decay must be between"),
    (dict(kl_warmup=501), "kl_warmup must be between"),
    (dict(augment_shift=5), "augment_shift must be between"),
    (dict(input_dropout=1.0), "dropout must be between"),
    (dict(encoder_dropout=-0.1), "dropout must be between"),
    (dict(decoder_filters=(0, 32)), "decoder_filters must be two numbers"),
    (dict(decoder_filters="64,32"), "decoder_filters must be two numbers"),
    (dict(average_last=11), r"average_last must be between 0 and epochs \(10\)"),
    (dict(ema_momentum=1.0), "ema_momentum must be between 0 and 1"),
    (dict(max_train=True), "max_train must be a whole number of at least 1"),
    (dict(decoder_from=""), "decoder_from must be the path of a model bundle"),
    (dict(dataset="cifar"), "Unknown dataset 'cifar'"),
])
def test_bad_values_say_what_is_wrong(bad, says):
    with pytest.raises(ValueError, match=says):
        TrainingConfig(**{**BASE, **bad})


def test_numbers_are_stored_as_their_kind():
    config = TrainingConfig(dataset="digits", epochs=2.0, beta=1, decoder_filters=[64.0, 32], max_train=8)
    assert (type(config.epochs), type(config.beta), config.decoder_filters) == (int, float, (64, 32))
    assert hash(config) == hash(TrainingConfig(dataset="digits", epochs=2, max_train=8))


def test_the_model_config_is_the_recipes_model():
    model_fields = {f.name for f in fields(ModelConfig)} - {"image_shape"}
    assert model_fields <= {f.name for f in fields(TrainingConfig)}  # one name, one meaning
    config = TrainingConfig(**BASE, preset="default", latent_dim=3, beta=0.5, dropout=0.1, encoder="deep")
    assert config.model_config == ModelConfig(preset="default", latent_dim=3, beta=0.5, dropout=0.1,
                                              encoder="deep")


def test_the_recipe_line():
    plain = TrainingConfig(**BASE)
    assert plain.describe() == "Adam, learning rate 0.001 with cosine decay, batch 128, seed 0"
    rich = replace(plain, weight_decay=0.1, kl_warmup=1, dropout=0.1, encoder_dropout=0.4, input_dropout=0.2,
                   decoder_filters=(128, 32), encoder="deep", augment_shift=1, ema=True, average_last=3)
    assert rich.describe(averaged_epochs=2) == (
        "AdamW (weight decay 0.1), learning rate 0.001 with cosine decay, batch 128, "
        "KL weight ramped from 0 over the first 1 epoch, "
        "dropout 0.1 after the decoder's hidden Dense layer, dropout 0.4 after the encoder's, "
        "the deep encoder (6 convolutions, a 256-unit Dense layer), "
        "decoder's transposed convolutions with 128 and 32 filters, "
        "20% of the encoder's input pixels dropped, training images shifted at random by up to 1 px, "
        "weights averaged (EMA, momentum 0.999), "
        "saved weights averaged over the last 2 epochs (SWA), seed 0")
