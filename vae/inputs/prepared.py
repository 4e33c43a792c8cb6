"""Prepared image datasets: a visitor's own images (or an operator's folder), checked and stored as arrays."""

# The format every part of the app shares (writing it is vae/inputs' folder checks' job, reading it is here):
#   $VAE_HOME/datasets/<dataset id>/data.npz      x_train, x_test: uint8 (n, H, W, C); y_train, y_test: int
#   $VAE_HOME/datasets/<dataset id>/dataset.json  {"title", "labels": [...], "image_shape": [H, W, C], ...}
# A dataset is named "own/<dataset id>" wherever a built-in dataset is named "mnist": in a training config,
# on a job, in a model's card. The id is made on the server ([a-z0-9-], never from the browser), so the name
# carries no path, and a card that names it shows no server folder.

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import settings

PREFIX = "own/"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def is_prepared_name(name: str) -> bool:
    """Whether a dataset name names a prepared dataset ("own/<id>") rather than a built-in one."""
    return isinstance(name, str) and name.startswith(PREFIX)


def folder_of(name: str) -> Path:
    """The server folder of a prepared dataset's name; a ValueError for a name that is not one."""
    dataset_id = name[len(PREFIX):] if is_prepared_name(name) else ""
    if not _ID.match(dataset_id):
        raise ValueError(f"'{name}' is not a dataset name of the form own/<id>.")
    return settings.datasets_dir() / dataset_id


def read_meta(name: str) -> dict:
    """A prepared dataset's dataset.json (its title, labels, image shape, counts, licence line)."""
    return json.loads((folder_of(name) / "dataset.json").read_text())


def write(folder: Path, meta: dict, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
          y_test: np.ndarray) -> None:
    """Store a prepared dataset: its arrays (uint8 images (n, H, W, C)) and then its dataset.json, last, so a
    folder with a dataset.json is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    for images in (x_train, x_test):
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError("A prepared dataset's images are uint8 arrays of shape (n, H, W, C).")
    np.savez(folder / "data.npz", x_train=x_train, y_train=np.asarray(y_train, np.int64), x_test=x_test,
             y_test=np.asarray(y_test, np.int64))
    meta = {**meta, "image_shape": list(x_train.shape[1:])}
    tmp = folder / "dataset.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(folder / "dataset.json")


def load(name: str):
    """A prepared dataset as a vae.inputs.data.Dataset (float32 images in [0, 1])."""
    from vae.inputs.data import Dataset  # data imports this module: the late import breaks the cycle

    folder = folder_of(name)
    if not (folder / "dataset.json").exists():
        raise ValueError(f"No prepared dataset '{name}' on this server.")
    meta = read_meta(name)
    with np.load(folder / "data.npz", allow_pickle=False) as arrays:
        x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    as_float = lambda images: images.astype(np.float32) / 255.0  # noqa: E731
    return Dataset(name=name, x_train=as_float(x_train), y_train=y_train.astype(np.int64),
                   x_test=as_float(x_test), y_test=y_test.astype(np.int64), source=str(folder),
                   origin=meta.get("origin", "the owner's own images"), labels=tuple(meta["labels"]),
                   title=meta.get("title", name))
