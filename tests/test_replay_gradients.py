"""The gradients the replay records (vae.model.replay): what reaches each head's output, split into the
reconstruction part and the weighted KL part, checked against hand computations."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests.support.bundles import train_tiny
from vae.bundles.bundle import load_replay
from vae.model.replay import GRADIENTS, head_gradients, kl_weight_at


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    # β = 2 and a KL warm-up over the first epoch's 8 steps: the KL part's weight is the ramp's.
    bundle = train_tiny(tmp_path_factory.mktemp("gradients") / "m", "--beta", "2", "--kl-warmup", "1")
    return load_replay(bundle)


def test_the_kl_weight_follows_beta_and_its_warm_up():
    assert kl_weight_at(SimpleNamespace(beta=5.0, kl_warmup_steps=0), 3) == 5.0
    assert kl_weight_at(SimpleNamespace(beta=5.0, kl_warmup_steps=10), 4) == 2.0
    assert kl_weight_at(SimpleNamespace(beta=5.0, kl_warmup_steps=10), 30) == 5.0


def test_the_reconstruction_gradient_is_the_decoders_by_hand():
    """A linear decoder, logits = z W + b: d(BCE)/d(logits) = sigmoid(logits) - x, so the gradient at z is
    (sigmoid(logits) - x) W^T; it reaches z_mean as it is and z_log_var times ½·z_std·epsilon (z = z_mean
    + exp(½ z_log_var)·epsilon). The KL part is the closed form: z_mean and ½(exp(z_log_var) - 1)."""
    import keras

    rng = np.random.default_rng(0)
    n, d = 4, 2
    weights, bias = rng.normal(0, 0.5, (d, 784)), rng.normal(0, 0.5, 784)
    decoder = keras.Sequential([keras.Input((d,)), keras.layers.Dense(784),
                                keras.layers.Reshape((28, 28, 1))])
    decoder.layers[0].set_weights([weights.astype(np.float32), bias.astype(np.float32)])
    x = (rng.random((n, 28, 28, 1)) > 0.7).astype(np.float32)
    z_mean, z_log_var, epsilon = (rng.normal(0, 1, (n, d)).astype(np.float32) for _ in range(3))
    got = [np.asarray(t, np.float64) for t in head_gradients(decoder, x, z_mean, z_log_var, epsilon)]

    z_std = np.exp(0.5 * z_log_var.astype(np.float64))
    z = z_mean + z_std * epsilon
    logits = z @ weights + bias
    g = (1 / (1 + np.exp(-logits)) - x.reshape(n, -1)) @ weights.T
    np.testing.assert_allclose(got[0], g, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[1], g * 0.5 * z_std * epsilon, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[2], z_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[3], 0.5 * (np.exp(z_log_var.astype(np.float64)) - 1), rtol=1e-5, atol=1e-6)


def test_the_replay_stores_them_for_ten_of_each_label(replay):
    t, d = len(replay["step"]), replay["z_mean"].shape[-1]
    m = 100  # ten of each of the digits' ten labels: the subset's first hundred
    for name in GRADIENTS:
        assert replay[name].shape == (t, m, d) and replay[name].dtype == np.float32
        assert np.isfinite(replay[name]).all()
    assert sorted(np.bincount(replay["labels"][:m])) == [10] * 10
    assert replay["epsilon"].shape == (int(replay["loss_count"]), d)
    # The warm-up ramps the weight from 0 at step 0 to β = 2 after the epoch's 8 steps.
    np.testing.assert_allclose(replay["kl_weight"], 2.0 * np.minimum(1.0, replay["step"] / 8), rtol=1e-6)


def test_the_stored_gradients_follow_the_heads_outputs(replay):
    """At every snapshot: the KL part is the weight times the closed form at the stored outputs, and the
    reconstruction part reaches z_log_var as the part reaching z_mean times ½·z_std·epsilon."""
    m = replay["grad_kl_z_mean"].shape[1]
    z_mean = replay["z_mean"][:, :m].astype(np.float64)  # stored as float16: compare to a few digits
    z_log_var = replay["z_log_var"][:, :m].astype(np.float64)
    weight = replay["kl_weight"][:, None, None]
    np.testing.assert_allclose(replay["grad_kl_z_mean"], weight * z_mean, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(replay["grad_kl_z_log_var"], weight * 0.5 * (np.exp(z_log_var) - 1),
                               rtol=2e-3, atol=2e-3)
    g = replay["grad_reconstruction_z_mean"].astype(np.float64)
    expected = g * 0.5 * np.exp(0.5 * z_log_var) * replay["epsilon"][None, :m]
    np.testing.assert_allclose(replay["grad_reconstruction_z_log_var"], expected, rtol=5e-3,
                               atol=5e-3 * np.abs(g).max())
    # From the first step the two heads get different gradients.
    rec = replay["grad_reconstruction_z_mean"][0], replay["grad_reconstruction_z_log_var"][0]
    assert not np.allclose(*rec)
