"""Encode's sections for models of a visitor's own images: any picture cropped and resized, in colour."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from explorer import pictures as pics
from vae.bundles.serving import ServedModel
from vae.inputs import picture, prepared
from vae.inputs.picture import Fitted

DIGIT_DATASETS = ("mnist", "digits")  # the datasets whose models get the digit clean-up of photos
# What the page calls the images of a model of a visitor's own images: any picture, no digits.
OWN = {"title": "Encode your own image", "one": "one picture", "a": "a picture", "noun": "picture",
       "things": "images", "draw": "Draw a picture",
       "camera": "Hold what you want to encode up to the camera so that it fills the middle of the frame, "
                 "and take the photo."}


def own_images(model: ServedModel) -> bool:
    """Whether the model was trained on a prepared dataset (a visitor's own images, any size or colour)."""
    dataset = model.card.get("dataset") or model.config.get("dataset") or ""
    return prepared.is_prepared_name(dataset) or tuple(model.image_shape) != (28, 28, 1)


def pipeline_note(model: ServedModel) -> str:
    """Which preprocessing ran, in one sentence the page shows above the pictures."""
    h, w, c = model.image_shape
    if own_images(model):
        return (f"Pipeline: **your own images'** — {picture.FITS[fit_of(model)]} and resized to {h}×{w} "
                f"{'in colour' if c == 3 else 'in grey'}, as this model's training images were. The digit "
                "clean-up of photos (inverting, evening the light, removing lines, MNIST's stroke width) is "
                "for digit models only, and did not run.")
    dataset = model.card.get("dataset") or model.config.get("dataset")
    if dataset in DIGIT_DATASETS or not dataset:
        return ("Pipeline: **MNIST's digit clean-up** — light evened, ruled lines and specks removed, "
                "cropped to the ink and centred in 28×28 as MNIST's digits were.")
    return ("Pipeline: **MNIST's format** — cropped to the ink and centred in 28×28 as the dataset's images "
            "were; strokes are left as drawn.")


def fit_of(model: ServedModel) -> str:
    """How the model's training images were made square ("crop" or "pad"; its card's, else crop)."""
    fit = model.card.get("fit", "crop")
    return fit if fit in picture.FITS else "crop"


def fit_bytes(data: bytes, model: ServedModel) -> Fitted:
    """An upload or photo as this model takes it (picture.ImageError, an ImageError, says why not)."""
    return picture.fit_bytes(data, model.image_shape, fit_of(model))


def fit_drawing(rgba: np.ndarray, model: ServedModel) -> Fitted:
    """The canvas's drawing (white strokes on black) as this model takes it."""
    return picture.to_model_input(Image.fromarray(np.asarray(rgba, np.uint8)).convert("RGB"),
                                  model.image_shape, fit_of(model))


def preprocessing(fitted: Fitted, words: dict[str, str]) -> None:
    """1: the picture, its square crop and the model's input, each at one height."""
    from explorer.sections.encode import STEP_MIN_WIDTH, step_sizes  # encode imports this module

    h, w = fitted.image.shape[:2]
    st.subheader(f"1 · Preprocessing: from your {words['noun']} to the model's {h}×{w} input")
    pictures = [fitted.original, fitted.cropped, fitted.image]
    height, widths = step_sizes(pictures)
    with st.container(horizontal=True):
        for shown, caption, width in zip(pictures, fitted.steps, widths):
            with st.container(width=max(width, STEP_MIN_WIDTH), gap="xxsmall"):
                alt = f"your {words['noun']}: {caption[0].lower()}{caption[1:]}"
                st.image(pics.at_height(shown, 2 * height), width=width, alt=alt, output_format="PNG")
                st.caption(caption)
