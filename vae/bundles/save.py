"""Saving a trained VAE as a bundle and loading it back (needs TensorFlow/Keras)."""

from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path

import numpy as np

from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    CONFIG,
    GALLERY,
    HISTORY,
    METRICS,
    REFERENCE,
    REPLAY,
    TRAINING_CONFIG,
    WEIGHTS,
    atomic_bundle_dir,
    check_bundle,
    read_json,
    render_card,
    write_json,
)
from vae.importing.importer import load_imported
from vae.inputs.data import DATA_LICENSES
from vae.model.config import LIKELIHOOD, LIKELIHOOD_REASON, ModelConfig
from vae.model.export import export_pair
from vae.model.training_config import TrainingConfig

# vae.model.presets imports Keras (TensorFlow): the functions that build a model import it, so that this
# module's card and path helpers load without it.


def save_bundle(vae, training: TrainingConfig, out: str | Path, *, history: dict, metrics: dict, card: dict,
                reference: dict | None, sample_images: np.ndarray, replay: dict | None = None,
                gallery: dict | None = None) -> Path:
    """Write the training and model configs, weights, history, metrics, card, ONNX exports, reference
    encodings and, when given, the replay of training (vae.model.replay) and a gallery of test images
    (vae.inputs.data.gallery) atomically."""
    from vae.model.presets import probability_decoder  # (Keras)

    cfg = training.model_config
    with atomic_bundle_dir(out) as tmp:
        (tmp / TRAINING_CONFIG).write_text(training.to_json() + "\n")
        (tmp / CONFIG).write_text(cfg.to_json() + "\n")
        _save_weights_only(vae, cfg, tmp / WEIGHTS)
        diffs = _export(vae, probability_decoder(vae.decoder), tmp, sample_images)
        card = {**card, "onnx_check": diffs, "parameters": int(vae.count_params()),
                "test_metrics": metrics}
        write_json(tmp / HISTORY, history)
        write_json(tmp / METRICS, metrics)
        write_json(tmp / CARD_JSON, card)
        (tmp / CARD_MD).write_text(render_card(card, training))
        for name, arrays in ((REFERENCE, reference), (REPLAY, replay), (GALLERY, gallery)):
            if arrays is not None:
                np.savez_compressed(tmp / name, **arrays)
    return Path(out)


def _save_weights_only(vae, cfg: ModelConfig, path: Path) -> None:
    """Save the model's weights without the optimizer's state (which would triple the file)."""
    from vae.model.presets import build_vae  # (Keras)

    clean = build_vae(cfg)
    clean.set_weights(vae.get_weights())
    clean.save_weights(str(path))


def _export(vae, decoder_probs, tmp: Path, sample_images: np.ndarray) -> dict:
    return export_pair(vae.encoder, decoder_probs, tmp, sample_images)


def load_vae(path: str | Path):
    """Rebuild the exact model a bundle holds: its config, then its weights."""
    from vae.model.presets import build_vae  # (Keras)

    path = check_bundle(path)
    raw = read_json(path / CONFIG)
    if raw.get("preset") == "imported":  # a user's own graph (vae.importing): its saved graphs, then weights
        return load_imported(path)
    cfg = ModelConfig.from_dict(raw)
    vae = build_vae(cfg)
    vae.load_weights(str(path / WEIGHTS))
    return vae, cfg


def make_card(*, name: str, training: TrainingConfig, n_train: int, source: str, epochs: int,
              train_seconds: float, description: str = "", notes: str = "",
              stopped_early: bool = False) -> dict:
    """The facts a user needs to trust a model: what it saw, how long, what model. How it was trained is
    the bundle's training config; the card's recipe line is rendered from it."""
    cfg, dataset = training.model_config, training.dataset
    return {
        "name": name,
        "description": description,
        "preset": cfg.preset,
        "latent_dim": cfg.latent_dim,
        "beta": cfg.beta,
        "dropout": cfg.dropout,
        "encoder_dropout": cfg.encoder_dropout,
        "input_dropout": cfg.input_dropout,
        "decoder_filters": list(cfg.decoder_filters),
        "encoder": cfg.encoder,
        "augment_shift": cfg.augment_shift,
        "dataset": dataset,
        **_images(cfg),
        "n_train": n_train,
        "trained_on": _trained_on(dataset, n_train, source),
        "data_license": DATA_LICENSES.get(dataset, ""),
        "test_split": f"{dataset} test split",
        "epochs": epochs,
        "stopped_early": stopped_early,
        "batch_size": training.batch_size,
        "train_seconds": round(train_seconds, 1),
        "hardware": f"{platform.machine()} CPU",
        "date": dt.date.today().isoformat(),
        "notes": notes,
    }


def _images(cfg: ModelConfig) -> dict:
    """What the card says of images other than MNIST's 28x28 grey: their shape and the likelihood, with
    why (a card of a 28x28 grey model stays as it was)."""
    if tuple(cfg.image_shape) == (28, 28, 1):
        return {}
    return {"image_shape": list(cfg.image_shape), "likelihood": LIKELIHOOD,
            "likelihood_reason": LIKELIHOOD_REASON}


FULL_TRAIN_SIZE = {"mnist": 60000, "fashion_mnist": 60000}


def _trained_on(dataset: str, n_train: int, source: str) -> str:
    """Say plainly when a model saw only a prefix of the official training split. `source`: where the data
    came from, in words (Dataset.origin); a card is shown to every visitor, so a path is never written."""
    if "/" in source or "\\" in source:
        source = "a local copy of its IDX files"
    full = FULL_TRAIN_SIZE.get(dataset)
    if full and n_train < full:
        return f"the first {n_train:,} of the {full:,} {dataset} training images (from {source})"
    return f"{n_train:,} {dataset} training images (from {source})"
