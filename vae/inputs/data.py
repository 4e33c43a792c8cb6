"""Datasets (mnist, fashion_mnist, digits) with train/test splits, from local files first."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import settings
from vae.inputs import prepared
from vae.inputs.idx import IdxError, read_idx

DATASETS = ("mnist", "fashion_mnist", "digits")

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "digits": [str(i) for i in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

# Who made each dataset and under what licence: a bundle that ships a dataset's images (its gallery) says so.
DATA_LICENSES = {
    "mnist": "MNIST is CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
    "fashion_mnist": "Fashion-MNIST is MIT-licensed (Zalando SE)",
}

GALLERY_PER_LABEL = 30  # a bundle's gallery: 30 test images of each label

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# Debian packages the datasets under a hyphenated name (package dataset-fashion-mnist).
DEBIAN_DIRS = {
    "mnist": [Path("/usr/share/datasets/mnist")],
    "fashion_mnist": [Path("/usr/share/datasets/fashion-mnist"), Path("/usr/share/datasets/fashion_mnist")],
}


def keras_cache() -> Path:
    """Where Keras' downloader caches its files ($KERAS_HOME/datasets, read when asked), so a user who once
    downloaded works offline."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"


# The datasets' names in a sentence.
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "digits": "scikit-learn's digits"}


class DataUnavailable(RuntimeError):
    """No source for the dataset could be reached; the message says what to do."""


@dataclass(frozen=True)
class Dataset:
    """Images as float32 in [0, 1], shape (n, height, width, channels) ((n, 28, 28, 1) for the built-in
    datasets), with integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where it was read from, for whoever runs it: a folder's path, say
    origin: str = ""  # the same in words and with no path, for a model's card (every visitor reads it)
    labels: tuple[str, ...] = ()  # the labels' names, for a dataset that is not one of CLASS_NAMES
    title: str = ""  # its name in a sentence, for a dataset that is not one of TITLES

    @property
    def class_names(self) -> list[str]:
        return list(self.labels) if self.labels else CLASS_NAMES[self.name]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])


def _find_idx_dir(directory: Path, name: str) -> Path | None:
    """Return the folder holding the four IDX files: `directory` itself or `directory/name`."""
    candidates = [directory, directory / name, directory / name.replace("_", "-")]
    for cand in candidates:
        if all(_idx_path(cand, stem) for stem in IDX_FILES.values()):
            return cand
    return None


def _idx_path(directory: Path, stem: str) -> Path | None:
    for suffix in (".gz", ""):
        p = directory / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def _load_idx_dir(directory: Path) -> tuple[np.ndarray, ...]:
    arrays = [read_idx(_idx_path(directory, stem)) for stem in IDX_FILES.values()]
    x_train, y_train, x_test, y_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise IdxError(f"{directory}: {split} images have shape {x.shape}, expected (n, 28, 28)")
        if y.shape != (x.shape[0],):
            raise IdxError(f"{directory}: {split} labels {y.shape} do not match images {x.shape}")
    return x_train, y_train, x_test, y_test


def _keras_cached(name: str) -> Path | None:
    """Keras' cached copy of the dataset (mnist.npz, or Fashion-MNIST's IDX folder), if any."""
    if name == "mnist":
        cached = keras_cache() / "mnist.npz"
        return cached if cached.is_file() else None
    return _find_idx_dir(keras_cache(), "fashion-mnist") if name == "fashion_mnist" else None


def _local_idx_dir(name: str) -> Path | None:
    """The dataset's IDX folder under $VAE_DATA_DIR (which may hold some datasets and not others) or
    Debian's folder."""
    env_dir = settings.data_dir()
    for directory in ([env_dir] if env_dir else []) + DEBIAN_DIRS.get(name, []):
        found = _find_idx_dir(directory, name)
        if found:
            return found
    return None


def on_this_server(name: str) -> bool:
    """Whether `name` loads without a download (as load_dataset looks, minus an explicit --data-dir): a
    look at file names, no reading and no TensorFlow, so the web process may ask before a job starts.
    scikit-learn's digits come with scikit-learn."""
    return name == "digits" or _local_idx_dir(name) is not None or _keras_cached(name) is not None


def datasets_here() -> list[str]:
    """The datasets this machine holds, in DATASETS' order."""
    return [name for name in DATASETS if on_this_server(name)]


def _load_keras_cache(name: str) -> tuple[np.ndarray, ...] | None:
    found = _keras_cached(name)
    if found is None:
        return None
    if found.suffix == ".npz":
        with np.load(found) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    return _load_idx_dir(found)


def _load_digits() -> tuple[np.ndarray, ...]:
    """scikit-learn's bundled 8x8 digits (values 0..16), brought to 28x28 like MNIST."""
    from sklearn.datasets import load_digits  # here: scikit-learn is slow to import, and rarely needed

    bunch = load_digits()
    images = (bunch.images / 16.0 * 255.0).astype(np.uint8)
    # MNIST digits fill a 20x20 box centred in 28x28; do the same with a smooth resize.
    big = np.zeros((len(images), 28, 28), np.uint8)
    for i, img in enumerate(images):
        big[i, 4:24, 4:24] = np.asarray(Image.fromarray(img).resize((20, 20), Image.BILINEAR))
    labels = bunch.target.astype(np.uint8)
    # A fixed, stratified-enough split: every 5th image is test (360 test, 1437 train).
    test = np.arange(len(big)) % 5 == 0
    return big[~test], labels[~test], big[test], labels[test]


