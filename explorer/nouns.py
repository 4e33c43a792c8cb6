"""What the pages call a model's images and labels: digits for a digit dataset's models, images for others."""

from __future__ import annotations

from vae.bundles.serving import ServedModel
from vae.inputs.data import CLASS_NAMES

DIGIT_DATASETS = ("mnist", "digits")


def is_digit_model(model: ServedModel) -> bool:
    """Whether the model's images are digits: MNIST's or scikit-learn's (by card or config); a model that
    names no dataset is one of MNIST's 28x28 grey kind only."""
    dataset = model.card.get("dataset") or model.config.get("dataset")
    return dataset in DIGIT_DATASETS if dataset else tuple(model.image_shape) == (28, 28, 1)


def noun(*served: ServedModel) -> str:
    """"digit" when every model given is a digit model, else "image"."""
    return "digit" if all(is_digit_model(m) for m in served) else "image"


def things(*served: ServedModel) -> str:
    """The plural: "digits" or "images"."""
    return noun(*served) + "s"


def class_names(model: ServedModel) -> list[str] | None:
    """Label names of the model's dataset (card['dataset']) or its own images' (card['labels']), if known."""
    labels = model.card.get("labels")  # a prepared dataset's, kept on the card: the dataset may be gone
    if isinstance(labels, list) and all(isinstance(label, str) for label in labels):
        return labels
    return CLASS_NAMES.get(model.card.get("dataset", ""))
