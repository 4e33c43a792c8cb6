"""The command line contract: train (tiny, offline), evaluate --json, encode, decode, clear errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO

KEYS = {"neg_elbo", "reconstruction_loss", "kl_loss", "kl_per_dim", "active_units", "n", "neg_elbo_at_mean"}


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "vae", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_tiny_training_run_writes_history_and_card(tiny_bundle):
    from vae.bundle import CARD_JSON, HISTORY, read_json

    history = read_json(tiny_bundle / HISTORY)
    for key in ("loss", "reconstruction_loss", "kl_loss", "val_loss", "val_reconstruction_loss", "val_kl_loss"):
        assert len(history[key]) == 1 and np.isfinite(history[key][0])
    card = read_json(tiny_bundle / CARD_JSON)
    assert card["n_train"] == 256 and card["dataset"] == "digits" and card["epochs"] == 1
    assert "256 digits training images" in card["trained_on"]


def test_evaluate_json(tiny_bundle):
    proc = run("evaluate", "--model", str(tiny_bundle), "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert KEYS <= m.keys()
    assert m["n"] == 360 and len(m["kl_per_dim"]) == 2
    assert m["neg_elbo"] == pytest.approx(m["reconstruction_loss"] + m["kl_loss"], rel=1e-6)
    assert sum(m["kl_per_dim"]) == pytest.approx(m["kl_loss"], rel=1e-5)
    # Same seed, same numbers: the one-sample estimate is reproducible.
    assert json.loads(run("evaluate", "--model", str(tiny_bundle), "--json").stdout)["neg_elbo"] == m["neg_elbo"]


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
    (("train", "--dataset", "digits", "--epochs", "1", "--latent-dim", "100000", "--out", "/tmp/x"), "latent_dim"),
    (("train", "--dataset", "mnist", "--epochs", "1", "--data-dir", "/nonexistent", "--out", "/tmp/x"), "--data-dir"),
])
def test_bad_input_is_one_clear_line(tiny_bundle, tmp_path, args, words):
    if args[0] == "decode":
        args = (*args, "--model", str(tiny_bundle), "--out", str(tmp_path / "x.png"))
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and words in proc.stderr