def _download(name: str) -> tuple[np.ndarray, ...]:
    """Keras' downloader, for users with internet; imports TensorFlow, so CLI only."""
    try:
        import keras  # here: TensorFlow, for the rare download only

        loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # network errors come in many types; all mean the same here
        # The details (Keras' URL, the errno) are for whoever runs it: the terminal, or a job's log. The
        # error itself is one sentence, which is what a job's page shows.
        print(_missing_message(name, f"download failed: {exc}"), file=sys.stderr)
        raise DataUnavailable(not_downloaded(name)) from exc
    return x_train, y_train, x_test, y_test


def not_downloaded(name: str) -> str:
    """What a failed download says: no URL, no errno."""
    return f"{TITLES.get(name, name)} is not on this server and could not be downloaded."


def _missing_message(name: str, why: str) -> str:
    debian = {"mnist": "", "fashion_mnist": " or `apt-get install dataset-fashion-mnist`"}[name]
    return (
        f"Dataset '{name}' is not available ({why}). Pass --data-dir (or set VAE_DATA_DIR) "
        f"to a folder holding the four IDX files ({', '.join(v + '.gz' for v in IDX_FILES.values())})"
        f"{debian}, or connect to the internet so Keras can download it."
    )


def load_dataset(
    name: str, data_dir: str | Path | None = None, allow_download: bool = True
) -> Dataset:
    """Load a dataset from, in order: data_dir / $VAE_DATA_DIR, Debian's folder, Keras' cache,
    the downloader."""
    if prepared.is_prepared_name(name):
        return prepared.load(name)
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset '{name}': choose one of {', '.join(DATASETS)}.")
    if name == "digits":
        return _wrap(name, _load_digits(), "scikit-learn load_digits()", "scikit-learn's load_digits()")

    if data_dir:
        found = _find_idx_dir(Path(data_dir), name)
        if found is None:
            raise DataUnavailable(_missing_message(name, f"no IDX files for it in {data_dir}"))
        return _wrap(name, _load_idx_dir(found), str(found), "a local copy of its IDX files")
    found = _local_idx_dir(name)
    if found:
        return _wrap(name, _load_idx_dir(found), str(found), _origin_of(found, name))
    cached = _load_keras_cache(name)
    if cached is not None:
        return _wrap(name, cached, str(keras_cache()), "Keras' cache of its download")
    if not allow_download:
        raise DataUnavailable(_missing_message(name, "no local copy found"))
    return _wrap(name, _download(name), "Keras downloader", "downloaded by Keras")


def _origin_of(found: Path, name: str) -> str:
    """A local IDX folder in words: Debian's package, or a local copy (never the path)."""
    if any(found == d or d in found.parents for d in DEBIAN_DIRS.get(name, [])):
        return "Debian's dataset-fashion-mnist package" if name == "fashion_mnist" else "a Debian package"
    return "a local copy of its IDX files"


def _wrap(name: str, arrays: tuple[np.ndarray, ...], source: str, origin: str) -> Dataset:
    x_train, y_train, x_test, y_test = arrays
    return Dataset(
        name=name,
        x_train=to_float(x_train),
        y_train=np.asarray(y_train, np.int64),
        x_test=to_float(x_test),
        y_test=np.asarray(y_test, np.int64),
        source=source,
        origin=origin,
    )


def stratified_indices(labels: np.ndarray, per_label: int, seed: int = 0) -> np.ndarray:
    """Indices of up to `per_label` images of each label, drawn at random but fixed by `seed`, ordered by
    rank then label (0, 1, …, 9, 0, 1, …): any prefix of k * n_labels of them holds k of each label, and
    the draw for a smaller `per_label` is a prefix of the one for a larger, so such subsets nest."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    ranked = [rng.permutation(np.flatnonzero(labels == label))[:per_label] for label in np.unique(labels)]
    order = [(rank, i) for picks in ranked for rank, i in enumerate(picks)]
    return np.array([i for _, i in sorted(order, key=lambda o: (o[0], labels[o[1]]))], np.int64)


def gallery(data: Dataset, per_label: int = GALLERY_PER_LABEL) -> dict[str, np.ndarray]:
    """A few real test images to ship with a model (its gallery.npz): `per_label` of each label, as
    uint8 (n, H, W) for grey images (n, 28, 28 for MNIST) or (n, H, W, 3) for colour, with their labels and
    indices into the test split, in stratified_indices' order."""
    indices = stratified_indices(data.y_test, per_label)
    picked = data.x_test[indices]
    images = np.round((picked[..., 0] if picked.shape[-1] == 1 else picked) * 255.0).astype(np.uint8)
    return {"images": images, "labels": data.y_test[indices].astype(np.int16),
            "indices": indices.astype(np.int32)}


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1]."""
    return (np.asarray(images, np.float32) / 255.0).reshape(-1, 28, 28, 1)
