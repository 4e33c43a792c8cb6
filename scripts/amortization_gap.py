"""How much of a model's test loss is its encoder's fault: the amortization gap on test and training images.

    python scripts/amortization_gap.py [--model models/mnist-2d] [--n 1000] [--steps 400] [--data-dir DIR]

For n test and n training images it prints the negative ELBO with the encoder's z_mean / z_log_var
(amortized, as `evaluate` scores the model), then with those two vectors optimised per image by Adam
against the same decoder (the best any encoder could do for that decoder), and the difference.
A small gap on training images but a large one on test images means the encoder has not learnt a
mapping that carries over to new images: regularise the encoder. Both sides are estimated with the
same 32 draws of epsilon per image.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "mnist-2d"))
    ap.add_argument("--n", type=int, default=1000, help="images from each split")
    ap.add_argument("--steps", type=int, default=400, help="Adam steps per split (learning rate 0.01)")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()

    import keras  # here: TensorFlow loads only when the measurement runs, not for --help
    import tensorflow as tf

    from vae.bundles.bundle import CARD_JSON, read_json
    from vae.bundles.save import load_vae
    from vae.inputs.data import load_dataset
    from vae.model.losses import kl_loss, reconstruction_loss

    vae, _ = load_vae(args.model)
    data = load_dataset(read_json(Path(args.model) / CARD_JSON)["dataset"], args.data_dir)

    def neg_elbo(x, z_mean, z_log_var, eps):
        """Mean over images and over the draws in eps (k, n, d) of reconstruction + KL."""
        rec = tf.reduce_mean([reconstruction_loss(x, vae.decoder(z_mean + tf.exp(0.5 * z_log_var) * eps[i],
                                                                  training=False)) for i in range(len(eps))],
                             axis=0)
        return tf.reduce_mean(rec + kl_loss(z_mean, z_log_var))

    print(f"{'split':<6} {'amortized':>10} {'optimized':>10} {'gap':>7}   (nats per image, {args.n} images)")
    for split, images in (("train", data.x_train[: args.n]), ("test", data.x_test[: args.n])):
        x = tf.constant(images)
        z_mean0, z_log_var0 = vae.encoder(x, training=False)
        eps = tf.random.stateless_normal((32, *z_mean0.shape), seed=(1, 2))
        z_mean, z_log_var = tf.Variable(z_mean0), tf.Variable(z_log_var0)
        opt = keras.optimizers.Adam(0.01)

        @tf.function
        def step(seed):
            with tf.GradientTape() as tape:
                loss = neg_elbo(x, z_mean, z_log_var,
                                tf.unstack(tf.random.stateless_normal((4, *z_mean.shape), seed=seed)))
            opt.apply_gradients(zip(tape.gradient(loss, [z_mean, z_log_var]), [z_mean, z_log_var]))

        before = float(neg_elbo(x, z_mean, z_log_var, tf.unstack(eps)))
        for i in range(args.steps):
            step(tf.constant([i, 7]))
        after = float(neg_elbo(x, z_mean, z_log_var, tf.unstack(eps)))
        print(f"{split:<6} {before:10.2f} {after:10.2f} {before - after:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
