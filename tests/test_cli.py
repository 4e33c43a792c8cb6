"""The command line contract: train (tiny, offline), evaluate --json, encode, decode, clear errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support.bundles import REPO

KEYS = {"neg_elbo", "reconstruction_loss", "kl_loss", "kl_per_dim", "active_units", "n", "neg_elbo_at_mean"}


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "vae", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_tiny_training_run_writes_history_and_card(tiny_bundle):
    from vae.bundles.bundle import CARD_JSON, HISTORY, read_json, read_training_config
    from vae.model.training_config import TrainingConfig

    history = read_json(tiny_bundle / HISTORY)
    for key in ("loss", "reconstruction_loss", "kl_loss",
                "val_loss", "val_reconstruction_loss", "val_kl_loss"):
        assert len(history[key]) == 1 and np.isfinite(history[key][0])
    card = read_json(tiny_bundle / CARD_JSON)
    assert card["n_train"] == 256 and card["dataset"] == "digits" and card["epochs"] == 1
    assert "256 digits training images" in card["trained_on"]
    assert read_training_config(tiny_bundle) == TrainingConfig(dataset="digits", epochs=1, max_train=256,
                                                               batch_size=32)


def test_evaluate_json(tiny_bundle):
    proc = run("evaluate", "--model", str(tiny_bundle), "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert KEYS <= m.keys()
    assert m["n"] == 360 and len(m["kl_per_dim"]) == 2
    assert m["neg_elbo"] == pytest.approx(m["reconstruction_loss"] + m["kl_loss"], rel=1e-6)
    assert sum(m["kl_per_dim"]) == pytest.approx(m["kl_loss"], rel=1e-5)
    # Same seed, same numbers: the one-sample estimate is reproducible.
    again = json.loads(run("evaluate", "--model", str(tiny_bundle), "--json").stdout)
    assert again["neg_elbo"] == m["neg_elbo"]


def test_decode_and_encode_round(tiny_bundle, tmp_path):
    png = tmp_path / "z.png"
    proc = run("decode", "--model", str(tiny_bundle), "--z", "0.5,-1.2", "--out", str(png))
    assert proc.returncode == 0, proc.stderr
    assert Image.open(png).size == (28, 28)
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "one.png")
    proc = run("encode", "--model", str(tiny_bundle), str(tmp_path / "one.png"), "--json")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)
    assert len(entry["z_mean"]) == 2 and len(entry["z_std"]) == 2
    np.testing.assert_allclose(entry["z_std"], np.exp(0.5 * np.array(entry["z_log_var"])), rtol=1e-5)
    assert len(entry["neighbors"]) == 5 and entry["nearest_label"] in range(10)


@pytest.mark.parametrize("args, words", [
    (("decode", "--z", "1,2,3"), "latent_dim"),
    (("decode", "--z", "a,b"), "comma-separated"),
    (("evaluate", "--model", "/nonexistent"), "no such model"),
    (("train", "--dataset", "digits", "--epochs", "0", "--out", "/tmp/x"), "epochs"),
    (("train", "--dataset", "digits", "--epochs", "1", "--latent-dim", "100000", "--out", "/tmp/x"),
     "latent_dim"),
    (("train", "--dataset", "mnist", "--epochs", "1", "--data-dir", "/nonexistent", "--out", "/tmp/x"),
     "--data-dir"),
    (("train", "--epochs", "1", "--out", "/tmp/x"), "train needs --dataset"),
    (("train", "--config", "/nonexistent.json", "--out", "/tmp/x"), "No such file"),
])
def test_bad_input_is_one_clear_line(tiny_bundle, tmp_path, args, words):
    if args[0] == "decode":
        args = (*args, "--model", str(tiny_bundle), "--out", str(tmp_path / "x.png"))
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and words in proc.stderr


def test_every_training_config_field_has_a_flag():
    from dataclasses import fields

    from vae.model.training_config import TrainingConfig

    proc = run("train", "--help")
    assert proc.returncode == 0, proc.stderr
    for field in fields(TrainingConfig):
        assert f"--{field.name.replace('_', '-')}" in proc.stdout, field.name
    assert "(default: 128)" in proc.stdout  # defaults shown are the dataclass's


@pytest.mark.parametrize("config, flags, words", [
    ({"dataset": "digits", "epochs": 1, "learning_rat": 0.1}, (), "Unknown training-config key learning_rat"),
    ({"dataset": "digits", "epochs": 1}, ("--latent-dim", "100000"), "latent_dim must be between"),  # flag
    ({"format_version": 3, "dataset": "digits", "epochs": 0, "warp_drive": 1}, (), "epochs must be between"),
    ({"dataset": "digits"}, (), "A training config needs epochs"),
    ("not json", (), "config.json: Expecting value"),
])
def test_train_reads_a_config_file_and_flags_override_it(tmp_path, config, flags, words):
    """Mistakes in the file fail at once with one line; a newer version's unknown field is ignored."""
    path = tmp_path / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    proc = run("train", "--config", str(path), *flags, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and words in proc.stderr
