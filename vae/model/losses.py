"""Loss terms of the VAE as free functions: reconstruction (Bernoulli), analytic KL and its weight."""

from __future__ import annotations

from keras import ops


def reconstruction_loss(x, logits):
    """Per-image binary cross-entropy summed over pixels, from decoder logits (nats).

    Uses the stable form max(l, 0) - l*x + log(1 + exp(-|l|)); targets may be grey levels.
    """
    per_pixel = ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(per_pixel, (ops.shape(x)[0], -1)), axis=1)


def kl_per_dim(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, 1)) per latent dimension (Kingma & Welling 2014, App. B)."""
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def kl_loss(z_mean, z_log_var):
    """Analytic KL divergence to the standard normal prior, summed over latent dims (nats)."""
    return ops.sum(kl_per_dim(z_mean, z_log_var), axis=1)


def kl_weight(beta: float, step, warmup_steps: int):
    """The KL term's weight at training step `step`: beta, or during a KL warm-up of `warmup_steps` steps
    (Sønderby et al. 2016) a linear ramp from 0 to beta."""
    if not warmup_steps:
        return beta
    return beta * ops.minimum(1.0, step / warmup_steps)
