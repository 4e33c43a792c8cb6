"""A replay of training (replay.npz): a fixed test subset's encodings, losses and decodes, step by step."""

# A replay of training (the bundle's replay.npz): a fixed set of test images' z_mean and z_log_var, the loss
# terms and the decodes of a fixed grid of z, from before the first update to the model as saved; and, for
# the first few of each label, the gradient of each one's loss that reaches the two heads' outputs (why
# two identical Dense heads become a mean and a spread).

from __future__ import annotations

import os
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

from vae.inputs.data import stratified_indices
from vae.model.posterior import bce_from_logits, kl_per_dim, reparameterize

# TensorFlow and Keras are imported inside the Recorder's methods: the web process imports this module
# (LIVE_FILE, the replay's arrays) without TensorFlow.

PER_LABEL = 100  # the fixed subset: 100 test images of each label (1,000 for ten labels)
MIN_LOSS_PER_LABEL = 10  # the loss terms take at least this many of them per label
# Decoding the loss images at every snapshot may cost about this share of the images that training passes
# (forward and backward) through the model; a short run evaluates its loss terms on fewer of the subset.
LOSS_SHARE = 0.1
GRADIENT_PER_LABEL = 10  # the gradients reaching the heads: for the subset's first 10 of each label
GRID_SIDE = 5  # the decoded grid: 5 x 5 values of z
LIVE_EVERY_S = 5.0
LIVE_FILE = "replay.npz"  # in a job's folder: the replay so far


