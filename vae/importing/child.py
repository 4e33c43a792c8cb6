"""Inside the sandbox: load the model safely, smoke-test, evaluate, export ONNX, write the bundle's files."""

from __future__ import annotations

# Keras, h5py and vae.model.presets (Keras) are imported inside the functions, after `child_main` has set
# the memory and CPU limits, so that TensorFlow's start-up already runs under them.
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vae.bundles.bundle import CARD_JSON, CARD_MD, CONFIG, METRICS, REFERENCE, WEIGHTS, write_json
from vae.importing.archive_check import ImportRefused
from vae.importing.bundle import DECODER_KERAS, ENCODER_KERAS, IMAGE_SHAPE, IMPORTED
from vae.importing.card import render_card
from vae.importing.job import write_stage
from vae.importing.sandbox import ChildFailed, child_main, one_line
from vae.inputs.data import load_dataset
from vae.model.config import ModelConfig
from vae.model.evaluate import encode_all, evaluate
from vae.model.export import export_pair
from vae.plural import count

MAX_LATENT_DIM = 64


def _load(path: str, what: str, memory_mb: int):
    import keras  # (after the limits)

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        oom = "ResourceExhausted" in type(exc).__name__ or "OOM when allocating" in msg  # TensorFlow's words
        if isinstance(exc, MemoryError) or oom:
            raise ImportRefused(f"the {what} needs more memory than the {memory_mb} MB limit for loading "
                                f"an uploaded model") from None
        raise ImportRefused(f"Keras could not load the {what} safely: {msg}") from None


def _finite(name: str, arr) -> None:
    if not np.all(np.isfinite(np.asarray(arr))):
        raise ImportRefused(f"the {name} produces NaN or infinite values on test inputs")


def _smoke_inputs():
    rng = np.random.default_rng(0)
    return np.concatenate([np.zeros((1, *IMAGE_SHAPE)), np.ones((1, *IMAGE_SHAPE)),
                           rng.uniform(size=(4, *IMAGE_SHAPE))]).astype(np.float32)


def _smoke_encoder(encoder) -> int:
    if tuple(encoder.input_shape) != (None, *IMAGE_SHAPE):
        raise ImportRefused(f"the encoder's input shape is {tuple(encoder.input_shape)}; it must be "
                            f"(None, 28, 28, 1) (28x28 grayscale images)")
    shapes = [tuple(s) for s in encoder.output_shape] if isinstance(encoder.output_shape, list) else []
    if len(shapes) != 2 or shapes[0] != shapes[1] or len(shapes[0]) != 2:
        raise ImportRefused(f"the encoder's z_mean and z_log_var must be vectors of the same size; "
                            f"got {shapes}")
    latent = shapes[0][1]
    if not isinstance(latent, int) or not 1 <= latent <= MAX_LATENT_DIM:
        raise ImportRefused(f"the latent size is {latent}; it must be between 1 and {MAX_LATENT_DIM}")
    x = _smoke_inputs()
    z_mean, z_log_var = encoder(x, training=False)
    for name, arr in (("encoder's z_mean", z_mean), ("encoder's z_log_var", z_log_var)):
        if np.shape(arr) != (len(x), latent):
            raise ImportRefused(f"the {name} has shape {np.shape(arr)} on {len(x)} images")
        _finite(name, arr)
    return latent


def _smoke_decoder(probs, logits, latent: int, z_extra) -> tuple:
    if tuple(probs.input_shape) != (None, latent):
        raise ImportRefused(f"the decoder's input shape is {tuple(probs.input_shape)}, but the encoder's "
                            f"latent size is {latent}")
    out_shape = tuple(probs.output_shape)
    if out_shape[1:] not in ((28, 28), (28, 28, 1)):
        raise ImportRefused(f"the decoder's output shape is {out_shape}; it must be 28x28 or 28x28x1")
    rng = np.random.default_rng(1)
    z = np.concatenate([np.zeros((1, latent)), rng.normal(size=(4, latent)) * 3, z_extra]).astype(np.float32)
    p = np.asarray(probs(z, training=False))
    _finite("decoder", p)
    if p.min() < 0 or p.max() > 1:
        raise ImportRefused(f"the decoder's outputs range over [{p.min():.3g}, {p.max():.3g}], not [0, 1]")
    lg = np.asarray(logits(z, training=False), np.float64)
    diff = float(np.max(np.abs(1 / (1 + np.exp(-lg)) - p)))
    if not diff < 1e-5:
        raise ImportRefused(f"the decoder without its final sigmoid does not reproduce it "
                            f"(differs by {diff:.1e})")
    return out_shape, diff


