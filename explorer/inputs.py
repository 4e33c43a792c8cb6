"""A visitor's image, uploaded or drawn, made an MNIST-like 28x28 input (vae.preprocess does the work)."""

from __future__ import annotations

from vae.preprocess import (
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
