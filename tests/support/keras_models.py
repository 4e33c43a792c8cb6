"""Foreign Keras VAEs as users write them (keras-io's example, the course's shape, refused layers), for the
import tests: built here with untrained weights."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops


class Sampling(layers.Layer):
    """keras-io examples/generative/vae.py's sampling layer (not registered)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


@keras.saving.register_keras_serializable(package="course")
class CourseSampling(layers.Layer):
    """The course notebook's sampling layer (registered): mu + exp(0.5 * sigma) * eps."""

    def call(self, inputs):
        mu, sigma = inputs
        return mu + ops.exp(0.5 * sigma) * keras.random.normal(ops.shape(mu))


@keras.saving.register_keras_serializable(package="evil")
class MyScale(layers.Layer):
    """A custom layer that is not a sampling layer: never allowed."""

    def call(self, x):
        return x * 2.0


def keras_example(latent_dim: int = 2):
    """keras-io examples/generative/vae.py, layer for layer (smaller Dense)."""
    # Keras names unnamed layers from a process-wide counter ("sampling", then "sampling_2"): start it afresh,
    # so the layers are named as in a user's own fresh process whichever test built a model first.
    keras.backend.clear_session()
    x_in = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(x_in)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(x_in, [z_mean, z_log_var, z], name="encoder")
    z_in = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(z_in)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    out = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return encoder, keras.Model(z_in, out, name="decoder")


def course_model(latent_dim: int = 3):
    """The course's shape: BatchNorm, heads latent_mu / latent_sigma (a log-variance), a separate sigmoid."""
    x_in = keras.Input(shape=(28, 28, 1), name="encoder_input")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x_in)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    mu = layers.Dense(latent_dim, name="latent_mu")(x)
    sigma = layers.Dense(latent_dim, name="latent_sigma")(x)
    z = CourseSampling(name="z")([mu, sigma])
    encoder = keras.Model(x_in, [mu, sigma, z], name="encoder")
    z_in = keras.Input(shape=(latent_dim,), name="decoder_input")
    x = layers.Dense(7 * 7 * 16, activation="relu")(z_in)
    x = layers.BatchNormalization()(x)
    x = layers.Reshape((7, 7, 16))(x)
    x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(1, 3, padding="same")(x)
    x = layers.Activation("sigmoid")(x)
    out = layers.Reshape((28, 28))(x)  # a 28x28 output (no channel axis) is accepted too
    decoder = keras.Model(z_in, out, name="decoder")
    # Move the BatchNorm statistics away from their initial values, as training would.
    rng = np.random.default_rng(0)
    for model in (encoder, decoder):
        for layer in model.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.moving_mean.assign(rng.normal(size=layer.moving_mean.shape) * 0.1)
                layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=layer.moving_variance.shape))
    return encoder, decoder


def lambda_encoder(marker: Path):
    """The Keras example with a Lambda whose function writes a marker file when it runs."""
    x_in = keras.Input(shape=(28, 28, 1))
    x = layers.Lambda(lambda t, p=str(marker): (open(p, "w").close(), t)[1])(x_in)
    x = layers.Flatten()(x)
    z_mean = layers.Dense(2, name="z_mean")(x)
    z_log_var = layers.Dense(2, name="z_log_var")(x)
    return keras.Model(x_in, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])])


def wide_decoder(hidden: int, latent_dim: int = 2):
    """A decoder of one hidden Dense layer `hidden` wide: (latent_dim + 785) × hidden + 784 parameters."""
    z_in = keras.Input(shape=(latent_dim,))
    x = layers.Dense(hidden, activation="relu")(z_in)
    x = layers.Dense(784, activation="sigmoid")(x)
    return keras.Model(z_in, layers.Reshape((28, 28, 1))(x), name="decoder")
