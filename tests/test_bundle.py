"""Bundle round trip (every weight equal, same outputs), ONNX parity, and atomic saving."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    CONFIG,
    DECODER_ONNX,
    ENCODER_ONNX,
    HISTORY,
    MANIFEST,
    METRICS,
    REFERENCE,
    REPLAY,
    REPO_ROOT,
    SHIPPED_DIR,
    TRAINING_CONFIG,
    WEIGHTS,
    BundleError,
    atomic_bundle_dir,
    check_bundle,
    is_bundle,
    list_bundles,
    read_json,
    read_training_config,
    recipe_text,
    render_card,
)

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from vae.bundles.save import save_bundle
    from vae.model.presets import build_vae
    from vae.model.training_config import TrainingConfig

    training = TrainingConfig(dataset="digits", epochs=1, preset="course", latent_dim=3, beta=0.5, seed=1)
    cfg = training.model_config
    vae = build_vae(cfg, seed=1)
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32")
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=8, verbose=0)  # move BatchNorm statistics off their defaults
    out = tmp_path_factory.mktemp("b") / "model"
    ref = {"z_mean": np.zeros((4, 3), "float32"), "z_log_var": np.zeros((4, 3), "float32"),
           "labels": np.arange(4, dtype=np.int16)}
    save_bundle(vae, training, out, history={"loss": [1.0]}, metrics={"neg_elbo": 1.0}, card={"name": "t"},
                reference=ref, sample_images=x)
    return vae, cfg, out, x


def test_saved_files(saved):
    _, _, out, _ = saved
    assert is_bundle(out)
    assert set(os.listdir(out)) == {MANIFEST, TRAINING_CONFIG, CONFIG, WEIGHTS, HISTORY, METRICS,
                                    CARD_JSON, CARD_MD, ENCODER_ONNX, DECODER_ONNX, REFERENCE}
    assert read_json(out / MANIFEST)["files"] == sorted(set(os.listdir(out)) - {MANIFEST})
    assert read_json(out / CARD_JSON)["onnx_check"]["decoder_max_abs_diff"] < 1e-4


def test_the_training_config_travels_with_the_weights(saved):
    from vae.model.training_config import TrainingConfig

    _, cfg, out, _ = saved
    training = read_training_config(out)
    assert training == TrainingConfig(dataset="digits", epochs=1, preset="course", latent_dim=3, beta=0.5,
                                      seed=1)
    assert training.model_config == cfg
    assert f"- **Training:** {training.describe()}" in (out / CARD_MD).read_text()


@pytest.mark.parametrize("name", ["mnist-2d", "mnist-2d-course", "mnist-2d-beta0", "mnist-2d-beta5"])
def test_shipped_bundles_trained_this_round_carry_their_recipe(name):
    """Retrained with a replay, they save training_config.json: the recipe that train_shipped.sh ran."""
    path = SHIPPED_DIR / name
    training = read_training_config(path)
    assert (path / TRAINING_CONFIG).exists() and (path / REPLAY).exists()
    card = read_json(path / CARD_JSON)
    assert (training.dataset, training.batch_size, training.beta) == (
        "mnist", card["batch_size"], card["beta"])
    assert render_card(card, training) == (path / CARD_MD).read_text()
    assert "train_shipped.sh" in card["notes"]


@pytest.mark.parametrize("name", ["mnist-16d", "fashion-mnist-2d"])
def test_bundles_saved_before_training_configs_still_give_their_recipe(name):
    """The shipped bundles have no training_config.json: their recipe comes from what their card recorded,
    and their model card renders as it was written."""
    path = SHIPPED_DIR / name
    assert is_bundle(path) and not (path / TRAINING_CONFIG).exists()
    training = read_training_config(path)
    card = read_json(path / CARD_JSON)
    assert (training.dataset, training.batch_size, training.learning_rate) == (
        card["dataset"], card["batch_size"], card["learning_rate"])
    assert render_card(card, training) == render_card(card) == (path / CARD_MD).read_text()
    assert "- **Training:** " in (path / CARD_MD).read_text()


def test_a_card_without_a_recipe_has_no_recipe_line():
    card = {"name": "old", "preset": "default", "latent_dim": 2, "beta": 1.0}  # before cards said how
    assert recipe_text(card) == "" and "Training:" not in render_card(card)


def test_round_trip_same_weights_and_outputs(saved):
    from vae.bundles.save import load_vae

    vae, cfg, out, x = saved
    loaded, cfg2 = load_vae(out)
    assert cfg2 == cfg
    for a, b in zip(vae.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(vae.encoder(x), loaded.encoder(x)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_onnx_serving_matches_keras(saved):
    from vae.bundles.serving import ServedModel
    from vae.model.presets import probability_decoder

    vae, _, out, x = saved
    served = ServedModel(out)
    z_mean, z_log_var = served.encode(x)
    k_mean, k_log_var = vae.encoder(x, training=False)
    np.testing.assert_allclose(z_mean, np.asarray(k_mean), atol=1e-4)
    np.testing.assert_allclose(z_log_var, np.asarray(k_log_var), atol=1e-4)
    want = np.asarray(probability_decoder(vae.decoder)(z_mean))[..., 0]
    np.testing.assert_allclose(served.decode(z_mean), want, atol=1e-4)
    assert served.reference["labels"].tolist() == [0, 1, 2, 3]


def test_failed_save_keeps_previous_bundle(saved, tmp_path):
    import shutil

    _, _, out, _ = saved
    target = tmp_path / "m"
    shutil.copytree(out, target)
    before = (target / WEIGHTS).read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_bundle_dir(target) as tmp:
            (tmp / WEIGHTS).write_bytes(b"half")
            raise RuntimeError("disk full")
    assert is_bundle(target) and (target / WEIGHTS).read_bytes() == before
    assert os.listdir(tmp_path) == ["m"]  # no scratch folder left behind


def test_killed_save_never_leaves_a_loadable_half_bundle(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from vae.bundles.bundle import REQUIRED, atomic_bundle_dir
        with atomic_bundle_dir({str(tmp_path / 'm')!r}) as tmp:
            for name in REQUIRED:
                (tmp / name).write_bytes(b"x")
            print("written", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert not (tmp_path / "m").exists()
    assert list_bundles(tmp_path) == []  # the hidden scratch folder has no manifest and is ignored
    with pytest.raises(BundleError, match="not a model bundle"):
        for d in tmp_path.iterdir():
            check_bundle(d)


def test_check_bundle_messages(tmp_path):
    with pytest.raises(BundleError, match="no such"):
        check_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="not a model bundle"):
        check_bundle(tmp_path)


def test_save_refuses_to_replace_a_folder_that_is_not_a_bundle(tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work")
    with pytest.raises(BundleError, match="not a model bundle"):
        with atomic_bundle_dir(precious):
            pass
    assert (precious / "chapter1.tex").read_text() == "years of work"
