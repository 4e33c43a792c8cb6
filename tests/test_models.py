"""Model shapes, layer names, the sampling layer and the loss terms."""

import json
from dataclasses import replace

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from vae.model.config import ModelConfig  # noqa: E402
from vae.model.layers import Sampling  # noqa: E402
from vae.model.losses import kl_loss, kl_per_dim, kl_weight, reconstruction_loss  # noqa: E402
from vae.model.presets import build_vae, probability_decoder  # noqa: E402
from vae.model.training_config import TrainingConfig  # noqa: E402

TINY = dict(dataset="digits", epochs=1, max_train=128, batch_size=32, learning_rate=1e-2, seed=0)


@pytest.mark.parametrize("preset", ["course", "default"])
@pytest.mark.parametrize("latent_dim", [2, 16])
def test_shapes_and_names(preset, latent_dim):
    vae = build_vae(ModelConfig(preset=preset, latent_dim=latent_dim))
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    z_mean, z_log_var = vae.encoder(x)
    assert z_mean.shape == (3, latent_dim) and z_log_var.shape == (3, latent_dim)
    assert vae.decoder(z_mean).shape == (3, 28, 28, 1)
    probs = np.asarray(probability_decoder(vae.decoder)(z_mean))
    assert probs.min() >= 0 and probs.max() <= 1
    names = [layer.name for layer in vae.encoder.layers]
    assert "z_mean" in names and "z_log_var" in names and not any("sigma" in n for n in names)


def test_course_preset_is_the_course_architecture():
    enc = build_vae(ModelConfig(preset="course")).encoder
    kinds = [type(layer).__name__ for layer in enc.layers]
    assert kinds == ["InputLayer", "Conv2D", "BatchNormalization", "Conv2D", "BatchNormalization",
                     "Flatten", "Dense", "BatchNormalization", "Dense", "Dense"]
    convs = [layer for layer in enc.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64] and all(c.strides == (2, 2) for c in convs)
    assert [layer.units for layer in enc.layers if type(layer).__name__ == "Dense"][0] == 20


def test_sampling_is_serializable_and_reparameterized():
    layer = Sampling(seed=1, name="sampling")
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, Sampling) and clone.seed == 1
    z_mean = np.full((20000, 2), [1.0, -2.0], "float32")
    z_log_var = np.full((20000, 2), [np.log(0.25), np.log(4.0)], "float32")
    z = np.asarray(layer([z_mean, z_log_var]))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], atol=0.05)  # std = exp(0.5 * log var)


def test_kl_matches_closed_form_and_is_zero_at_prior():
    z_mean = np.array([[0.0, 0.0], [1.0, -2.0]], "float32")
    z_log_var = np.array([[0.0, 0.0], [np.log(0.5), np.log(2.0)]], "float32")
    kl = np.asarray(kl_loss(z_mean, z_log_var))
    var = np.exp(z_log_var[1])
    expected = 0.5 * np.sum(var + z_mean[1] ** 2 - 1 - np.log(var))
    np.testing.assert_allclose(kl, [0.0, expected], rtol=1e-5)
    assert np.asarray(kl_per_dim(z_mean, z_log_var)).shape == (2, 2)


