"""A bundle's gallery of real test images (gallery.npz): written with a trained bundle, added to an existing
one by `python -m vae add-gallery`, and carried by the shipped MNIST bundles with the dataset's licence."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.support.bundles import REPO
from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    GALLERY,
    MANIFEST,
    SHIPPED_DIR,
    is_bundle,
    load_gallery,
    load_reference,
    load_replay,
    read_json,
    read_training_config,
    render_card,
)
from vae.inputs.data import DATA_LICENSES, load_dataset, stratified_indices

SHIPPED = ("mnist-2d", "mnist-16d", "mnist-2d-course", "fashion-mnist-2d")


def add_gallery(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vae", "add-gallery", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_stratified_indices_nest_and_hold_every_label():
    labels = np.repeat(np.arange(10), 50)[np.random.default_rng(1).permutation(500)]
    small, large = stratified_indices(labels, 3), stratified_indices(labels, 20)
    assert np.array_equal(small, large[:30])  # a smaller draw is a prefix of a larger one
    assert np.array_equal(labels[large[:10]], np.arange(10))  # rank by rank, label by label
    assert np.array_equal(np.bincount(labels[large]), np.full(10, 20)) and len(set(large)) == 200


def test_a_trained_bundle_has_a_gallery_that_round_trips(tiny_bundle):
    gallery, data = load_gallery(tiny_bundle), load_dataset("digits")
    assert GALLERY in read_json(tiny_bundle / MANIFEST)["files"]
    assert gallery["images"].dtype == np.uint8 and gallery["images"].shape == (len(gallery["labels"]), 28, 28)
    assert set(gallery["labels"]) == set(range(10))
    assert np.array_equal(gallery["labels"], data.y_test[gallery["indices"]])
    assert np.array_equal(gallery["images"], np.round(data.x_test[gallery["indices"], ..., 0] * 255))
    assert "Data licence" not in (tiny_bundle / CARD_MD).read_text()  # scikit-learn's digits: none said
    replay = load_replay(tiny_bundle)  # the gallery's images are among the replay's
    assert set(gallery["indices"]) <= set(replay["indices"])


def test_add_gallery_to_an_existing_bundle(tmp_path):
    if load_dataset_or_none("mnist") is None:
        pytest.skip("MNIST is not on this machine")
    copy = tmp_path / "course"
    shutil.copytree(SHIPPED_DIR / "mnist-2d-course", copy)
    (copy / GALLERY).unlink(missing_ok=True)
    proc = add_gallery(str(copy))
    assert proc.returncode == 0, proc.stderr
    assert "300 images of 10 labels" in proc.stdout
    gallery = load_gallery(copy)
    assert len(gallery["labels"]) == 300 and np.array_equal(np.bincount(gallery["labels"]), np.full(10, 30))
    data = load_dataset("mnist")
    assert np.array_equal(gallery["images"], np.round(data.x_test[gallery["indices"], ..., 0] * 255))
    assert is_bundle(copy)
    assert read_json(copy / MANIFEST)["files"] == sorted(p.name for p in copy.iterdir()
                                                             if p.name != MANIFEST)
    card = read_json(copy / CARD_JSON)
    assert card["data_license"] == DATA_LICENSES["mnist"]
    assert (copy / CARD_MD).read_text() == render_card(card, read_training_config(copy))


def test_add_gallery_refuses_what_is_not_a_bundle(tmp_path):
    proc = add_gallery(str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "bundle" in proc.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_bundles_carry_a_gallery_and_say_the_datasets_licence(name):
    path = SHIPPED_DIR / name
    gallery = load_gallery(path)
    assert np.array_equal(np.bincount(gallery["labels"]), np.full(10, 30))
    assert np.array_equal(gallery["labels"], load_reference(path)["labels"][gallery["indices"]])
    assert GALLERY in read_json(path / MANIFEST)["files"]
    card = (path / CARD_MD).read_text()
    assert f"- **Data licence:** {DATA_LICENSES[read_json(path / CARD_JSON)['dataset']]}" in card
    if name.startswith("mnist"):
        assert "MNIST is CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)" in card


def load_dataset_or_none(name: str):
    from vae.inputs.data import DataUnavailable

    try:
        return load_dataset(name, allow_download=False)
    except DataUnavailable:
        return None
