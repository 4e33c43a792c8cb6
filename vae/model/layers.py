"""The reparameterization layer: z = z_mean + exp(0.5 * z_log_var) * epsilon."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="latent_explorer")
class Sampling(keras.layers.Layer):
    """Draws z ~ N(z_mean, z_std^2) as z_mean + z_std * epsilon, epsilon ~ N(0, I).

    Written this way (the reparameterization trick) so the gradient of the loss reaches
    both heads: z is a deterministic function of z_mean, z_log_var and the noise.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        # exp(0.5 * log var) = sqrt(var) = std: the 0.5 turns a log-variance into a std.
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}