def test_reconstruction_is_summed_bce_over_pixels():
    rng = np.random.default_rng(0)
    x = rng.random((4, 28, 28, 1)).astype("float32")
    logits = rng.normal(size=(4, 28, 28, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(4, -1).sum(1)
    np.testing.assert_allclose(np.asarray(reconstruction_loss(x, logits)), expected, rtol=1e-4)


def test_config_rejects_absurd_values():
    with pytest.raises(ValueError, match="latent_dim"):
        ModelConfig(latent_dim=0)
    with pytest.raises(ValueError, match="beta"):
        ModelConfig(beta=float("nan"))
    with pytest.raises(ValueError, match="preset"):
        ModelConfig(preset="huge")


def test_augment_shift_trains_and_round_trips_config():
    cfg = ModelConfig(preset="default", latent_dim=2, augment_shift=2)
    vae = build_vae(cfg, seed=0)
    vae.compile(optimizer="adam")
    x = np.zeros((8, 28, 28, 1), "float32")
    x[:, 10:18, 12:16] = 1.0
    history = vae.fit(x, epochs=1, batch_size=4, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="augment_shift"):
        ModelConfig(augment_shift=10)


def test_dropout_is_active_only_while_training():
    cfg = ModelConfig(preset="default", latent_dim=2, dropout=0.5)
    vae = build_vae(cfg, seed=0)
    assert sum(isinstance(layer, keras.layers.Dropout) for m in (vae.encoder, vae.decoder)
               for layer in m.layers) == 2
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    same = [np.asarray(vae.encoder(x, training=False)[0]) for _ in range(2)]
    np.testing.assert_array_equal(*same)  # inference (the ONNX export, the app) is deterministic
    noisy = [np.asarray(vae.encoder(x, training=True)[0]) for _ in range(2)]
    assert not np.allclose(*noisy)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(dropout=1.0)


def test_encoder_and_input_dropout_have_their_own_rates():
    cfg = ModelConfig(preset="default", latent_dim=2, dropout=0.1, encoder_dropout=0.4, input_dropout=0.2)
    vae = build_vae(cfg, seed=0)
    rates = lambda m: [layer.rate for layer in m.layers if isinstance(layer, keras.layers.Dropout)]  # noqa: E731
    assert rates(vae.encoder) == [0.2, 0.4] and rates(vae.decoder) == [0.1]
    assert rates(build_vae(ModelConfig(dropout=0.1, encoder_dropout=0.0)).encoder) == []
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(*[np.asarray(vae.encoder(x, training=False)[0]) for _ in range(2)])
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    older = ModelConfig.from_dict({"preset": "default", "dropout": 0.1})  # a bundle saved before the field
    assert older.encoder_dropout is None
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(input_dropout=-0.1)


def test_ema_saves_the_averaged_weights(tmp_path):
    """With --ema the bundle holds the moving average, not the last step's weights (and the card says so)."""
    from vae.bundles.bundle import CARD_MD, read_training_config
    from vae.bundles.save import load_vae
    from vae.model.train import train

    config = TrainingConfig(preset="course", latent_dim=2, **TINY)
    last, _ = load_vae(train(config, out=tmp_path / "last", verbose=0))
    averaged, _ = load_vae(train(replace(config, ema=True), out=tmp_path / "ema", verbose=0))
    assert read_training_config(tmp_path / "ema").ema and not read_training_config(tmp_path / "last").ema
    assert "weights averaged (EMA, momentum 0.999)" in (tmp_path / "ema" / CARD_MD).read_text()
    assert "weights averaged" not in (tmp_path / "last" / CARD_MD).read_text()
    keras.utils.set_random_seed(0)  # as train() does, so these are the weights training started from
    init = build_vae(config.model_config, seed=0)
    # Four steps at momentum 0.999: the average (started at the first step's weights) lags far behind.
    w_init, w_last, w_ema = (np.concatenate([w.ravel() for w in m.get_weights()])
                             for m in (init, last, averaged))
    moved = np.abs(w_last - w_init).mean()
    assert np.abs(w_ema - w_init).mean() < 0.8 * moved and np.abs(w_ema - w_last).mean() > 0.3 * moved


def test_kl_warmup_ramps_the_kl_weight_to_beta_with_the_step_count():
    assert kl_weight(2.0, 0, 0) == 2.0  # no warm-up: beta from the first step
    for step, weight in ((0, 0.0), (5, 1.0), (10, 2.0), (50, 2.0)):
        assert float(kl_weight(2.0, float(step), 10)) == pytest.approx(weight)


def test_train_step_weighs_the_kl_by_the_warm_up_ramp():
    """A training step weighs the KL by the ramp at the optimizer's step count: at step 0 of a warm-up it
    moves the weights exactly as beta = 0 does, half-way as beta / 2, and after it as beta."""
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).random((8, 28, 28, 1)), tf.float32)

    def one_step(beta: float, warmup_steps: int, at_step: int = 0) -> np.ndarray:
        keras.utils.set_random_seed(0)  # same initial weights and the same epsilon in each model
        vae = build_vae(ModelConfig(preset="course", latent_dim=2, beta=beta), seed=0)
        vae.kl_warmup_steps = warmup_steps
        vae.compile(optimizer=keras.optimizers.SGD(0.1))  # plain SGD: the step count changes nothing else
        vae.optimizer.iterations.assign(at_step)
        vae.train_step(x)
        return np.concatenate([w.numpy().ravel() for w in vae.trainable_weights])

    ramped, without_kl, with_kl = one_step(1.0, 100), one_step(0.0, 0), one_step(1.0, 0)
    np.testing.assert_allclose(ramped, without_kl, atol=1e-6)
    assert np.abs(with_kl - without_kl).max() > 1e-4  # the KL does move the weights when weighed in
    np.testing.assert_allclose(one_step(1.0, 100, at_step=50), one_step(0.5, 0), atol=1e-6)
    np.testing.assert_allclose(one_step(1.0, 100, at_step=100), with_kl, atol=1e-6)