def _graph(job: dict) -> dict:
    """A `.keras` encoder + decoder pair, already rewritten by `vae.importing.plan`."""
    import keras  # (after the limits)

    from vae.model.presets import VAE  # (Keras)

    encoder = _load(job["encoder"], "encoder", job["memory_mb"])
    probs = _load(job["decoder_probs"], "decoder", job["memory_mb"])
    logits = _load(job["decoder_logits"], "decoder", job["memory_mb"])
    latent = _smoke_encoder(encoder)
    z_mean, _ = encoder(_smoke_inputs(), training=False)
    out_shape, sigmoid_diff = _smoke_decoder(probs, logits, latent, np.asarray(z_mean))
    if out_shape[1:] == (28, 28):  # the project's decoders output (n, 28, 28, 1)
        z_in = keras.Input((latent,), name="z")
        logits = keras.Model(z_in, keras.layers.Reshape(IMAGE_SHAPE)(logits(z_in)), name="decoder")
    vae = VAE(encoder, logits, beta=1.0, name="vae_imported")
    vae(np.zeros((1, *IMAGE_SHAPE), np.float32))
    config = {"preset": IMPORTED, "latent_dim": latent, "beta": 1.0, "image_shape": list(IMAGE_SHAPE),
              "encoder": ENCODER_KERAS, "decoder": DECODER_KERAS, "decoder_output": "logits"}
    card = {**job["card"], "latent_dim": latent, "sigmoid_check_max_abs_diff": sigmoid_diff}

    def save_graphs(tmp: Path) -> None:
        vae.encoder.save(tmp / ENCODER_KERAS)
        vae.decoder.save(tmp / DECODER_KERAS)

    return _finish(job, vae, config, card, save_graphs)


def _weights(job: dict) -> dict:
    """A `.weights.h5` for one of the project's presets."""
    import h5py  # (after the limits)

    from vae.model.presets import build_vae  # (Keras)

    try:
        cfg = ModelConfig(preset=job["preset"], latent_dim=int(job["latent_dim"]))
    except ValueError as exc:
        raise ImportRefused(str(exc)) from None
    vae = build_vae(cfg)
    try:
        with h5py.File(job["weights"], "r") as f:
            # A trained model's file also holds optimizer state; only the model's arrays must match.
            n_stored = []
            f.visititems(lambda name, obj: n_stored.append(name) if isinstance(obj, h5py.Dataset)
                         and name.split("/")[0] in ("encoder", "decoder") else None)
    except OSError:
        shown = job.get("weights_name") or Path(job["weights"]).name  # the owner's name for the file
        raise ImportRefused(f"{shown} is not a readable HDF5 file") from None
    expected = len(vae.encoder.weights) + len(vae.decoder.weights)
    if len(n_stored) != expected:
        raise ImportRefused(f"the weights file holds {count(len(n_stored), 'array')}, but preset "
                            f"'{cfg.preset}' with latent_dim {cfg.latent_dim} has {expected}")
    try:
        vae.load_weights(job["weights"])
    except Exception as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first if "expected" in line.lower()), first[0] if first else "")
        raise ImportRefused(f"the weights do not fit preset '{cfg.preset}' with latent_dim {cfg.latent_dim}: "
                            f"{detail}") from None
    if not all(np.isfinite(w).all() for w in vae.get_weights()):
        raise ImportRefused("the weights file contains NaN or infinite values")
    _smoke_encoder(vae.encoder)
    card = {**job["card"], "preset": cfg.preset, "latent_dim": cfg.latent_dim, "beta": cfg.beta}
    return _finish(job, vae, json.loads(cfg.to_json()), card, None)


def _finish(job: dict, vae, config: dict, card: dict, save_graphs: Callable[[Path], None] | None) -> dict:
    """Evaluate, encode the reference split, export ONNX and write every bundle file into job['staging']."""
    from vae.model.presets import probability_decoder  # (Keras)

    write_stage(job.get("progress"), "evaluating")
    try:
        data = load_dataset(job["dataset"], job.get("data_dir"))
    except Exception as exc:
        raise ChildFailed(str(exc)) from None
    metrics = evaluate(vae, data.x_test, seed=0)
    for k in ("neg_elbo", "reconstruction_loss", "kl_loss"):
        if not np.isfinite(metrics[k]):
            raise ImportRefused(f"the model's {k} on the {job['dataset']} test split is not finite")
    z_mean, z_log_var = encode_all(vae.encoder, data.x_test)
    tmp = Path(job["staging"])
    (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    vae.save_weights(str(tmp / WEIGHTS))
    if save_graphs is not None:
        save_graphs(tmp)
    write_stage(job.get("progress"), "exporting")
    try:
        diffs = export_pair(vae.encoder, probability_decoder(vae.decoder), tmp, data.x_test[:64])
    except Exception as exc:
        raise ChildFailed(f"the ONNX export failed: {one_line(exc)}") from None
    parameters = int(vae.encoder.count_params() + vae.decoder.count_params())
    card = {**card, "onnx_check": diffs, "parameters": parameters,
            "test_metrics": metrics, "test_split": f"{job['dataset']} test split, {len(data.x_test)} images"}
    write_json(tmp / METRICS, metrics)
    write_json(tmp / CARD_JSON, card)
    (tmp / CARD_MD).write_text(render_card(card))
    np.savez_compressed(tmp / REFERENCE, z_mean=z_mean, z_log_var=z_log_var,
                        labels=data.y_test.astype(np.int16))
    return {"latent_dim": config["latent_dim"], "metrics": metrics}


def run_job(job: dict) -> dict:
    """What the sandbox runs: a graph import or a preset's weights, by the job's kind."""
    return _graph(job) if job["kind"] == "graph" else _weights(job)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m vae import … (this module is the import's sandboxed child)", file=sys.stderr)
        sys.exit(2)
    sys.exit(child_main(sys.argv[1], run_job))
