"""What the pages call a model's images: digits for a digit dataset's models, images for any other."""

from __future__ import annotations

from vae.bundles.serving import ServedModel

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