def test_weight_decay_and_warmup_train_and_are_on_the_card(tmp_path):
    """AdamW shrinks the weights: with the same seed and data they end smaller than with Adam."""
    from vae.bundles.bundle import CARD_JSON, CARD_MD, read_json, read_training_config
    from vae.bundles.save import load_vae
    from vae.model.train import train

    config = TrainingConfig(preset="course", latent_dim=2, **TINY)
    decay = replace(config, weight_decay=0.9, kl_warmup=1, average_last=1)
    plain, _ = load_vae(train(config, out=tmp_path / "plain", verbose=0))
    decayed, _ = load_vae(train(decay, out=tmp_path / "wd", verbose=0))
    assert read_training_config(tmp_path / "wd") == decay
    assert read_json(tmp_path / "wd" / CARD_JSON)["averaged_epochs"] == 1
    card = (tmp_path / "wd" / CARD_MD).read_text()
    for words in ("AdamW (weight decay 0.9)", "KL weight ramped", "averaged over the last 1 epoch (SWA)"):
        assert words in card
    norm = lambda m: sum(float(np.sum(w.numpy() ** 2)) for w in m.trainable_weights)  # noqa: E731
    assert norm(decayed) < norm(plain)
    with pytest.raises(ValueError, match="weight_decay"):
        replace(config, weight_decay=-1.0)


