"""Model bundles on disk: layout, atomic saving, and reading without TensorFlow."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from vae.config import ENCODERS

MANIFEST = "bundle.json"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
HISTORY = "history.json"
METRICS = "metrics.json"
CARD_JSON = "card.json"
CARD_MD = "MODEL_CARD.md"
ENCODER_ONNX = "encoder.onnx"
DECODER_ONNX = "decoder.onnx"
REFERENCE = "reference.npz"
REQUIRED = (CONFIG, WEIGHTS, CARD_JSON, ENCODER_ONNX, DECODER_ONNX)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = REPO_ROOT / "models"
DEFAULT_MODEL = SHIPPED_DIR / "mnist-2d"


class BundleError(ValueError):
    """The directory is not a complete model bundle."""


def is_bundle(path: str | Path) -> bool:
    """A bundle is complete only once its manifest exists (it is written last)."""
    path = Path(path)
    return (path / MANIFEST).is_file() and all((path / f).is_file() for f in REQUIRED)


def check_bundle(path: str | Path) -> Path:
    """Return the path if it holds a complete bundle, else raise BundleError saying why."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such model directory.")
    if not (path / MANIFEST).is_file():
        raise BundleError(f"{path}: not a model bundle (no {MANIFEST}; incomplete or interrupted save?).")
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing:
        raise BundleError(f"{path}: model bundle is missing {', '.join(missing)}.")
    return path


def read_json(path: Path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o)}")


@contextmanager
def atomic_bundle_dir(final: str | Path) -> Iterator[Path]:
    """Yield a scratch directory; on success it replaces `final` in one rename.

    An exception (or a kill) before the end leaves `final` as it was: the scratch folder
    sits beside it under a hidden name and has no manifest, so it never loads.
    """
    final = Path(final).resolve()
    if final.exists() and not is_bundle(final) and (not final.is_dir() or any(final.iterdir())):
        # Replacing means deleting: never do that to a folder (or file) that is not a model bundle.
        raise BundleError(f"{final} exists and is not a model bundle; choose another output folder.")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        write_json(tmp / MANIFEST, {"format_version": FORMAT_VERSION, "files": sorted(os.listdir(tmp))})
        _fsync_dir(tmp)
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def list_bundles(*roots: str | Path) -> list[Path]:
    """Complete bundles directly under the given folders, sorted by name."""
    found = []
    for root in roots:
        root = Path(root)
        if root.is_dir():
            found += [p for p in sorted(root.iterdir()) if not p.name.startswith(".") and is_bundle(p)]
    return found


def load_reference(path: str | Path) -> dict[str, np.ndarray] | None:
    """The stored z_mean / z_log_var / labels of the dataset's test split, if any."""
    ref = Path(path) / REFERENCE
    if not ref.is_file():
        return None
    with np.load(ref) as f:
        return {k: f[k] for k in f.files}


def _recipe(card: dict) -> str:
    """The model card's "Training:" line (empty for older cards that did not record it)."""
    text = recipe_text(card)
    return f"- **Training:** {text}" if text else ""


def recipe_text(card: dict) -> str:
    """How it was trained, from what the card recorded (older cards lack some of it)."""
    if "learning_rate" not in card:
        return ""
    adam = f"AdamW (weight decay {card['weight_decay']:g})" if card.get("weight_decay") else "Adam"
    parts = [f"{adam}, learning rate {card['learning_rate']:g} with cosine decay, batch {card.get('batch_size')}"]
    if card.get("kl_warmup_epochs"):
        n = card["kl_warmup_epochs"]
        parts.append(f"KL weight ramped from 0 over the first {n} epoch{'' if n == 1 else 's'}")
    enc = card.get("encoder_dropout")
    if enc is not None and enc != card.get("dropout"):
        if card.get("dropout"):
            parts.append(f"dropout {card['dropout']:g} after the decoder's hidden Dense layer")
        if enc:
            parts.append(f"dropout {enc:g} after the encoder's")
    elif card.get("dropout"):
        parts.append(f"dropout {card['dropout']:g} after the hidden Dense layers")
    if card.get("preset") == "default" and card.get("encoder", "wide") != "wide":
        parts.append(f"the {card['encoder']} encoder ({ENCODERS.get(card['encoder'], 'unknown')})")
    filters = card.get("decoder_filters")
    if card.get("preset") == "default" and filters and list(filters) != [64, 32]:
        parts.append(f"decoder's transposed convolutions with {filters[0]} and {filters[1]} filters")
    if card.get("input_dropout"):
        parts.append(f"{card['input_dropout']:.0%} of the encoder's input pixels dropped")
    if card.get("augment_shift"):
        parts.append(f"training images shifted at random by up to {card['augment_shift']} px")
    if str(card.get("weight_averaging", "none")) != "none":
        parts.append(f"weights averaged ({card['weight_averaging']})")
    if card.get("averaged_epochs"):
        n = card["averaged_epochs"]
        parts.append(f"saved weights averaged over the last {n} epoch{'' if n == 1 else 's'} (SWA)")
    if "seed" in card:
        parts.append(f"seed {card['seed']}")
    text = ", ".join(parts)
    source = card.get("decoder_from")
    if isinstance(source, dict):  # two stages: a trained decoder, then a new encoder fitted to it
        minutes = f", {source['train_seconds'] / 60:.1f} min" if source.get("train_seconds") else ""
        text = (f"only the encoder was trained here ({text}), for the frozen decoder of "
                f"“{source.get('name')}” ({source.get('epochs')} epochs{minutes}: "
                f"{source.get('recipe') or '?'})")
    return text


def render_card(card: dict) -> str:
    """The human-readable model card (MODEL_CARD.md) from the card's fields."""
    m = card.get("test_metrics", {})
    lines = [
        f"# {card.get('name', 'VAE')}",
        "",
        card.get("description", ""),
        "",
        f"- **Preset:** `{card.get('preset')}` — latent_dim {card.get('latent_dim')}, beta {card.get('beta')}",
        f"- **Trained on:** {card.get('trained_on')}",
        f"- **Epochs:** {card.get('epochs')} (batch {card.get('batch_size')}), "
        f"{card.get('train_seconds', 0) / 60:.1f} min on {card.get('hardware', 'this machine')}",
        _recipe(card),
        f"- **Parameters:** {card.get('parameters', '?'):,}" if isinstance(card.get("parameters"), int) else "",
        f"- **Date:** {card.get('date')}",
    ]
    if m:
        lines += [
            "",
            f"## Test metrics ({card.get('test_split', 'test split')}, nats per image)",
            "",
            "| negative ELBO | reconstruction | KL | negative ELBO at z_mean | active units |",
            "|---|---|---|---|---|",
            f"| {m.get('neg_elbo', float('nan')):.2f} | {m.get('reconstruction_loss', float('nan')):.2f} | "
            f"{m.get('kl_loss', float('nan')):.2f} | {m.get('neg_elbo_at_mean', float('nan')):.2f} | "
            f"{m.get('active_units')} / {card.get('latent_dim')} |",
        ]
    if card.get("notes"):
        lines += ["", "## Notes", "", card["notes"]]
    return "\n".join(line for line in lines if line is not None) + "\n"
