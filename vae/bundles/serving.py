"""Serving a bundle with ONNX Runtime: encode, decode, nearest neighbours. Never imports TensorFlow."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from vae.bundles.bundle import (
    CARD_JSON,
    CONFIG,
    DECODER_ONNX,
    ENCODER_ONNX,
    HISTORY,
    METRICS,
    BundleError,
    card_markdown,
    check_bundle,
    has_symlinks,
    load_reference,
    read_json,
)
from vae.bundles.classifier import CLASSIFIER_ONNX, PROBABILITIES
from vae.inputs.image_file import ImageError, load_image
from vae.inputs.picture import to_model_input
from vae.inputs.preprocess import to_mnist
from vae.model.posterior import z_std


def _session(path: Path):
    import onnxruntime as ort  # here: its native library is slow to load, and only serving needs it

    opts = ort.SessionOptions()
    # Requests are single images or small batches: one thread avoids contention between
    # concurrent sessions on a small machine and is fastest at batch 1.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


DECODE_BATCH = 32  # the most images one decoder run takes (see ServedModel.decode)


class ServedModel:
    """A model bundle served from its ONNX exports: read-only, safe to share between sessions."""

    def __init__(self, path: str | Path):
        if has_symlinks(path):  # a link (its MODEL_CARD.md, say) could show any file the server can read
            raise BundleError("a model bundle with symbolic links is not loaded")
        self.path = check_bundle(path)
        self.config: dict = read_json(self.path / CONFIG)
        self.card: dict = read_json(self.path / CARD_JSON, {})
        self.metrics: dict = read_json(self.path / METRICS, {})
        self.history: dict = read_json(self.path / HISTORY, {})
        self.latent_dim: int = int(self.config["latent_dim"])
        self.image_shape: tuple[int, ...] = tuple(self.config.get("image_shape", (28, 28, 1)))
        self._encoder = _session(self.path / ENCODER_ONNX)
        self._decoder = _session(self.path / DECODER_ONNX)
        self.reference: dict[str, np.ndarray] | None = load_reference(self.path)
        self.classifier: ServedClassifier | None = ServedClassifier.of(self.path, self.card)

    @property
    def name(self) -> str:
        return self.card.get("name") or self.path.name

    @property
    def card_markdown(self) -> str:
        return card_markdown(self.path, self.card)

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Images (n, H, W[, C]) in [0, 1] (28x28 grey for MNIST models) -> (z_mean, z_log_var), each
        (n, latent_dim)."""
        x = np.asarray(images, np.float32).reshape(-1, *self.image_shape)
        z_mean, z_log_var = self._encoder.run(None, {self._encoder.get_inputs()[0].name: x})
        return z_mean, z_log_var

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent vectors (n, latent_dim) -> pixel probabilities in [0, 1]: (n, H, W) for a grey model
        ((n, 28, 28) for MNIST's), (n, H, W, 3) for a colour one."""
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        name = self._decoder.get_inputs()[0].name
        # In batches: ONNX Runtime's memory arena keeps, for the life of the process, room for the largest
        # batch a session has run. A 25x25 grid at once pinned 190-360 MiB per model (scripts/soak.py);
        # batches of DECODE_BATCH pin ~20 MiB, and run no slower.
        out = [self._decoder.run(None, {name: z[i:i + DECODE_BATCH]})[0]
               for i in range(0, max(len(z), 1), DECODE_BATCH)]
        return np.concatenate(out).reshape(len(z), *self.picture_shape)

    @property
    def picture_shape(self) -> tuple[int, ...]:
        """The shape of one decoded picture: (H, W) for grey, (H, W, 3) for colour."""
        return tuple(self.image_shape[:2]) if self.image_shape[-1] == 1 else tuple(self.image_shape)

    @property
    def colour(self) -> bool:
        """Whether the model's images are in colour (RGB)."""
        return self.image_shape[-1] == 3

    def nearest(self, z_mean: np.ndarray, k: int = 5) -> np.ndarray:
        """Indices of the k reference encodings closest to each z_mean (Euclidean in latent space)."""
        if self.reference is None:
            raise BundleError(f"{self.path}: this bundle stores no reference encodings.")
        ref = self.reference["z_mean"]
        z_mean = np.atleast_2d(z_mean)
        d2 = ((z_mean[:, None, :] - ref[None, :, :]) ** 2).sum(-1)
        return np.argsort(d2, axis=1)[:, :k]


CLASSIFY_BATCH = 256  # images per classifier run (its arena stays under 1 MB)


class ServedClassifier:
    """A bundle's classifier (vae.bundles.classifier) served from its ONNX file: images -> class
    probabilities. `info` is the card's entry: labels, test accuracy, what it was trained on."""

    def __init__(self, path: Path, info: dict):
        self._session = _session(path)
        self.info = info
        self.labels: list[str] = [str(name) for name in info.get("labels", [])]
        self.test_accuracy: float | None = info.get("test_accuracy")

    @classmethod
    def of(cls, bundle: Path, card: dict) -> ServedClassifier | None:
        """The bundle's classifier, or None when it has none (or its card does not describe it)."""
        file = bundle / CLASSIFIER_ONNX
        info = card.get("classifier")
        return cls(file, info) if file.is_file() and isinstance(info, dict) else None

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Images (n, h, w[, 1]) in [0, 1] -> class probabilities (n, classes), each row summing to 1."""
        x = np.asarray(images, np.float32).reshape(len(images), -1)
        out = [self._session.run([PROBABILITIES], {"x": x[i:i + CLASSIFY_BATCH]})[0]
               for i in range(0, max(len(x), 1), CLASSIFY_BATCH)]
        return np.concatenate(out)[:len(x)]


def to_png(image: np.ndarray, scale: int = 1) -> bytes:
    """A [0, 1] image as PNG bytes, optionally upscaled: grey (H, W[, 1]) white ink on black like MNIST, or
    colour (H, W, 3) as RGB."""
    arr = (np.clip(np.asarray(image).squeeze(), 0, 1) * 255).round().astype(np.uint8)
    img = Image.fromarray(arr, mode="RGB" if arr.ndim == 3 else "L")
    if scale > 1:
        img = img.resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def encode_files(model_path: str | Path, files: list[str], k: int = 5) -> list[dict]:
    """Encode image files; a file that cannot be used gets an `error` entry instead of stopping the rest."""
    model = ServedModel(model_path)
    results = []
    for f in files:
        entry: dict = {"file": f}
        try:
            image = load_image(Path(f))
            # MNIST's models take a digit made MNIST-like; others, the picture cropped and resized.
            x = (to_mnist(image).image if model.image_shape == (28, 28, 1)
                 else to_model_input(image, model.image_shape).image)
        except ImageError as exc:
            entry["error"] = str(exc)
            results.append(entry)
            continue
        z_mean, z_log_var = model.encode(x[None])
        entry.update(z_mean=z_mean[0].tolist(), z_log_var=z_log_var[0].tolist(),
                     z_std=z_std(z_log_var[0]).tolist())
        if model.reference is not None:
            idx = model.nearest(z_mean[0], k)[0]
            labels = model.reference["labels"][idx]
            entry["neighbors"] = [{"index": int(i), "label": int(lab)} for i, lab in zip(idx, labels)]
            entry["nearest_label"] = int(np.bincount(labels).argmax())  # majority vote of the k nearest
        results.append(entry)
    return results
