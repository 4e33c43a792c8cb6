"""Pure NumPy helpers for the Encode and How-it-works pages: the encoder head's numbers, explained.

Nothing here imports Streamlit, TensorFlow or ONNX Runtime: every function takes the arrays the
served encoder returned (z_mean, z_log_var) and computes what the pages show from them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

from explorer.geometry import pca_project
from explorer.geometry import projected_cov as geometry_projected_cov
from vae.posterior import (  # noqa: F401  (the sections use them as E.*)
    kl_per_dim,
    per_image_elbo,
    reparameterize,
    sample_cloud,
    z_std,
)

# Session-state key under which the Encode page leaves the last drawn/uploaded input
# (a 28x28 float32 array in [0, 1], white ink on black) for the How-it-works page.
CURRENT_INPUT_KEY = "current_input"
CURRENT_INPUT_NAME_KEY = "current_input_name"

COURSE_HEAD_CODE = """\
z_mean    = Dense(latent_dim)(x)
z_log_var = Dense(latent_dim)(x)          # the course called this "sigma"
z = z_mean + exp(0.5 * z_log_var) * epsilon"""


@dataclass(frozen=True)
class Encoding:
    """One image and the encoder's two heads for it, in float64 (the pages do arithmetic on them)."""

    image: np.ndarray  # 28x28 float32, white ink on black: what the encoder saw
    z_mean: np.ndarray
    z_log_var: np.ndarray

    @property
    def z_std(self) -> np.ndarray:
        return z_std(self.z_log_var)

    @property
    def kl(self) -> np.ndarray:
        """KL to the prior per latent dimension, in nats."""
        return kl_per_dim(self.z_mean, self.z_log_var)


def encode(model, image: np.ndarray) -> Encoding:
    """The served model's z_mean and z_log_var for one 28x28 image."""
    x = np.asarray(image).astype(np.float32)
    z_mean, z_log_var = (z[0].astype(np.float64) for z in model.encode(x[None]))
    return Encoding(x, z_mean, z_log_var)


def kl_vs_std(z_mean: float, stds: np.ndarray) -> np.ndarray:
    """The same KL as a function of the std for a fixed mean: 0.5 * (z_mean^2 + s^2 - 1) - log s."""
    s = np.asarray(stds, np.float64)
    return 0.5 * (z_mean**2 + s**2 - 1.0) - np.log(s)


def parametrisations(raw: np.ndarray) -> dict[str, np.ndarray]:
    """One head's raw Dense outputs read three ways, each turned into the std it would mean.

    - as a log-variance (what the model does): std = exp(0.5 * raw), valid for every real number;
    - as a variance: std = sqrt(raw), undefined (NaN) where raw <= 0;
    - as a std: std = raw, meaningless (NaN) where raw <= 0.
    """
    raw = np.asarray(raw, np.float64)
    with np.errstate(invalid="ignore"):
        as_var = np.where(raw > 0, np.sqrt(np.where(raw > 0, raw, 1.0)), np.nan)
    return {
        "raw": raw,
        "std_if_log_variance": np.exp(0.5 * raw),
        "variance_if_log_variance": np.exp(raw),
        "std_if_variance": as_var,
        "std_if_std": np.where(raw > 0, raw, np.nan),
    }


def project(z: np.ndarray, pca: dict | None) -> np.ndarray:
    """Latent points (n, d) onto the 2-D map: themselves when d == 2, else the PCA's first 2 axes."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    return z[:, :2] if pca is None else pca_project(z, np.asarray(pca["components"]), np.asarray(pca["mean"]))


def projected_cov(z_log_var: np.ndarray, pca: dict | None) -> np.ndarray:
    """2x2 covariance of N(z_mean, diag(z_std^2)) on the map (W diag(var) W^T under a projection W)."""
    std = z_std(np.asarray(z_log_var, np.float64).reshape(-1))
    components = np.eye(2, std.size) if pca is None else np.asarray(pca["components"], np.float64)
    return geometry_projected_cov(std, components)[0]


def ellipse(center: np.ndarray, cov: np.ndarray, n_sd: float = 1.0, n_points: int = 73) -> np.ndarray:
    """Points (n_points, 2) of the n_sd contour of a 2-D Gaussian (closed: first == last)."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, np.float64))
    radii = n_sd * np.sqrt(np.clip(vals, 0.0, None))
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    return np.asarray(center, np.float64).reshape(1, 2) + (circle * radii) @ vecs.T


def encoding_record(
    z_mean: np.ndarray,
    z_log_var: np.ndarray,
    *,
    source: str = "",
    model: str = "",
    elbo: dict | None = None,
    neighbors: list[dict] | None = None,
) -> dict:
    """Everything the Encode page computed for one input, as plain JSON-ready Python."""
    z_mean = np.asarray(z_mean, np.float64).reshape(-1)
    z_log_var = np.asarray(z_log_var, np.float64).reshape(-1)
    rec = {
        "source": source,
        "model": model,
        "latent_dim": int(z_mean.size),
        "z_mean": z_mean.tolist(),
        "z_log_var": z_log_var.tolist(),
        "z_std": z_std(z_log_var).tolist(),
        "kl_per_dim": kl_per_dim(z_mean, z_log_var).tolist(),
    }
    if elbo is not None:
        rec.update({k: elbo[k] for k in ("reconstruction_loss", "kl_loss", "neg_elbo") if k in elbo})
    if neighbors is not None:
        rec["neighbors"] = neighbors
    return rec


def record_json(record: dict) -> str:
    return json.dumps(record, indent=2) + "\n"


def record_csv(record: dict) -> str:
    """One row per latent dimension: dim, z_mean, z_log_var, z_std, kl."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dim", "z_mean", "z_log_var", "z_std", "kl"])
    columns = (record["z_mean"], record["z_log_var"], record["z_std"], record["kl_per_dim"])
    for i, row in enumerate(zip(*columns)):
        w.writerow([i, *(f"{v:.6g}" for v in row)])
    return buf.getvalue()


def fmt_vec(v: np.ndarray, digits: int = 3, max_items: int = 8) -> str:
    """A short printed vector for code blocks: [0.123, -1.5, ...] (at most max_items shown)."""
    v = np.asarray(v, np.float64).reshape(-1)
    items = [f"{x:.{digits}f}" for x in v[:max_items]]
    if v.size > max_items:
        items.append(f"… ({v.size} values)")
    return "[" + ", ".join(items) + "]"
