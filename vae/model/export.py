"""ONNX exports of encoder and decoder, checked against Keras on export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from vae.bundles.bundle import DECODER_ONNX, ENCODER_ONNX

MAX_ABS_DIFF = 1e-4


class ExportMismatch(RuntimeError):
    """The ONNX export does not reproduce the Keras model's outputs."""


def export_onnx(model, path: Path) -> None:
    """Export a Keras functional model to one ONNX file via Keras 3's exporter (tf2onnx)."""
    # Keras refuses to export a model that has never been called (e.g. fresh from disk).
    model(np.zeros((1, *model.input_shape[1:]), np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.onnx"
        model.export(str(target), format="onnx", verbose=False)
        os.replace(target, path)


def check_export(model, onnx_path: Path, sample: np.ndarray) -> float:
    """Max abs difference between Keras and ONNX Runtime on `sample`; raises if ≥ 1e-4."""
    import onnxruntime as ort  # only this check needs it; its native library is slow to load

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: sample.astype(np.float32)})
    want = model(sample, training=False)
    want = want if isinstance(want, (list, tuple)) else [want]
    diff = max(float(np.max(np.abs(np.asarray(w) - g))) for w, g in zip(want, got))
    if not diff < MAX_ABS_DIFF:
        raise ExportMismatch(f"{onnx_path.name}: ONNX differs from Keras by {diff:.2e} "
                             f"(limit {MAX_ABS_DIFF}).")
    return diff


def export_pair(encoder, decoder_probs, out_dir: Path, sample_images: np.ndarray) -> dict:
    """Write encoder.onnx and decoder.onnx into out_dir and check both; returns the diffs."""
    export_onnx(encoder, out_dir / ENCODER_ONNX)
    export_onnx(decoder_probs, out_dir / DECODER_ONNX)
    z_mean, _ = encoder(sample_images, training=False)
    rng = np.random.default_rng(0)
    z = np.concatenate([np.asarray(z_mean), rng.normal(size=np.shape(z_mean)).astype(np.float32) * 3])
    return {
        "encoder_max_abs_diff": check_export(encoder, out_dir / ENCODER_ONNX, sample_images),
        "decoder_max_abs_diff": check_export(decoder_probs, out_dir / DECODER_ONNX, z),
    }