def snapshot_steps(total_steps: int) -> np.ndarray:
    """The training steps to snapshot: 0 (before any update), then log-spaced up to `total_steps`, dense
    early. 40 snapshots, one more per 1,000 steps up to 60; every step in a run of fewer steps than that."""
    count = 40 + min(20, total_steps // 1000)
    if total_steps < count:
        return np.arange(total_steps + 1)
    k = count - 1
    while True:  # rounding merges the earliest steps; ask for more until there are enough distinct ones
        steps = np.unique(np.round(np.geomspace(1, total_steps, k)).astype(np.int64))
        if len(steps) + 1 >= count:
            return np.concatenate([[0], steps])
        k += 1


def loss_count(n_subset: int, n_labels: int, images_trained: int, snapshots: int) -> int:
    """How many of the subset (the first ones: as many of each label) the loss terms are evaluated on: all
    of them unless decoding them at every snapshot would pass more than LOSS_SHARE of the images training
    does, and at least MIN_LOSS_PER_LABEL of each label."""
    affordable = int(LOSS_SHARE * images_trained / max(snapshots, 1)) // n_labels * n_labels
    return min(n_subset, max(affordable, MIN_LOSS_PER_LABEL * n_labels))


def grid_z(latent_dim: int, side: int = GRID_SIDE, seed: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """The fixed values of z decoded at every snapshot, and how to lay them out (rows, columns). In 2-D, a
    side x side grid at the prior's quantiles (row by row from the top: z1 falls down the rows, z0 rises
    along them); in 1-D, side² quantiles in a row; above, side² draws from the prior N(0, I)."""
    n = side * side
    if latent_dim == 2:
        q = [NormalDist().inv_cdf((i + 0.5) / side) for i in range(side)]
        return np.array([(x, y) for y in reversed(q) for x in q], np.float32), (side, side)
    if latent_dim == 1:
        return np.array([[NormalDist().inv_cdf((i + 0.5) / n)] for i in range(n)], np.float32), (1, n)
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32), (side, side)


class Recorder:
    """Takes the snapshots of one run: `callback()` is the Keras callback that takes them while training
    (from the weights being trained), `finish()` the last one from the model as saved (after EMA or weight
    averaging), and `arrays()` is what replay.npz holds."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray, *, latent_dim: int, steps_per_epoch: int,
                 epochs: int, batch_size: int, seed: int = 0, live: Path | None = None):
        self.indices = stratified_indices(y_test, PER_LABEL, seed)
        self.labels = np.asarray(y_test)[self.indices].astype(np.int16)
        self.x = np.asarray(x_test)[self.indices]
        self.steps_per_epoch = steps_per_epoch
        self.steps = snapshot_steps(epochs * steps_per_epoch)
        n_labels = len(np.unique(self.labels))
        self.n_loss = loss_count(len(self.indices), n_labels, epochs * steps_per_epoch * batch_size,
                                 len(self.steps))
        # One fixed epsilon per loss image: between snapshots the loss terms change only with the weights.
        # NumPy's, so that recording takes nothing from the training's own random streams.
        rng = np.random.default_rng(seed)
        self.epsilon = rng.standard_normal((self.n_loss, latent_dim)).astype(np.float32)
        # The gradients are the loss images' first ones (a prefix of k * n_labels holds k of each label).
        self.n_gradient = min(self.n_loss, GRADIENT_PER_LABEL * n_labels)
        self.grid_z, self.grid_shape = grid_z(latent_dim, seed=seed)
        self.frames: list[dict] = []
        self.seconds = 0.0  # time spent taking snapshots
        # While a job trains, the replay so far goes to its folder (the Train page plays it live), at most
        # every LIVE_EVERY_S seconds: a full replay is about 1 MB uncompressed.
        self.live, self._live_written = live, 0.0
        self._model = self._encode = self._decode = self._gradients = None

    def snapshot(self, vae, step: int, z_mean: np.ndarray | None = None,
                 z_log_var: np.ndarray | None = None) -> None:
        """Record the model's state at `step`; given z_mean and z_log_var (the subset's), they are used as
        the encodings instead of encoding the subset again."""
        import tensorflow as tf  # (TensorFlow: only while training)

        start = time.perf_counter()
        if self._model is not vae:  # compiled once per model; they read its weights as they are at each call
            self._model = vae
            self._encode = tf.function(lambda x: vae.encoder(x, training=False))
            self._decode = tf.function(lambda z: vae.decoder(z, training=False))
            self._gradients = tf.function(lambda *args: head_gradients(vae.decoder, *args))
        if z_mean is None:
            z_mean, z_log_var = (np.asarray(t) for t in self._encode(self.x))
        n, g = self.n_loss, self.n_gradient
        z = reparameterize(z_mean[:n], z_log_var[:n], self.epsilon).astype(np.float32)
        logits = np.asarray(self._decode(np.concatenate([z, self.grid_z])), np.float64)
        rec = bce_from_logits(self.x[:n].astype(np.float64), logits[:n])
        kl = kl_per_dim(z_mean[:n], z_log_var[:n]).sum(axis=1)
        grid_logits = logits[n:, ..., 0] if logits.shape[-1] == 1 else logits[n:]  # grey (G, H, W), or RGB
        grid = 255.0 / (1.0 + np.exp(-grid_logits))  # the sigmoid: pixel probabilities, as uint8
        weight = kl_weight_at(vae, step)
        rec_mean, rec_log_var, kl_mean, kl_log_var = (np.asarray(t, np.float32) for t in self._gradients(
            self.x[:g].astype(np.float32), np.asarray(z_mean[:g], np.float32),
            np.asarray(z_log_var[:g], np.float32), self.epsilon[:g]))
        self.frames.append({
            "step": int(step), "z_mean": np.asarray(z_mean, np.float16),
            "z_log_var": np.asarray(z_log_var, np.float16), "reconstruction_loss": float(rec.mean()),
            "kl_loss": float(kl.mean()), "grid_decodes": np.round(grid).astype(np.uint8),
            "kl_weight": weight, "grad_reconstruction_z_mean": rec_mean,
            "grad_reconstruction_z_log_var": rec_log_var, "grad_kl_z_mean": weight * kl_mean,
            "grad_kl_z_log_var": weight * kl_log_var,
        })
        due = len(self.frames) <= 3 or time.time() - self._live_written > LIVE_EVERY_S
        if self.live is not None and due:
            self.write_live()
        self.seconds += time.perf_counter() - start

    def write_live(self) -> None:
        """The replay so far, into the job's folder (aside, then renamed: a reader never sees half a file)."""
        tmp = self.live.with_name(f".{self.live.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, **self.arrays())
        os.replace(tmp, self.live)
        self._live_written = time.time()

    def finish(self, vae, step: int, z_mean: np.ndarray, z_log_var: np.ndarray) -> None:
        """The last snapshot: the model as saved, after `step` training steps, with its reference encodings
        of the whole test split (so the replay ends exactly where reference.npz's map is)."""
        self.frames = [f for f in self.frames if f["step"] < step]
        self.snapshot(vae, step, z_mean[self.indices], z_log_var[self.indices])

    def callback(self):
        """A Keras callback taking the snapshots at step 0 (before any update) and at the scheduled steps.
        The last training step is left to `finish()`, whose weights are those saved."""
        import keras  # (only while training)

        recorder, scheduled = self, {int(s) for s in self.steps}

        class ReplayCallback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.step = 0

            def on_train_begin(self, logs=None):
                recorder.snapshot(self.model, 0)

            def on_train_batch_end(self, batch, logs=None):
                self.step += 1
                if self.step in scheduled and self.step < recorder.steps[-1]:
                    recorder.snapshot(self.model, self.step)

        return ReplayCallback()

    def arrays(self) -> dict[str, np.ndarray]:
        """replay.npz's arrays: per snapshot (T), step, epoch, the loss terms, z_mean / z_log_var (T, N, d)
        and grid_decodes (T, G, H, W[, 3]); kl_weight (T), the KL term's weight at that step (β, or its
        warm-up ramp), and for the subset's first M images the gradient of each one's own loss that reaches
        its z_mean and z_log_var, split into the reconstruction part and the weighted KL part:
        grad_reconstruction_z_mean, grad_reconstruction_z_log_var, grad_kl_z_mean, grad_kl_z_log_var
        (T, M, d) float32; once, the subset's indices into the test split and labels (N), loss_count (the
        loss terms are over the subset's first loss_count images), epsilon (loss_count, d, the fixed noise
        of their z), grid_z (G, d) and grid_shape."""
        steps = np.array([f["step"] for f in self.frames], np.int64)
        rec = np.array([f["reconstruction_loss"] for f in self.frames], np.float32)
        kl = np.array([f["kl_loss"] for f in self.frames], np.float32)
        return {
            "step": steps, "epoch": (steps / self.steps_per_epoch).astype(np.float32),
            "indices": self.indices.astype(np.int32), "labels": self.labels,
            "z_mean": np.stack([f["z_mean"] for f in self.frames]),
            "z_log_var": np.stack([f["z_log_var"] for f in self.frames]),
            "loss": rec + kl, "reconstruction_loss": rec, "kl_loss": kl,
            "loss_count": np.array(self.n_loss, np.int32),
            "grid_z": self.grid_z, "grid_shape": np.array(self.grid_shape, np.int32),
            "grid_decodes": np.stack([f["grid_decodes"] for f in self.frames]),
            "epsilon": self.epsilon,
            "kl_weight": np.array([f["kl_weight"] for f in self.frames], np.float32),
            **{name: np.stack([f[name] for f in self.frames]) for name in GRADIENTS},
        }


GRADIENTS = ("grad_reconstruction_z_mean", "grad_reconstruction_z_log_var", "grad_kl_z_mean",
             "grad_kl_z_log_var")


def kl_weight_at(vae, step: int) -> float:
    """The KL term's weight in the update after `step` steps, as train_step weighs it (losses.kl_weight)."""
    from vae.model.losses import kl_weight  # (Keras)

    return float(kl_weight(float(vae.beta), step, getattr(vae, "kl_warmup_steps", 0)))


def head_gradients(decoder, x, z_mean, z_log_var, epsilon):
    """Per image, the gradient of its own loss with respect to its z_mean and z_log_var, with z drawn with
    the given epsilon: (reconstruction w.r.t. z_mean, w.r.t. z_log_var, KL w.r.t. z_mean, w.r.t.
    z_log_var), each (n, d). The images are independent (the decoder runs in inference mode), so the
    gradient of the batch's sum is each image's own."""
    import tensorflow as tf  # (TensorFlow: only while training)

    from vae.model.losses import kl_loss, reconstruction_loss  # (Keras)

    x, z_mean, z_log_var, epsilon = (tf.convert_to_tensor(t, tf.float32)
                                     for t in (x, z_mean, z_log_var, epsilon))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([z_mean, z_log_var])
        z = z_mean + tf.exp(0.5 * z_log_var) * epsilon
        rec = tf.reduce_sum(reconstruction_loss(x, decoder(z, training=False)))
        kl = tf.reduce_sum(kl_loss(z_mean, z_log_var))
    return (*tape.gradient(rec, [z_mean, z_log_var]), *tape.gradient(kl, [z_mean, z_log_var]))
