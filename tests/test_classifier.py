"""A bundle's classifier: its ONNX against scikit-learn's own predictions, added to a bundle and its card,
served without pickle, and the overlay's grid (issue 28, item 3)."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae.bundles import classifier
from vae.bundles.bundle import DEFAULT_MODEL, MANIFEST, read_json, render_card
from vae.bundles.serving import ServedModel
from vae.inputs.data import load_dataset

SHIPPED_WITHOUT = ("model.weights.h5", "replay.npz", "gallery.npz", "history.json")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", None, allow_download=False)


@pytest.fixture(scope="module")
def fitted(digits):
    """An MLP fitted on 400 of scikit-learn's digits (seconds), and its ONNX."""
    model = classifier.fit(digits.x_train[:400], digits.y_train[:400])
    return model, classifier.to_onnx(model, 28 * 28)


@pytest.fixture
def bundle(tmp_path) -> Path:
    """A copy of the shipped default without its classifier (and without the files these tests never read)."""
    out = tmp_path / "bundle"
    shutil.copytree(DEFAULT_MODEL, out, ignore=shutil.ignore_patterns(*SHIPPED_WITHOUT,
                                                                       classifier.CLASSIFIER_ONNX))
    card = read_json(out / "card.json")
    card.pop("classifier", None)
    (out / "card.json").write_text(json.dumps(card))
    (out / "model.weights.h5").write_bytes(b"")  # a required file; serving never reads it
    return out


def test_onnx_gives_scikit_learns_probabilities_and_labels(fitted, digits):
    model, onnx_bytes = fitted
    x = digits.x_test.reshape(len(digits.x_test), -1)
    expected = model.predict_proba(x)
    got = classifier.run_onnx(onnx_bytes, digits.x_test)
    assert got.shape == expected.shape == (360, 10)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert (got.argmax(1) == model.predict(x)).all()
    assert (got.argmax(1) == digits.y_test).mean() > 0.6  # it learned something (400 images, early stop)


