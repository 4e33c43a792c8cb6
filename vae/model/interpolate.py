"""Paths between two latent codes in NumPy: straight (linear) and spherical (slerp)."""

from __future__ import annotations

import numpy as np

PATHS = ("linear", "spherical")
# Below this angle (radians) between the two codes, slerp's 1 / sin(Ω) blows up and the arc is a line.
MIN_ANGLE = 1e-6


def linear(z_start: np.ndarray, z_end: np.ndarray, steps: int) -> np.ndarray:
    """`steps` codes on the straight line from z_start to z_end, both ends included: (steps, d)."""
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    return (1 - t) * np.asarray(z_start, np.float64) + t * np.asarray(z_end, np.float64)


def spherical(z_start: np.ndarray, z_end: np.ndarray, steps: int) -> np.ndarray:
    """`steps` codes on the great-circle arc from z_start to z_end (slerp, Shoemake 1985, as White 2016 uses
    it for generative models), both ends included: (steps, d).

    The weights sin((1 − t)Ω) / sin Ω and sin(tΩ) / sin Ω, with Ω the angle between the codes seen from the
    origin, keep a path through the prior's shell instead of cutting through its low-norm middle, where a
    Gaussian prior puts almost no codes in many dimensions. Codes at (nearly) one angle, or a zero code,
    have no arc: the path is then the straight line.
    """
    a, b = np.asarray(z_start, np.float64), np.asarray(z_end, np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return linear(a, b, steps)
    omega = float(np.arccos(np.clip(a @ b / norms, -1.0, 1.0)))
    if np.sin(omega) < MIN_ANGLE:
        return linear(a, b, steps)
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def path(z_start: np.ndarray, z_end: np.ndarray, steps: int, kind: str = "linear") -> np.ndarray:
    """The path of the given kind ("linear" or "spherical") with `steps` codes, both ends included."""
    if kind not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {kind!r}")
    if int(steps) < 2:
        raise ValueError("an interpolation needs at least 2 steps (its two ends)")
    return (linear if kind == "linear" else spherical)(z_start, z_end, steps)
