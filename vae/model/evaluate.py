"""Test-split evaluation: negative ELBO (one z per image), its terms, KL per dim, active units."""

from __future__ import annotations

import numpy as np

from vae.model.posterior import ACTIVE_UNIT_THRESHOLD, bce_from_logits, reparameterize
from vae.model.posterior import kl_per_dim as kl_per_dim_np


def encode_all(encoder, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """z_mean and z_log_var for every image, BatchNorm in inference mode."""
    means, log_vars = [], []
    for i in range(0, len(images), batch_size):
        m, lv = encoder(images[i : i + batch_size], training=False)
        means.append(np.asarray(m))
        log_vars.append(np.asarray(lv))
    return np.concatenate(means), np.concatenate(log_vars)


def evaluate(vae, images: np.ndarray, seed: int = 0, batch_size: int = 500) -> dict:
    """All metrics in nats per image, averaged over `images`."""
    z_mean, z_log_var = encode_all(vae.encoder, images, batch_size)
    rng = np.random.default_rng(seed)
    epsilon = rng.standard_normal(z_mean.shape).astype(np.float32)
    z = reparameterize(z_mean, z_log_var, epsilon).astype(np.float32)
    rec, rec_at_mean = [], []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        rec.append(bce_from_logits(x, np.asarray(vae.decoder(z[i : i + batch_size], training=False))))
        rec_at_mean.append(bce_from_logits(x, np.asarray(vae.decoder(z_mean[i : i + batch_size],
                                                                      training=False))))
    rec, rec_at_mean = np.concatenate(rec), np.concatenate(rec_at_mean)
    kl_dims = kl_per_dim_np(z_mean, z_log_var)
    kl = kl_dims.sum(axis=1)
    return {
        "neg_elbo": float(np.mean(rec + kl)),
        "reconstruction_loss": float(np.mean(rec)),
        "kl_loss": float(np.mean(kl)),
        "kl_per_dim": [float(v) for v in kl_dims.mean(axis=0)],
        "active_units": int(np.sum(z_mean.var(axis=0) > ACTIVE_UNIT_THRESHOLD)),
        "neg_elbo_at_mean": float(np.mean(rec_at_mean + kl)),
        "reconstruction_loss_at_mean": float(np.mean(rec_at_mean)),
        "n": int(len(images)),
        "seed": seed,
    }
