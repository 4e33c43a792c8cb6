"""Training benchmark: time to quality against the Keras example VAE, and images/s of our loop.

Prints, side by side from one run on this machine:
1. The Keras example VAE (keras-io examples/generative/vae.py: Conv32-Conv64-Dense16 encoder, latent 2,
   Adam 1e-3, batch 128) trained for --ref-epochs on the training images, its test negative ELBO per
   epoch; then the `default` preset trained until it reaches the reference's final value. Wall times
   count training only (the per-epoch test evaluation is excluded for both), and their ratio.
2. Images per second of our training loop (VAE.train_step inside Keras fit) for the `course` preset
   against a plain Keras `fit` loop of the same layers (compile(loss=...), fit(x, x)), median of
   --repeats alternating epochs.

Usage: python scripts/bench_train.py --data-dir ../shared/data/mnist [--ref-epochs 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings  # noqa: E402


def keras_example_vae(seed: int):
    """The keras-io example's architecture, wrapped in our VAE class so both are evaluated identically."""
    import keras  # here: TensorFlow loads only when the measurement runs, not for --help
    from keras import layers

    from vae.model.presets import VAE

    x_in = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(x_in)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    encoder = keras.Model(x_in, [layers.Dense(2, name="z_mean")(x), layers.Dense(2, name="z_log_var")(x)])
    z_in = keras.Input((2,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(z_in)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder = keras.Model(z_in,
                          layers.Conv2DTranspose(1, 3, padding="same")(x))  # logits; sigmoid in the loss
    return VAE(encoder, decoder, seed=seed)


def train_curve(vae, optimizer, x_train, x_test, epochs: int, target: float | None = None):
    """Train epoch by epoch; returns [(cumulative train seconds, test neg ELBO)]."""
    from vae.model.evaluate import evaluate

    vae.compile(optimizer=optimizer)
    curve, seconds = [], 0.0
    for _ in range(epochs):
        t = time.perf_counter()
        vae.fit(x_train, epochs=1, batch_size=128, shuffle=True, verbose=0)
        seconds += time.perf_counter() - t
        nelbo = evaluate(vae, x_test, seed=0)["neg_elbo"]
        curve.append((seconds, nelbo))
        print(f"    epoch {len(curve):3d}  {seconds:7.1f} s  test -ELBO {nelbo:7.2f}", flush=True)
        if target is not None and nelbo <= target:
            break
    return curve


def images_per_second(repeats: int, x_train) -> tuple[float, float]:
    import keras  # (TensorFlow)
    from keras import layers

    from vae.model.config import ModelConfig
    from vae.model.presets import build_vae

    cfg = ModelConfig(preset="course", latent_dim=2)
    ours = build_vae(cfg, seed=0)
    ours.compile(optimizer=keras.optimizers.Adam(1e-3))
    # Plain loop: the same encoder and decoder layers as one functional model, decoding z_mean,
    # trained by Keras' own fit with a built-in loss: no sampling, no KL, so it does strictly less work.
    other = build_vae(cfg, seed=0)
    x_in = keras.Input((28, 28, 1))
    z_mean, _ = other.encoder(x_in)
    plain = keras.Model(x_in, layers.Flatten()(other.decoder(z_mean)))
    plain.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    flat = x_train.reshape(len(x_train), -1)
    ours.fit(x_train[:1024], epochs=1, batch_size=128, verbose=0)  # trace once before timing
    plain.fit(x_train[:1024], flat[:1024], epochs=1, batch_size=128, verbose=0)
    ours_rates, plain_rates = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        ours.fit(x_train, epochs=1, batch_size=128, verbose=0)
        ours_rates.append(len(x_train) / (time.perf_counter() - t))
        t = time.perf_counter()
        plain.fit(x_train, flat, epochs=1, batch_size=128, verbose=0)
        plain_rates.append(len(x_train) / (time.perf_counter() - t))
    return statistics.median(ours_rates), statistics.median(plain_rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=settings.data_dir())
    p.add_argument("--ref-epochs", type=int, default=30)
    p.add_argument("--max-epochs", type=int, default=30, help="cap for the default preset")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--skip-quality", action="store_true")
    args = p.parse_args()
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # (TensorFlow)

    from vae.inputs.data import load_dataset
    from vae.model.config import ModelConfig
    from vae.model.presets import build_vae

    data = load_dataset("mnist", args.data_dir)
    print(f"data: {len(data.x_train)} training images, {len(data.x_test)} test images ({data.source})")
    if not args.skip_quality:
        keras.utils.set_random_seed(0)
        print(f"reference: Keras example VAE, {args.ref_epochs} epochs")
        ref = train_curve(keras_example_vae(0), keras.optimizers.Adam(1e-3), data.x_train, data.x_test,
                          args.ref_epochs)
        ref_time, ref_final = ref[-1]
        keras.utils.set_random_seed(0)
        steps = -(-len(data.x_train) // 128)
        schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=args.max_epochs * steps,
                                                          alpha=0.01)
        print(f"default preset, until test -ELBO <= {ref_final:.2f} (at most {args.max_epochs} epochs)")
        ours = train_curve(build_vae(ModelConfig("default", 2), seed=0), keras.optimizers.Adam(schedule),
                           data.x_train, data.x_test, args.max_epochs, target=ref_final)
        our_time, our_final = ours[-1]
        reached = our_final <= ref_final
        print("\n| run | epochs | train wall time | final test -ELBO |\n|---|---|---|---|")
        print(f"| Keras example | {len(ref)} | {ref_time:.0f} s | {ref_final:.2f} |")
        print(f"| default preset | {len(ours)} | {our_time:.0f} s | {our_final:.2f} |")
        print(f"time to the reference's quality: {our_time:.0f} s vs {ref_time:.0f} s, ratio "
              f"{our_time / ref_time:.2f}{'' if reached else ' (NOT reached)'} (target <= 0.5)")
    ours_ips, plain_ips = images_per_second(args.repeats, data.x_train)
    print(f"\nimages/s, course preset: our loop {ours_ips:.0f}, plain Keras fit {plain_ips:.0f}, "
          f"ratio {ours_ips / plain_ips:.2f} (target >= 1.0)")


if __name__ == "__main__":
    main()
