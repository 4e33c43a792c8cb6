"""IDX reader/writer and dataset loaders, on small IDX files the tests make themselves."""

import gzip

import numpy as np
import pytest

from tests.support.data import no_local_data, write_dataset
from vae.inputs import data
from vae.inputs.idx import IdxError, read_idx, write_idx


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr)
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)


def test_idx_rejects_garbage_and_truncation(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"hello world")
    with pytest.raises(IdxError, match="magic"):
        read_idx(bad)
    good = tmp_path / "t.idx.gz"
    write_idx(good, np.zeros((10, 28, 28), np.uint8))
    raw = gzip.decompress(good.read_bytes())
    trunc = tmp_path / "trunc.idx"
    trunc.write_bytes(raw[:500])
    with pytest.raises(IdxError, match="truncated"):
        read_idx(trunc)


def test_load_from_data_dir_and_named_subfolder(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    arrays = write_dataset(tmp_path / "mnist")
    for where in (tmp_path / "mnist", tmp_path):  # the folder itself, or a parent holding mnist/
        ds = data.load_dataset("mnist", where, allow_download=False)
        assert ds.x_train.shape == (12, 28, 28, 1) and ds.x_test.shape == (5, 28, 28, 1)
        assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
        np.testing.assert_allclose(ds.x_test[..., 0] * 255, arrays["t10k-images-idx3-ubyte"], atol=1e-3)
        np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte"])


def test_env_var_source(tmp_path, monkeypatch):
    write_dataset(tmp_path / "fashion_mnist", gz=False)
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    ds = data.load_dataset("fashion_mnist", allow_download=False)
    assert ds.x_train.shape[0] == 12 and ds.class_names[0] == "T-shirt/top"


def test_missing_dataset_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    with pytest.raises(data.DataUnavailable, match="--data-dir"):
        data.load_dataset("mnist", tmp_path / "empty", allow_download=False)
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"mnist": [], "fashion_mnist": []})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    with pytest.raises(data.DataUnavailable, match="VAE_DATA_DIR"):
        data.load_dataset("mnist", allow_download=False)


def test_keras_cache_follows_keras_home_when_asked(tmp_path, monkeypatch):
    """KERAS_HOME was read once, at import: a server (or test) that set it later was not heard."""
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"mnist": [], "fashion_mnist": []})
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert not data.on_this_server("mnist")
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    (tmp_path / "keras" / "datasets" / "mnist.npz").write_bytes(b"")
    assert data.on_this_server("mnist")


def test_unknown_dataset():
    with pytest.raises(ValueError, match="choose one of"):
        data.load_dataset("cifar")


def test_digits_brought_to_28x28():
    ds = data.load_dataset("digits")
    assert ds.x_train.shape[1:] == (28, 28, 1) and len(ds.x_train) + len(ds.x_test) == 1797
    # Digits fill the central 20x20 box, like MNIST: the 4-pixel border is empty.
    assert ds.x_train[:, :4].max() == 0 and ds.x_train[:, 24:].max() == 0
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_which_datasets_are_here(tmp_path, monkeypatch):
    empty = no_local_data(monkeypatch, tmp_path)
    assert data.datasets_here() == ["digits"]  # scikit-learn's: always
    write_dataset(empty / "fashion-mnist")
    assert data.datasets_here() == ["fashion_mnist", "digits"]
    cache = tmp_path / "no-keras" / "datasets"  # no_local_data's $KERAS_HOME: empty so far
    write_dataset(cache / "fashion-mnist")
    (cache / "mnist.npz").write_bytes(b"")  # Keras' cache of MNIST, by its name
    assert data.datasets_here() == list(data.DATASETS)


def test_a_failed_download_is_one_sentence(tmp_path, monkeypatch, capsys):
    """Keras' downloader, offline: no URL and no errno in the error (its page shows it); both in the log."""
    import sys
    import types

    no_local_data(monkeypatch, tmp_path)

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                        "mnist.npz: None -- [Errno -2] Name or service not known")

    keras = types.SimpleNamespace(datasets=types.SimpleNamespace(
        mnist=types.SimpleNamespace(load_data=offline), fashion_mnist=None))
    monkeypatch.setitem(sys.modules, "keras", keras)  # Keras' real downloader, made to fail without TF
    with pytest.raises(data.DataUnavailable) as err:
        data.load_dataset("mnist")
    assert str(err.value) == "MNIST is not on this server and could not be downloaded."
    assert "https://" in capsys.readouterr().err  # the details: for the terminal and the job's log
