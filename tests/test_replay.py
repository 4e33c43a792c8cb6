"""The replay of training (vae.model.replay, the bundle's replay.npz): when its snapshots are taken, what they
hold, and that it ends on the saved model and leaves the training itself unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.bundles import train_tiny
from vae.bundles.bundle import MANIFEST, REPLAY, load_reference, load_replay, read_json, read_training_config
from vae.model.replay import grid_z, loss_count, snapshot_steps

# 1,437 digits in batches of 16: 90 steps, enough for a log-spaced schedule; EMA, so that the saved weights
# are not the last step's.
FLAGS = ("--max-train", "1437", "--batch-size", "16", "--ema", "--ema-momentum", "0.9")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    return train_tiny(root / "with", *FLAGS), train_tiny(root / "without", *FLAGS, "--no-replay")


@pytest.fixture(scope="module")
def replay(trained):
    return load_replay(trained[0])


@pytest.fixture(scope="module")
def digits():
    from vae.inputs.data import load_dataset

    return load_dataset("digits")


def test_the_schedule_is_log_spaced_from_step_zero():
    for total in (90, 314, 28125):
        steps = snapshot_steps(total)
        assert steps[0] == 0 and steps[-1] == total and np.all(np.diff(steps) > 0)
        assert len(steps) == 40 + min(20, total // 1000)
        assert list(steps[:6]) == [0, 1, 2, 3, 4, 5]  # dense early
    assert len(snapshot_steps(28125)) == 60  # a full run
    assert list(snapshot_steps(7)) == list(range(8))  # a run shorter than 40 steps: every step


def test_the_loss_terms_take_the_whole_subset_when_it_is_affordable():
    assert loss_count(1000, 10, images_trained=45 * 20000, snapshots=60) == 1000
    assert loss_count(1000, 10, images_trained=2 * 20000, snapshots=40) == 100
    assert loss_count(1000, 10, images_trained=256, snapshots=9) == 100  # at least 10 of each label


def test_the_grid_is_fixed_and_laid_out():
    z, shape = grid_z(2)
    assert shape == (5, 5) and z.shape == (25, 2)
    assert z[0, 0] < 0 < z[0, 1] and z[-1, 0] > 0 > z[-1, 1]  # top left: low z0, high z1
    assert grid_z(1)[0].shape == (25, 1) and grid_z(1)[1] == (1, 25)
    assert np.array_equal(grid_z(16)[0], grid_z(16)[0]) and grid_z(16)[0].shape == (25, 16)


def test_shapes_and_dtypes(replay, digits):
    t, n = len(replay["step"]), len(replay["indices"])
    assert t == len(snapshot_steps(90)) == 40
    assert replay["z_mean"].shape == replay["z_log_var"].shape == (t, n, 2)
    assert replay["z_mean"].dtype == replay["z_log_var"].dtype == np.float16
    assert replay["grid_decodes"].shape == (t, 25, 28, 28) and replay["grid_decodes"].dtype == np.uint8
    assert replay["grid_z"].shape == (25, 2) and list(replay["grid_shape"]) == [5, 5]
    for name in ("epoch", "loss", "reconstruction_loss", "kl_loss"):
        assert replay[name].shape == (t,) and np.isfinite(replay[name]).all()
    np.testing.assert_allclose(replay["loss"], replay["reconstruction_loss"] + replay["kl_loss"], rtol=1e-6)
    np.testing.assert_allclose(replay["epoch"], replay["step"] / 90)
    # The subset: the whole digits test split (fewer than 100 of each label), every label, no repeats.
    assert n == len(digits.y_test) == len(set(replay["indices"]))
    assert np.array_equal(replay["labels"], digits.y_test[replay["indices"]])
    assert set(replay["labels"]) == set(range(10))


def test_step_zero_comes_before_training(trained, replay, digits):
    import keras

    from vae.model.presets import build_vae

    steps = replay["step"]
    assert steps[0] == 0 and np.all(np.diff(steps) > 0) and steps[-1] == 90
    # Before any update the encoder is its initialisation: z_log_var near 0 (z_std near 1), and its z_mean
    # is that of the same model built afresh with the run's seed.
    assert np.abs(replay["z_log_var"][0]).max() < 0.5
    config = read_training_config(trained[0])
    keras.utils.set_random_seed(config.seed)
    untrained = build_vae(config.model_config, seed=config.seed)
    z_mean, _ = untrained.encoder(digits.x_test[replay["indices"]], training=False)
    np.testing.assert_allclose(replay["z_mean"][0], np.asarray(z_mean), atol=2e-3)
    assert replay["loss"][0] > replay["loss"][-1]


def test_the_last_snapshot_is_the_saved_model(trained, replay):
    ref = load_reference(trained[0])
    idx = replay["indices"]
    assert np.array_equal(replay["z_mean"][-1], ref["z_mean"][idx].astype(np.float16))
    assert np.array_equal(replay["z_log_var"][-1], ref["z_log_var"][idx].astype(np.float16))
    # With EMA the saved weights are an average: the last training step's encodings differ from them.
    assert not np.array_equal(replay["z_mean"][-2], replay["z_mean"][-1])
    assert replay["epoch"][-1] == 1.0


def test_no_replay_writes_none_and_recording_leaves_training_unchanged(trained):
    with_replay, without = trained
    assert load_replay(without) is None and not (without / REPLAY).exists()
    assert REPLAY in read_json(with_replay / MANIFEST)["files"]
    assert REPLAY not in read_json(without / MANIFEST)["files"]
    # The snapshots draw nothing from the training's random streams: the same model either way.
    assert np.array_equal(load_reference(with_replay)["z_mean"], load_reference(without)["z_mean"])
