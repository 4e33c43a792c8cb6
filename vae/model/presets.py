"""Encoder/decoder architectures (presets `course`, `default` and `colour`) and the VAE training model."""

from __future__ import annotations

import keras
from keras import layers, ops

from vae.model.config import ModelConfig
from vae.model.layers import Sampling
from vae.model.losses import kl_loss, kl_per_dim, kl_weight, reconstruction_loss


def _course_encoder(cfg: ModelConfig) -> keras.Model:
    """The course's encoder, layer for layer; its 'sigma' head is named for what it is."""
    x_in = keras.Input(cfg.image_shape, name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x_in)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    z_mean = layers.Dense(cfg.latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(cfg.latent_dim, name="z_log_var")(x)  # the course's "sigma"
    return keras.Model(x_in, [z_mean, z_log_var], name="encoder")


def _course_decoder(cfg: ModelConfig) -> keras.Model:
    """Mirror image of the course encoder with Conv2DTranspose; outputs pixel logits."""
    z_in = keras.Input((cfg.latent_dim,), name="z")
    x = layers.Dense(20, activation="relu")(z_in)
    x = layers.BatchNormalization()(x)
    side = _start_side(cfg)
    x = layers.Dense(side * side * 64, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Reshape((side, side, 64))(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    logits = layers.Conv2DTranspose(cfg.image_shape[-1], 3, padding="same", name="logits")(x)
    return keras.Model(z_in, logits, name="decoder")


def _default_encoder(cfg: ModelConfig) -> keras.Model:
    """A plain conv encoder, no BatchNorm: `wide` or `deep` (see vae.model.config.ENCODERS)."""
    x_in = keras.Input(cfg.image_shape, name="image")
    x = x_in
    if cfg.input_dropout:  # training only; tried against the encoder's test gap, it made the 2-D model worse
        x = layers.Dropout(cfg.input_dropout, name="input_dropout")(x)
    if cfg.encoder == "deep":
        # A stride-1 conv before each of three strided ones and a narrower Dense layer: fewer weights
        # that can memorise training images, so codes for new images come out closer to their best ones.
        for filters in (32, 64, 128):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Flatten()(x)
        x = layers.Dense(256, activation="relu")(x)
    else:
        x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Flatten()(x)
        x = layers.Dense(512, activation="relu")(x)
    rate = cfg.dropout if cfg.encoder_dropout is None else cfg.encoder_dropout
    if rate:  # regularises the 1.6 M-weight Dense layer, which otherwise memorises 20k images
        x = layers.Dropout(rate)(x)
    z_mean = layers.Dense(cfg.latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(cfg.latent_dim, name="z_log_var")(x)
    return keras.Model(x_in, [z_mean, z_log_var], name="encoder")


def _default_decoder(cfg: ModelConfig) -> keras.Model:
    """Mirror of the default encoder; outputs pixel logits."""
    z_in = keras.Input((cfg.latent_dim,), name="z")
    x = layers.Dense(512, activation="relu")(z_in)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout)(x)
    side = _start_side(cfg)
    x = layers.Dense(side * side * 64, activation="relu")(x)
    x = layers.Reshape((side, side, 64))(x)
    f1, f2 = cfg.decoder_filters
    x = layers.Conv2DTranspose(f1, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(f2, 3, strides=2, padding="same", activation="relu")(x)
    logits = layers.Conv2D(cfg.image_shape[-1], 3, padding="same", name="logits")(x)
    return keras.Model(z_in, logits, name="decoder")


def _start_side(cfg: ModelConfig) -> int:
    """The side of the default and course decoders' first feature map: two stride-2 layers double it twice
    (7 for 28x28 images, as these presets were made for; 8 for 32x32, 16 for 64x64)."""
    return cfg.image_shape[0] // 4


# The colour preset's filters per stride-2 step, from the image down: each step halves the side, down to 4x4
# (3 steps for 32x32, 4 for 64x64), so the Dense layers stay small whatever the image size. A 64x64 colour
# image has 15 times MNIST's values: the default preset's 2 steps would leave a 16x16x64 map, and 8 M weights
# in its Dense layer.
COLOUR_FILTERS = (32, 64, 128, 256)
COLOUR_DENSE = 256


def _colour_steps(cfg: ModelConfig) -> int:
    return (cfg.image_shape[0] // 4).bit_length() - 1  # log2(side / 4): 3 for 32, 4 for 64


def _colour_encoder(cfg: ModelConfig) -> keras.Model:
    """Stride-2 4x4 convolutions down to a 4x4 map, then a Dense layer: for 32x32 and 64x64 images, colour
    or grey."""
    x_in = keras.Input(cfg.image_shape, name="image")
    x = x_in
    for filters in COLOUR_FILTERS[:_colour_steps(cfg)]:
        x = layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(COLOUR_DENSE, activation="relu")(x)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout)(x)
    z_mean = layers.Dense(cfg.latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(cfg.latent_dim, name="z_log_var")(x)
    return keras.Model(x_in, [z_mean, z_log_var], name="encoder")


def _colour_decoder(cfg: ModelConfig) -> keras.Model:
    """Mirror of the colour encoder: a Dense layer to a 4x4 map, transposed convolutions back up to the image
    size, and a 3x3 convolution to one logit per pixel value (each colour channel)."""
    steps = _colour_steps(cfg)
    filters = COLOUR_FILTERS[:steps][::-1]
    z_in = keras.Input((cfg.latent_dim,), name="z")
    x = layers.Dense(COLOUR_DENSE, activation="relu")(z_in)
    if cfg.dropout:
        x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(4 * 4 * filters[0], activation="relu")(x)
    x = layers.Reshape((4, 4, filters[0]))(x)
    for f in filters:
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu")(x)
    logits = layers.Conv2D(cfg.image_shape[-1], 3, padding="same", name="logits")(x)
    return keras.Model(z_in, logits, name="decoder")


_BUILDERS = {
    "course": (_course_encoder, _course_decoder),
    "default": (_default_encoder, _default_decoder),
    "colour": (_colour_encoder, _colour_decoder),
}


class VAE(keras.Model):
    """Encoder + sampling + decoder, trained on reconstruction + beta * KL (the negative ELBO)."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, beta: float = 1.0, seed: int | None = None,
                 augment_shift: int = 0, **kwargs):
        super().__init__(**kwargs)
        # Shifted copies of the training images are new images the decoder cannot memorise;
        # the target is the shifted image itself, so the ELBO being optimised is unchanged.
        side = encoder.input_shape[1]  # a shift in pixels, as a fraction of the image's side
        self.augment = (layers.RandomTranslation(augment_shift / side, augment_shift / side,
                                                 fill_mode="constant", interpolation="nearest", seed=seed)
                        if augment_shift else None)
        if self.augment is not None:
            self.augment.build((None, *encoder.input_shape[1:]))  # built up front: call() never uses it
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.kl_warmup_steps = 0  # > 0: the KL weight ramps from 0 to beta over this many training steps
        self.sampling = Sampling(seed=seed, name="sampling")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, x, training=False):
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampling([z_mean, z_log_var])
        return self.decoder(z, training=training)

    def loss_terms(self, x, training: bool = False):
        """The batch's mean reconstruction loss and mean KL divergence (nats per image), unweighted."""
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampling([z_mean, z_log_var])
        # A frozen decoder (an encoder trained for a given decoder) runs as it will be served: no dropout.
        logits = self.decoder(z, training=training and self.decoder.trainable)
        rec = ops.mean(reconstruction_loss(x, logits))
        kl = ops.mean(kl_loss(z_mean, z_log_var))
        return rec, kl

    def _report(self, rec, kl) -> dict:
        self.loss_tracker.update_state(rec + kl)  # reported loss is the negative ELBO (beta=1)
        self.reconstruction_tracker.update_state(rec)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        import tensorflow as tf  # train_step is backend-specific; we train with TensorFlow

        x = data[0] if isinstance(data, tuple) else data
        if self.augment is not None:
            x = self.augment(x, training=True)
        with tf.GradientTape() as tape:
            rec, kl = self.loss_terms(x, training=True)
            step = ops.cast(self.optimizer.iterations, "float32")
            loss = rec + kl_weight(self.beta, step, self.kl_warmup_steps) * kl
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._report(rec, kl)

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self._report(*self.loss_terms(x, training=False))


def build_vae(cfg: ModelConfig, seed: int | None = None) -> VAE:
    """Build an untrained VAE for a config; same config + same weights = same model."""
    enc_fn, dec_fn = _BUILDERS[cfg.preset]
    vae = VAE(enc_fn(cfg), dec_fn(cfg), beta=cfg.beta, seed=seed, augment_shift=cfg.augment_shift,
              name=f"vae_{cfg.preset}")
    vae(ops.zeros((1, *cfg.image_shape)))  # build, so weights exist and can be loaded
    return vae


def probability_decoder(decoder: keras.Model) -> keras.Model:
    """Decoder that outputs pixel probabilities (sigmoid of logits): what users see and ONNX serves."""
    z_in = keras.Input(decoder.input_shape[1:], name="z")
    return keras.Model(z_in, layers.Activation("sigmoid", name="image")(decoder(z_in)), name="decoder_probs")


__all__ = ["VAE", "build_vae", "probability_decoder", "kl_per_dim"]
