"""The posterior's maths in NumPy: z_std, sampling z, KL per dimension, BCE, per-image ELBO, active units."""

from __future__ import annotations

import numpy as np

# Burda et al. 2016: a unit is active if the variance over inputs of its z_mean, Var_x[E[z_j | x]], > 0.01.
ACTIVE_UNIT_THRESHOLD = 0.01


def z_std(z_log_var: np.ndarray) -> np.ndarray:
    """The encoder's spread: z_log_var is a log-variance, so z_std = exp(0.5 * z_log_var)."""
    return np.exp(0.5 * np.asarray(z_log_var, np.float64))


def reparameterize(z_mean: np.ndarray, z_log_var: np.ndarray, epsilon: np.ndarray) -> np.ndarray:
    """z = z_mean + z_std * epsilon, broadcasting z_mean/z_log_var (d,) against epsilon (n, d)."""
    return np.asarray(z_mean, np.float64) + z_std(z_log_var) * np.asarray(epsilon, np.float64)


def sample_cloud(
    z_mean: np.ndarray, z_log_var: np.ndarray, n: int, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """n draws z ~ N(z_mean, z_std^2) via the reparameterization; returns (z, epsilon), each (n, d)."""
    z_mean = np.asarray(z_mean, np.float64).reshape(-1)
    epsilon = np.random.default_rng(seed).standard_normal((int(n), z_mean.size))
    return reparameterize(z_mean, np.asarray(z_log_var).reshape(-1), epsilon), epsilon


def kl_per_dim(z_mean: np.ndarray, z_log_var: np.ndarray) -> np.ndarray:
    """KL(N(z_mean, z_std²) || N(0, 1)) per dimension, in nats (Kingma & Welling 2014, App. B)."""
    z_mean = np.asarray(z_mean, np.float64)
    z_log_var = np.asarray(z_log_var, np.float64)
    return -0.5 * (1.0 + z_log_var - z_mean**2 - np.exp(z_log_var))


def unit_activity(z_mean: np.ndarray, z_log_var: np.ndarray) -> dict[str, np.ndarray]:
    """Per latent dimension, over a set of inputs (n, d): the variance of z_mean, the mean z_std, the mean
    KL in nats, and `active` (variance above ACTIVE_UNIT_THRESHOLD)."""
    z_mean = np.asarray(z_mean, np.float64)
    variance = z_mean.var(axis=0)
    return {"variance": variance, "z_std": z_std(z_log_var).mean(axis=0),
            "kl": kl_per_dim(z_mean, z_log_var).mean(axis=0), "active": variance > ACTIVE_UNIT_THRESHOLD}


def bce_from_logits(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Bernoulli reconstruction loss per image in nats, from the decoder's logits (numerically stable)."""
    per_pixel = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def bce_from_probabilities(x: np.ndarray, x_prob: np.ndarray) -> float:
    """One image's Bernoulli reconstruction loss in nats, from pixel probabilities (kept off 0 and 1)."""
    p = np.clip(np.asarray(x_prob, np.float64).reshape(-1), 1e-7, 1 - 1e-7)
    t = np.asarray(x, np.float64).reshape(-1)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).sum())


def per_image_elbo(x: np.ndarray, x_prob: np.ndarray, z_mean: np.ndarray, z_log_var: np.ndarray) -> dict:
    """One image's negative ELBO split into reconstruction (Bernoulli, nats) and KL per dimension."""
    rec = bce_from_probabilities(x, x_prob)
    kl_dims = kl_per_dim(z_mean, z_log_var)
    return {"reconstruction_loss": rec, "kl_per_dim": kl_dims.tolist(), "kl_loss": float(kl_dims.sum()),
            "neg_elbo": rec + float(kl_dims.sum())}
