"""Datasets for tests: tiny IDX datasets written on the spot, and a machine without any local dataset."""

from __future__ import annotations

import numpy as np

from vae.inputs import data
from vae.inputs.idx import write_idx


def write_dataset(folder, n_train=12, n_test=5, gz=True):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in arrays.items():
        write_idx(folder / f"{stem}{ext}", arr)
    return arrays


def no_local_data(monkeypatch, tmp_path):
    """A machine without MNIST or Fashion-MNIST: an empty VAE_DATA_DIR, no Debian package, no Keras cache."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("VAE_DATA_DIR", str(empty))
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"mnist": [], "fashion_mnist": []})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    return empty