def test_train_for_reports_the_test_accuracy_of_the_served_onnx(digits):
    onnx_bytes, info = classifier.train_for(digits, max_train=300)
    accuracy = (classifier.run_onnx(onnx_bytes, digits.x_test).argmax(1) == digits.y_test).mean()
    assert info["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert info["train_images"] == 300 and info["test_images"] == 360
    assert info["trained_on"] == ("the first 300 scikit-learn's digits training images (1,437 on the "
                                  "machine that trained it)")
    assert info["labels"] == [str(i) for i in range(10)]


def test_add_classifier_writes_the_file_the_card_and_the_manifest(bundle, fitted, digits):
    onnx_bytes = fitted[1]
    info = {"kind": classifier.KIND, "trained_on": "the first 400 test digits", "test_accuracy": 0.9123,
            "test_images": 360, "labels": [str(i) for i in range(10)], "epochs": 7}
    before = (bundle / MANIFEST).stat().st_mtime_ns
    for _ in range(2):  # twice: the card keeps one Classifier section
        classifier.add_classifier(bundle, trained=(onnx_bytes, info))
    assert (bundle / classifier.CLASSIFIER_ONNX).read_bytes() == onnx_bytes
    assert classifier.CLASSIFIER_ONNX in read_json(bundle / MANIFEST)["files"]
    assert (bundle / MANIFEST).stat().st_mtime_ns >= before
    md = (bundle / "MODEL_CARD.md").read_text()
    assert md.count("## Classifier") == 1 and "**Test accuracy: 91.2 %** on the 360 test images" in md
    assert "trained on the first 400 test digits (7 epochs)" in md
    assert "## Test metrics" in md  # the rest of the card kept
    assert read_json(bundle / "card.json")["classifier"]["test_accuracy"] == 0.9123
    assert "**Test accuracy: 91.2 %**" in render_card(read_json(bundle / "card.json"))


def test_served_model_runs_the_classifier_and_none_without_one(bundle, fitted, digits):
    assert ServedModel(bundle).classifier is None
    classifier.add_classifier(bundle, trained=(fitted[1], {"labels": list("0123456789"),
                                                           "test_accuracy": 0.9}))
    served = ServedModel(bundle).classifier
    p = served.probabilities(digits.x_test[:300, :, :, 0])  # more than one batch
    assert p.shape == (300, 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(p, fitted[0].predict_proba(digits.x_test[:300].reshape(300, -1)), atol=1e-4)
    assert served.labels == list("0123456789") and served.test_accuracy == 0.9


def test_bundle_of_reads_paths_and_model_ids(tmp_path, monkeypatch, bundle):
    assert classifier.bundle_of("mnist-2d") == DEFAULT_MODEL
    assert classifier.bundle_of(str(bundle)) == bundle
    monkeypatch.setenv("VAE_USER_MODELS", str(tmp_path))
    assert classifier.bundle_of("user/bundle") == tmp_path / "bundle"
    for bad in ("user/nothing", "no-such-model", "../models/mnist-2d", "user/a/b"):
        with pytest.raises(ValueError, match="no such model"):
            classifier.bundle_of(bad)


def test_every_shipped_model_carries_a_classifier_that_its_card_describes():
    for path in sorted(DEFAULT_MODEL.parent.iterdir()):
        card = read_json(path / "card.json")
        info = card["classifier"]
        assert (path / classifier.CLASSIFIER_ONNX).stat().st_size < 300_000
        assert info["test_accuracy"] > (0.8 if card["dataset"] == "fashion_mnist" else 0.93)
        assert info["trained_on"].startswith("the first 20,000 ")
        assert "Test accuracy" in (path / "MODEL_CARD.md").read_text()


def test_overlay_colours_each_cell_by_its_label_and_shades_it_by_confidence():
    from explorer import class_overlay

    def decode(z):  # an "image" that is its z, so the classifier below sees where it is
        return np.repeat(z[:, :, None], 2, axis=2)

    def classify(images):  # left half: a sure 0; right half: a coin toss between 1 and 2
        right = images[:, 0, 0] > 0
        p = np.zeros((len(images), 3))
        p[~right, 0] = 1.0
        p[right, 1:] = 0.5
        return p

    overlay = class_overlay.compute(decode, classify, lambda xy: xy, (-1.0, 1.0), (0.0, 2.0))
    assert (overlay.cols, overlay.rows) == (40, 40)
    labels = np.array(overlay.labels).reshape(40, 40)
    assert (labels[:, :20] == 0).all() and (labels[:, 20:] == 1).all()
    assert overlay.unsure_share == pytest.approx(0.0)  # 0.5 is not under UNSURE
    assert overlay.shares() == {0: 0.5, 1: 0.5}
    png = Image.open(io.BytesIO(base64.b64decode(overlay.image.split(",", 1)[1])))
    assert png.size == (40 * class_overlay.CELL_PX, 40 * class_overlay.CELL_PX) and png.mode == "RGBA"
    alpha = np.asarray(png)[:, :, 3]
    assert alpha[:, :80].min() == round(255 * class_overlay.MAX_ALPHA)  # sure: as opaque as it gets
    assert alpha[:, 80:].max() < alpha[:, :80].min() / 2  # half sure among 3: paler

    strip = class_overlay.compute(decode, classify, lambda xy: xy[:, :1], (-1.0, 1.0), (0.0, 9.0), strip=True)
    assert (strip.cols, strip.rows) == (40, 1)


def _cli(*args, env=None):
    import os
    import subprocess
    import sys

    from tests.support.bundles import REPO

    return subprocess.run([sys.executable, "-m", "vae", "add-classifier", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_the_cli_adds_a_classifier_to_a_bundle_named_by_its_id(tmp_path, bundle):
    from tests.support.data import write_dataset

    arrays = write_dataset(tmp_path / "idx", n_train=120, n_test=40)
    users = tmp_path / "users"
    users.mkdir()
    shutil.move(bundle, users / "mine")
    proc = _cli("user/mine", "--data-dir", str(tmp_path / "idx"), "--max-train", "100",
                env={"VAE_USER_MODELS": str(users)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "user/mine: classifier.onnx" in proc.stdout and "on 40 test images" in proc.stdout
    info = read_json(users / "mine" / "card.json")["classifier"]
    assert info["train_images"] == 100 and info["test_images"] == 40
    assert info["trained_on"] == "the first 100 MNIST training images (120 on the machine that trained it)"
    served = ServedModel(users / "mine").classifier
    probabilities = served.probabilities(arrays["t10k-images-idx3-ubyte"] / 255)
    assert info["test_accuracy"] == pytest.approx(
        (probabilities.argmax(1) == arrays["t10k-labels-idx1-ubyte"]).mean(), abs=1e-4)


def test_the_cli_says_what_is_wrong_without_a_traceback(tmp_path):
    proc = _cli("no-such-model")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: no-such-model: no such model folder or model id."
    proc = _cli("mnist-2d", "--max-train", "-1")
    assert proc.returncode == 2 and "--max-train must be 0" in proc.stderr


def test_a_finished_training_job_leaves_a_bundle_with_its_classifier(tiny_bundle):
    """The CLI's train (what a job runs) adds the classifier after saving, on the images it trained on."""
    info = read_json(tiny_bundle / "card.json")["classifier"]
    assert info["trained_on"] == ("the first 256 scikit-learn's digits training images (1,437 on the "
                                  "machine that trained it)")
    assert classifier.CLASSIFIER_ONNX in read_json(tiny_bundle / MANIFEST)["files"]
    served = ServedModel(tiny_bundle)
    assert served.classifier is not None and served.classifier.labels == [str(i) for i in range(10)]
    assert "## Classifier" in (tiny_bundle / "MODEL_CARD.md").read_text()
