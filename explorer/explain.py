"""Pure NumPy helpers for the Encode and How-it-works pages: the encoder head's numbers, explained."""

# Nothing here imports Streamlit, TensorFlow or ONNX Runtime: every function takes the arrays the
# served encoder returned (z_mean, z_log_var) and computes what the pages show from them.

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image

from explorer.geometry import pca_project
from explorer.geometry import projected_cov as geometry_projected_cov
from vae.model.posterior import (  # noqa: F401  (the sections use them as explain.*)
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


def as_input(image: np.ndarray, model) -> np.ndarray:
    """An input left by the Encode page, as this model takes it: resized (and made colour or grey) when it
    was made for a model of another size, e.g. a 28x28 digit taken to a 32x32 colour model."""
    x = np.asarray(image, np.float32)
    if x.size != int(np.prod(model.image_shape)):
        picture = Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8))
        picture = picture.convert("RGB" if model.image_shape[-1] == 3 else "L")
        x = np.asarray(picture.resize(tuple(model.image_shape[1::-1])), np.float32) / 255.0  # (W, H)
    return x.reshape(model.picture_shape)


def encode(model, image: np.ndarray) -> Encoding:
    """The served model's z_mean and z_log_var for one image of its shape (28x28 for MNIST's)."""
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



# ----------------------------------------------------------------------------- How it works, mended

def glossary(beta: str) -> str:
    """The page's one-line glossary; `beta` is this model's β in words (training_facts.beta_phrase)."""
    return ("**nats**: loss units, information measured with the natural log (1 nat ≈ 1.44 bits) · "
            "**ELBO**: the evidence lower bound on log p(x); −ELBO = reconstruction + KL, and a VAE with "
            f"weight β trains on reconstruction + β·KL, this model with {beta} · **KL**: the "
            "Kullback–Leibler divergence, how far this input's N(z_mean, z_std²) is from the prior · "
            "**prior**: N(0, I), the distribution z is drawn from to generate new images")


# z_std scaled by 20^-1 … 20^1; the middle factor is exactly 1, the learned z_std.
SPREAD_FACTORS = 20.0 ** np.linspace(-1.0, 1.0, 33)


def magnified(z_mean: np.ndarray, samples: np.ndarray, factor: float) -> np.ndarray:
    """The same draws with z_std multiplied by `factor`: z_mean + factor · z_std · ε (ε unchanged)."""
    z_mean = np.asarray(z_mean, np.float64)
    return z_mean + factor * (np.asarray(samples, np.float64) - z_mean)


def spread_curve(decode, x: np.ndarray, z_mean: np.ndarray, z_log_var: np.ndarray, beta: float = 1.0,
                 factors: np.ndarray = SPREAD_FACTORS, n_eps: int = 16, seed: int = 0) -> dict:
    """One input's loss terms as its z_std is scaled by each factor, z_mean fixed.

    Reconstruction: the expected Bernoulli loss E_ε[BCE(x, decode(z_mean + f · z_std · ε))], estimated
    with the same `n_eps` draws of ε for every factor (common random numbers: a smooth curve); KL in
    closed form. The total is the model's own loss, reconstruction + β·KL. Returns the arrays, the index of
    the total's minimum and that of factor 1 (the learned z_std).
    """
    z_mean = np.asarray(z_mean, np.float64).reshape(-1)
    z_log_var = np.asarray(z_log_var, np.float64).reshape(-1)
    factors = np.asarray(factors, np.float64)
    eps = np.random.default_rng(seed).standard_normal((n_eps, z_mean.size))
    z = z_mean + factors[:, None, None] * z_std(z_log_var) * eps  # (factors, n_eps, d)
    p = np.clip(np.asarray(decode(z.reshape(-1, z_mean.size)), np.float64), 1e-7, 1 - 1e-7)
    p = p.reshape(len(factors), n_eps, -1)
    t = np.asarray(x, np.float64).reshape(1, 1, -1)
    reconstruction = -(t * np.log(p) + (1 - t) * np.log1p(-p)).sum(-1).mean(1)
    kl = np.array([kl_per_dim(z_mean, z_log_var + 2.0 * np.log(f)).sum() for f in factors])
    total = reconstruction + beta * kl
    return {"factor": factors, "reconstruction": reconstruction, "kl": kl, "beta": float(beta),
            "total": total, "best": int(np.argmin(total)), "learned": int(np.argmin(np.abs(np.log(factors)))),
            "n_eps": n_eps}


def expected_code(x: np.ndarray, enc: Encoding) -> str:
    """What a learner might expect the "mean" to be (a statistic of the pixels) beside what z_mean is."""
    x = np.asarray(x, np.float64)
    d = enc.z_mean.size
    per_input = f"# {d} learned number{'s' * (d != 1)} for this input"
    return (f"tf.reduce_mean(x)     = {x.mean():.4f}   # one number: the average of the {x.size} pixels\n"
            f"tf.math.reduce_std(x) = {x.std():.4f}   # one number: how much the pixels vary\n"
            f"z_mean                = {fmt_vec(enc.z_mean)}   {per_input}\n"
            f"z_std                 = {fmt_vec(enc.z_std)}   {per_input}")


def batch_shapes_code(latent_dim: int, batch: int) -> str:
    """The heads' and ε's shapes in one training batch, with this model's latent_dim."""
    shape = f"({batch}, {latent_dim})"
    rows = [("x", "one batch of images", f"({batch}, 28, 28, 1)"),
            ("z_mean", f"Dense({latent_dim})(h)", f"{shape}: one row per image"),
            ("z_log_var", f"Dense({latent_dim})(h)", f"{shape}: one row per image"),
            ("epsilon", f"tf.random.normal(shape={shape})",
             f"{shape}: drawn per image, per dimension, per step"),
            ("z", "z_mean + tf.exp(0.5 * z_log_var) * epsilon", shape)]
    width = max(len(code) for _, code, _ in rows)
    return "\n".join(f"{name:<9} = {code:<{width}}   # {comment}" for name, code, comment in rows)


def first_of_another_label(labels: np.ndarray, first: int) -> int:
    """The first position whose label differs from position `first`'s (the two-input comparison's default)."""
    labels = np.asarray(labels)
    other = np.flatnonzero(labels != labels[first])
    return int(other[0]) if other.size else first


def gallery_row(labels: np.ndarray, label: int, k: int) -> int:
    """The gallery row of the k-th (from 0, clamped) image of `label`."""
    rows = np.flatnonzero(np.asarray(labels) == label)
    return int(rows[min(max(int(k), 0), len(rows) - 1)])
