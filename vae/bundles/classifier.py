"""A bundle's classifier: a small scikit-learn MLP on pixels, exported to ONNX by skl2onnx (never pickled)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

import settings
from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    SHIPPED_DIR,
    add_file,
    check_bundle,
    is_bundle,
    read_json,
    write_json,
    write_text,
)
from vae.inputs.data import TITLES, Dataset, load_dataset

CLASSIFIER_ONNX = "classifier.onnx"
HIDDEN_UNITS = 64  # one hidden layer: 96 % on MNIST's test split, 200 KB of ONNX, microseconds an image
MAX_ITER = 30  # epochs of Adam; early stopping on a held-out tenth usually ends it sooner
MAX_TRAIN = 20_000  # training images at most: about a minute on two cores, after a training job
PROBABILITIES = "probabilities"  # the ONNX output the app and the browser read (the other is "label")
KIND = f"a multilayer perceptron (scikit-learn's MLPClassifier: {HIDDEN_UNITS} ReLU units) on the pixels"
_SECTION = re.compile(r"\n## Classifier\n.*?(?=\n## |\Z)", re.S)


def fit(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """An MLPClassifier fitted on images (n, ...) in [0, 1] flattened to pixels, with integer labels."""
    from sklearn.neural_network import MLPClassifier  # here: only the CLI's child process trains

    model = MLPClassifier((HIDDEN_UNITS,), max_iter=MAX_ITER, early_stopping=True, random_state=seed,
                          batch_size=200)
    with warnings.catch_warnings():  # "did not converge" after MAX_ITER epochs: the cap is deliberate
        warnings.simplefilter("ignore")
        model.fit(_pixels(x_train), np.asarray(y_train))
    return model


def to_onnx(model, n_pixels: int) -> bytes:
    """The fitted model as ONNX bytes: input `x` float (n, n_pixels); outputs `label` and `probabilities`
    (n, classes), a plain tensor (no ZipMap), so ONNX Runtime Web reads it as it is."""
    from skl2onnx import to_onnx as convert

    onnx_model = convert(model, np.zeros((1, n_pixels), np.float32), options={"zipmap": False},
                         target_opset=17)
    onnx_model.graph.input[0].name = "x"
    for node in onnx_model.graph.node:  # the graph's one input renamed everywhere it is read
        node.input[:] = ["x" if name == "X" else name for name in node.input]
    return onnx_model.SerializeToString()


def _pixels(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return images.reshape(len(images), -1)


def train_for(data: Dataset, max_train: int | None = MAX_TRAIN, seed: int = 0) -> tuple[bytes, dict]:
    """Train on the first `max_train` training images of `data`; the ONNX bytes, and what the card says of
    it: how it was trained, on what, and its accuracy on the whole test split (by ONNX Runtime, the model
    that is served)."""
    n = len(data.x_train) if not max_train else min(max_train, len(data.x_train))
    model = fit(data.x_train[:n], data.y_train[:n], seed)
    onnx_bytes = to_onnx(model, int(np.prod(data.x_train.shape[1:])))
    probabilities = run_onnx(onnx_bytes, data.x_test)
    accuracy = float((probabilities.argmax(1) == np.asarray(data.y_test)).mean())
    title = data.title or TITLES.get(data.name, data.name)
    found = f" ({len(data.x_train):,} on the machine that trained it)" if n < len(data.x_train) else ""
    info = {"kind": KIND, "dataset": data.name, "train_images": n,
            "trained_on": f"the first {n:,} {title} training images{found}",
            "test_accuracy": round(accuracy, 4), "test_images": len(data.x_test),
            "labels": list(data.class_names), "epochs": int(model.n_iter_), "file": CLASSIFIER_ONNX}
    return onnx_bytes, info


def run_onnx(onnx_bytes: bytes, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, classes) of images by an ONNX classifier (ONNX Runtime, in batches)."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x = _pixels(images)
    return np.concatenate([session.run([PROBABILITIES], {"x": x[i:i + 1000]})[0]
                           for i in range(0, max(len(x), 1), 1000)])


def add_classifier(path: str | Path, data_dir: str | Path | None = None, max_train: int | None = MAX_TRAIN,
                   data: Dataset | None = None, trained: tuple[bytes, dict] | None = None) -> dict:
    """Train a classifier for a finished bundle's dataset (on this machine: never downloaded) and add it:
    classifier.onnx, the card's `classifier` entry and its "Classifier" section. Returns that entry.
    `trained` (train_for's result) gives bundles of one dataset the same classifier, trained once."""
    path = check_bundle(path)
    card = read_json(path / CARD_JSON, {})
    if trained is None:
        if data is None:
            data = load_dataset(card.get("dataset", "mnist"), data_dir, allow_download=False)
        trained = train_for(data, max_train)
    onnx_bytes, info = trained
    card["classifier"] = info
    write_json(path / CARD_JSON, card)
    md = path / CARD_MD
    if md.is_file():  # its own section replaced, the rest of the card (maybe written by hand) kept
        text = _SECTION.sub("", md.read_text()).rstrip("\n")
        write_text(md, text + "\n\n" + "\n".join(card_section(info)) + "\n")
    # Last: the manifest rewritten with it tells caches the bundle changed (the app shows the classifier
    # only once its file is there).
    add_file(path, CLASSIFIER_ONNX, onnx_bytes)
    return info


def add_classifier_or_say_why(path: Path, data: Dataset | None = None, data_dir: str | Path | None = None,
                              max_train: int | None = None) -> dict | None:
    """Give a new bundle (a training's or an import's) its classifier, saying so in the job's log. The model
    is saved already: a classifier that fails leaves it without one (`add-classifier` adds it later)."""
    print("Training the classifier of the dataset's images…", flush=True)
    try:
        info = add_classifier(path, data_dir, min(max_train or MAX_TRAIN, MAX_TRAIN), data=data)
    except Exception as exc:  # noqa: BLE001 (any failure here must not fail a saved model)
        print(f"No classifier ({type(exc).__name__}: {exc}); `python -m vae add-classifier` adds one later.",
              flush=True)
        return None
    print(f"Classifier: test accuracy {100 * info['test_accuracy']:.1f} %.", flush=True)
    return info


def card_section(info: dict) -> list[str]:
    """The model card's "Classifier" section: what it is, what it was trained on, its test accuracy."""
    kind = str(info.get("kind") or "a classifier")
    return ["## Classifier", "",
            f"{kind[:1].upper()}{kind[1:]}, trained on {info.get('trained_on', '?')} "
            f"({info.get('epochs', '?')} epochs); exported to ONNX ({CLASSIFIER_ONNX}). "
            f"**Test accuracy: {100 * float(info.get('test_accuracy', float('nan'))):.1f} %** on the "
            f"{int(info.get('test_images', 0)):,} test images. The app runs it on the decoder's images: "
            "the Latent map's classifier overlay and the Decoder's live class probabilities."]


def bundle_of(model: str) -> Path:
    """A bundle folder named by its path, or by a model id as the app names it: a shipped model's
    (mnist-2d) or a visitor's (user/NAME, under settings.user_models_dir())."""
    given = Path(model)
    if given.is_dir():
        return given
    user, _, name = model.partition("/")
    found = (settings.user_models_dir() / name if user == "user" and name and "/" not in name
             else SHIPPED_DIR / model if "/" not in model else None)
    if found is None or not is_bundle(found):
        raise ValueError(f"{model}: no such model folder or model id.")
    return found
