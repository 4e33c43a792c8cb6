"""Attribute directions in latent space, in NumPy: group mean differences, and attributes of images
(ink, slant, width, height) regressed on z_mean with R² on held-out images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Attributes computed from every image: name -> what it measures, in the words a page shows.
ATTRIBUTES = {
    "ink": "ink amount (mean pixel intensity)",
    "slant": "slant (shear of the ink, from its second moments; > 0 leans right)",
    "width": "width of the ink (columns with ink, in pixels)",
    "height": "height of the ink (rows with ink, in pixels)",
}
INK_THRESHOLD = 0.3  # a pixel brighter than this (images in [0, 1]) counts as ink for width and height
HELD_OUT = 0.2  # the share of images kept out of the fit, for R²


@dataclass(frozen=True)
class Direction:
    """A direction in z: `vector` (d,), scaled so that k = 1 is one `unit` (what adding it once means)."""

    vector: np.ndarray
    how: str  # how it was made, in words
    unit: str  # what k = 1 moves
    r2: float | None = None  # how well z_mean predicts the attribute on held-out images (regressions only)


def group_direction(z_from: np.ndarray, z_to: np.ndarray) -> np.ndarray:
    """mean(z_to) − mean(z_from): k = 1 carries the first group's mean code to the second's."""
    z_from, z_to = np.asarray(z_from, np.float64), np.asarray(z_to, np.float64)
    if len(z_from) == 0 or len(z_to) == 0:
        raise ValueError("each group needs at least one code")
    return z_to.mean(0) - z_from.mean(0)


def image_attributes(images: np.ndarray) -> dict[str, np.ndarray]:
    """Every attribute of ATTRIBUTES for each image of (n, h, w) (or (n, h, w, 1)) in [0, 1]: (n,) each."""
    x = np.asarray(images, np.float32).reshape(len(images), *np.shape(images)[1:3])
    n, h, w = x.shape
    rows = np.arange(h, dtype=np.float64)
    cols = np.arange(w, dtype=np.float64)
    # Raw moments through matrix products (one pass over the pixels each), central ones from them: three
    # einsums over (n, h, w) took four times as long.
    ones = np.ones(w, np.float32)
    row_mass = (x @ ones).astype(np.float64)  # (n, h): BLAS; a sum over a short last axis is slow in NumPy
    col_mass = x.sum(1).astype(np.float64)  # (n, w)
    mass = row_mass.sum(1)
    safe = np.where(mass > 0, mass, 1.0)
    cy = row_mass @ rows / safe  # centroid row
    cx = col_mass @ cols / safe  # centroid column
    mu02 = row_mass @ (rows * rows) / safe - cy * cy
    mu11 = (x @ cols.astype(np.float32)).astype(np.float64) @ rows / safe - cy * cx
    # Rows grow downwards: ink whose top lies right of its bottom has x falling as y grows, mu11 < 0.
    slant = np.where(mu02 > 1e-6, -mu11 / np.where(mu02 > 1e-6, mu02, 1.0), 0.0)
    ink = (x > INK_THRESHOLD).astype(np.float32)  # counted per row by BLAS too, as above
    return {"ink": mass / (h * w), "slant": slant,
            "width": _extent(ink.sum(1) > 0), "height": _extent(ink @ ones > 0)}


def _extent(present: np.ndarray) -> np.ndarray:
    """From the first to the last True of each row of (n, k), in cells; 0 where none is True."""
    k = present.shape[1]
    first = present.argmax(1)
    last = k - 1 - present[:, ::-1].argmax(1)
    return np.where(present.any(1), last - first + 1, 0).astype(np.float32)


def held_out_split(n: int, share: float = HELD_OUT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows): a fixed random `share` of n kept out of the fit."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(n * share)))
    return np.sort(order[k:]), np.sort(order[:k])


def attribute_fit(z_mean: np.ndarray, values: np.ndarray, share: float = HELD_OUT,
                  seed: int = 0) -> tuple[np.ndarray, float, float]:
    """Least squares values ≈ z_mean · w + b on all but a held-out share; (w, R² on the held-out rows,
    the attribute's standard deviation)."""
    z = np.asarray(z_mean, np.float64)
    y = np.asarray(values, np.float64)
    fit, held = held_out_split(len(z), share, seed)
    design = np.column_stack([z[fit], np.ones(len(fit))])
    # The normal equations, (d + 1) × (d + 1): lstsq's SVD of the whole design matrix took 0.2 s for 16-D
    # codes on a busy 2-core machine; a collapsed (constant) unit makes them singular, and lstsq copes.
    try:
        coef = np.linalg.solve(design.T @ design, design.T @ y[fit])
    except np.linalg.LinAlgError:
        coef = np.linalg.lstsq(design, y[fit], rcond=None)[0]
    predicted = z[held] @ coef[:-1] + coef[-1]
    total = float(((y[held] - y[held].mean()) ** 2).sum())
    r2 = 1.0 - float(((y[held] - predicted) ** 2).sum()) / total if total > 0 else 0.0
    return coef[:-1], r2, float(y.std())


def attribute_direction(z_mean: np.ndarray, values: np.ndarray, name: str = "attribute",
                        share: float = HELD_OUT, seed: int = 0) -> Direction:
    """The direction in which the fitted attribute grows fastest, w / |w|², scaled by the attribute's
    standard deviation: adding it once raises the predicted attribute by one standard deviation."""
    w, r2, spread = attribute_fit(z_mean, values, share, seed)
    norm2 = float(w @ w)
    vector = w * spread / norm2 if norm2 > 0 else np.zeros_like(w)
    return Direction(vector, f"{name} regressed on z_mean", f"one standard deviation of {name} "
                     f"({spread:.3g})", r2)


def along(z: np.ndarray, vector: np.ndarray, k: float, steps: int) -> np.ndarray:
    """z + t · vector for `steps` t evenly from −k to +k: (steps, d)."""
    t = np.linspace(-float(k), float(k), int(steps))[:, None]
    return np.asarray(z, np.float64) + t * np.asarray(vector, np.float64)