def test_decoder_filters_set_the_default_decoders_transposed_convs():
    cfg = ModelConfig(preset="default", latent_dim=2, decoder_filters=(128, 32))
    vae = build_vae(cfg, seed=0)
    convs = [layer.filters for layer in vae.decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert convs == [128, 32]
    assert vae.decoder(np.zeros((1, 2), "float32")).shape == (1, 28, 28, 1)
    assert ModelConfig.from_dict(json.loads(cfg.to_json())) == cfg  # JSON lists come back as the tuple
    assert ModelConfig.from_dict({"preset": "default"}).decoder_filters == (64, 32)  # older bundles
    with pytest.raises(ValueError, match="decoder_filters"):
        ModelConfig(decoder_filters=(0, 32))


def test_weight_average_is_the_mean_of_the_weights_at_the_last_epochs_ends():
    from vae.model.train import weight_average

    vae = build_vae(ModelConfig(preset="course", latent_dim=2))
    vae.compile(optimizer=keras.optimizers.Adam())
    average = weight_average(first_epoch=1)
    average.set_model(vae)
    w0 = [v.numpy() for v in vae.trainable_variables]
    for epoch in range(4):  # weights w0 + epoch at the end of each epoch; epoch 0 is before the window
        for v, w in zip(vae.trainable_variables, w0):
            v.assign(w + epoch)
        average.on_epoch_end(epoch)
    average.apply(vae)
    assert average.count == 3
    for v, w in zip(vae.trainable_variables, w0):
        np.testing.assert_allclose(v.numpy(), w + 2.0, rtol=1e-5, atol=1e-5)  # mean of 1, 2, 3


def test_deep_encoder_is_an_option_of_the_default_preset():
    cfg = ModelConfig(preset="default", latent_dim=2, encoder="deep")
    enc = build_vae(cfg, seed=0).encoder
    convs = [(layer.filters, layer.strides) for layer in enc.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [(32, (1, 1)), (32, (2, 2)), (64, (1, 1)), (64, (2, 2)), (128, (1, 1)), (128, (2, 2))]
    assert [layer.units for layer in enc.layers if isinstance(layer, keras.layers.Dense)] == [256, 2, 2]
    assert ModelConfig.from_dict(json.loads(cfg.to_json())) == cfg
    assert ModelConfig.from_dict({"preset": "default"}).encoder == "wide"  # older bundles
    with pytest.raises(ValueError, match="Unknown encoder"):
        ModelConfig(encoder="huge")
    with pytest.raises(ValueError, match="course preset"):
        ModelConfig(preset="course", encoder="deep")


def test_a_frozen_decoder_runs_without_dropout_while_the_encoder_trains():
    vae = build_vae(ModelConfig(preset="default", latent_dim=2, dropout=0.5, encoder_dropout=0.0), seed=0)
    vae.sampling = lambda args: args[0]  # z = z_mean: the decoder's dropout is the only randomness left
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    trained = [float(vae.loss_terms(x, training=True)[0]) for _ in range(2)]
    assert trained[0] != trained[1]
    vae.decoder.trainable = False
    frozen = [float(vae.loss_terms(x, training=True)[0]) for _ in range(2)]
    assert frozen[0] == frozen[1]


def test_decoder_from_trains_a_new_encoder_for_a_bundles_frozen_decoder(tmp_path, tiny_bundle):
    from vae.bundles.bundle import CARD_JSON, CARD_MD, read_json, read_training_config
    from vae.bundles.save import load_vae
    from vae.model.train import train

    kw = dict(dataset="digits", epochs=1, max_train=64, batch_size=32, seed=0, decoder_from=tiny_bundle)
    out = train(TrainingConfig(preset="default", latent_dim=2, encoder="deep", **kw), out=tmp_path / "refit",
                verbose=0)
    assert read_training_config(out).decoder_from == str(tiny_bundle)
    source, _ = load_vae(tiny_bundle)
    refit, cfg = load_vae(out)
    assert cfg.encoder == "deep"
    for a, b in zip(source.decoder.get_weights(), refit.decoder.get_weights()):
        np.testing.assert_array_equal(a, b)  # the decoder is the source bundle's, untouched by training
    keras.utils.set_random_seed(0)
    untrained = build_vae(ModelConfig(preset="default", latent_dim=2, encoder="deep"), seed=0).encoder
    assert any(not np.array_equal(a, b) for a, b in zip(untrained.get_weights(), refit.encoder.get_weights()))
    card = read_json(out / CARD_JSON)
    assert card["decoder_from"]["name"] == read_json(tiny_bundle / CARD_JSON)["name"]
    assert "only the encoder was trained here" in (out / CARD_MD).read_text()
    with pytest.raises(ValueError, match="does not fit"):
        train(TrainingConfig(preset="default", latent_dim=3, **kw), out=tmp_path / "bad", verbose=0)
    with pytest.raises(ValueError, match="same dataset"):
        train(TrainingConfig(preset="default", latent_dim=2, **{**kw, "dataset": "mnist", "max_train": 8}),
              out=tmp_path / "bad", verbose=0)
