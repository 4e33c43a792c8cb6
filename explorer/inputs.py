"""A visitor's image, uploaded or drawn, made an MNIST-like 28x28 input (vae.inputs.preprocess works)."""

from __future__ import annotations

from vae.inputs.preprocess import (
    CANVAS_SIDE,
    CANVAS_STROKE,
    MNIST_STROKE,
    ImageError,
    Preprocessed,
    preprocess_bytes,
    to_mnist,
)

__all__ = ["CANVAS_SIDE", "CANVAS_STROKE", "MNIST_STROKE", "ImageError", "Preprocessed", "preprocess_bytes",
           "to_mnist"]
