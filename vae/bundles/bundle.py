"""Model bundles on disk: layout, atomic saving, and reading without TensorFlow."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vae.inputs.data import DATA_LICENSES, gallery, load_dataset
from vae.model.training_config import MODEL_FIELDS, TrainingConfig
from vae.plural import count

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
REPLAY = "replay.npz"  # the replay of training (vae.model.replay), in bundles trained with one
GALLERY = "gallery.npz"  # a few real test images with their labels (vae.inputs.data.gallery)
TRAINING_CONFIG = "training_config.json"  # in bundles trained here since it existed: the recipe, in full
REQUIRED = (CONFIG, WEIGHTS, CARD_JSON, ENCODER_ONNX, DECODER_ONNX)

REPO_ROOT = Path(__file__).resolve().parents[2]  # vae/bundles/bundle.py -> the checkout
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


def read_json_or_none(path: str | Path):
    """A JSON file's value, or None where it is missing, unreadable or not JSON: for readers that must not
    fail (a job's files, access records, a visitor's note), since a damaged file can only be hand-made."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj) -> None:
    """Write JSON atomically: aside, then renamed, so a reader (the app, another process) never sees half
    a file."""
    write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (aside, then renamed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


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
    return _load_npz(Path(path) / REFERENCE)


def load_replay(path: str | Path) -> dict[str, np.ndarray] | None:
    """The bundle's replay of training (vae.model.replay.Recorder.arrays lists its arrays), if it has one."""
    return _load_npz(Path(path) / REPLAY)


def load_gallery(path: str | Path) -> dict[str, np.ndarray] | None:
    """The bundle's gallery, if it has one: `images` uint8 (n, H, W), or (n, H, W, 3) in colour, `labels`
    and `indices` (n) into the dataset's test split."""
    return _load_npz(Path(path) / GALLERY)


def _load_npz(file: Path) -> dict[str, np.ndarray] | None:
    if not file.is_file():
        return None
    with np.load(file) as f:
        return {k: f[k] for k in f.files}


def add_npz(path: str | Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Add (or replace) one .npz file in a finished bundle: written aside and renamed in, then the manifest
    rewritten (atomically) to list it, so the new manifest time tells caches that the bundle changed."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    add_file(path, name, buffer.getvalue())


def add_file(path: str | Path, name: str, content: bytes) -> None:
    """Add (or replace) one file in a finished bundle, as add_npz does (written aside and renamed in, then the
    manifest rewritten to list it)."""
    path = check_bundle(path)
    tmp = path / f".{name}.tmp-{os.getpid()}"
    tmp.write_bytes(content)
    os.replace(tmp, path / name)
    manifest = read_json(path / MANIFEST)
    write_json(path / MANIFEST, {**manifest, "files": sorted({*manifest.get("files", []), name})})


def add_gallery(path: str | Path, data_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """Give a finished bundle a gallery from its dataset's test split (on this machine: never downloaded),
    and its card the dataset's licence, since the bundle now carries some of its images. Returns the
    gallery."""
    path = check_bundle(path)
    card = read_json(path / CARD_JSON, {})
    dataset = card.get("dataset", "mnist")
    arrays = gallery(load_dataset(dataset, data_dir, allow_download=False))
    if DATA_LICENSES.get(dataset) and card.get("data_license") != DATA_LICENSES[dataset]:
        card["data_license"] = DATA_LICENSES[dataset]
        write_json(path / CARD_JSON, card)
        if card.get("preset") != "imported":  # an imported model's card is vae.importing.card's
            write_text(path / CARD_MD, render_card(card, read_training_config(path)))
    add_npz(path, GALLERY, arrays)
    return arrays


def read_training_config(path: str | Path) -> TrainingConfig | None:
    """How a bundle's model was trained: its training_config.json, or for a bundle saved before there was
    one, what its card recorded (None when it recorded nothing, or for an imported model)."""
    path = Path(path)
    if (path / TRAINING_CONFIG).is_file():
        return TrainingConfig.read(path / TRAINING_CONFIG)
    return _training_config_from_card(read_json(path / CARD_JSON, {}))


def _training_config_from_card(card: dict) -> TrainingConfig | None:
    """The recipe that a card of a bundle saved before training_config.json kept in loose keys. Fields it
    did not record (max_train, decoder_from's path, and the epochs asked for) take their defaults or
    what was done; the recipe line only needs the rest."""
    if "learning_rate" not in card:
        return None  # older still: the card did not say how it was trained
    averaging = str(card.get("weight_averaging", "none"))  # "none" or "EMA, momentum 0.999"
    momentum = averaging.partition("momentum ")[2]
    model = {name: card[name] for name in MODEL_FIELDS if card.get(name) is not None}
    try:
        return TrainingConfig(
            dataset=card.get("dataset"), epochs=card.get("epochs"), batch_size=card.get("batch_size"),
            learning_rate=card["learning_rate"], weight_decay=card.get("weight_decay", 0.0),
            kl_warmup=card.get("kl_warmup_epochs", 0), ema=averaging.startswith("EMA"),
            ema_momentum=float(momentum) if momentum else 0.999, average_last=card.get("averaged_epochs", 0),
            seed=card.get("seed", 0), **model)
    except (ValueError, TypeError):
        return None  # a card this code cannot read as a recipe has no recipe line, and still loads


def _recipe(card: dict, training: TrainingConfig | None) -> str:
    """The model card's "Training:" line (empty when neither the bundle nor its card says how)."""
    text = recipe_text(card, training)
    return f"- **Training:** {text}" if text else ""


def recipe_text(card: dict, training: TrainingConfig | None = None) -> str:
    """How it was trained: rendered from its training config (for bundles saved before there was one,
    from what the card recorded), with what the card says of the run (weights averaged over how many
    epochs, a decoder taken from another bundle)."""
    training = training or _training_config_from_card(card)
    if training is None:
        return ""
    text = training.describe(averaged_epochs=card.get("averaged_epochs", 0))
    source = card.get("decoder_from")
    if isinstance(source, dict):  # two stages: a trained decoder, then a new encoder fitted to it
        minutes = f", {source['train_seconds'] / 60:.1f} min" if source.get("train_seconds") else ""
        epochs = count(source["epochs"], "epoch") if isinstance(source.get("epochs"), int) else "? epochs"
        text = (f"only the encoder was trained here ({text}), for the frozen decoder of "
                f"“{source.get('name')}” ({epochs}{minutes}: "
                f"{source.get('recipe') or '?'})")
    return text


def render_card(card: dict, training: TrainingConfig | None = None) -> str:
    """The human-readable model card (MODEL_CARD.md) from the card's fields and the training config."""
    m = card.get("test_metrics", {})
    lines = [
        f"# {card.get('name', 'VAE')}",
        "",
        card.get("description", ""),
        "",
        f"- **Preset:** `{card.get('preset')}` — latent_dim {card.get('latent_dim')}, "
        f"beta {card.get('beta')}",
        f"- **Trained on:** {card.get('trained_on')}",
        _images_line(card),
        f"- **Data licence:** {card['data_license']}" if card.get("data_license") else None,
        f"- **Epochs:** {card.get('epochs')} (batch {card.get('batch_size')}), "
        f"{card.get('train_seconds', 0) / 60:.1f} min on {card.get('hardware', 'this machine')}",
        _recipe(card, training),
        f"- **Parameters:** {card['parameters']:,}" if isinstance(card.get("parameters"), int) else "",
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
    if card.get("classifier"):  # vae.bundles.classifier's section, the one add-classifier writes
        from vae.bundles.classifier import card_section

        lines += ["", *card_section(card["classifier"])]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _images_line(card: dict) -> str | None:
    """The card's line on images other than 28x28 grey: their size and the likelihood, with its reason."""
    shape = card.get("image_shape")
    if not shape or not card.get("likelihood"):
        return None
    height, width, channels = shape
    kind = "colour (RGB)" if channels == 3 else "grey"
    return (f"- **Images and likelihood:** {height}×{width} {kind}; {card['likelihood']}, chosen as "
            f"{card.get('likelihood_reason', '')}")


def card_markdown(path: str | Path, card: dict | None = None) -> str:
    """A bundle's model card as Markdown: its MODEL_CARD.md, else one rendered from its card (`card`, if
    already read, else card.json) and its recipe."""
    path = Path(path)
    md = path / CARD_MD
    if md.is_file():
        return md.read_text()
    return render_card(read_json(path / CARD_JSON, {}) if card is None else card, read_training_config(path))


def has_symlinks(path: str | Path) -> bool:
    """Whether a bundle folder is, or holds, a symbolic link: such a bundle is never loaded, since a link
    (its MODEL_CARD.md, say) could show any file the server can read."""
    path = Path(path)
    if path.is_symlink():
        return True
    for dirpath, dirs, files in os.walk(path):
        if any(Path(dirpath, n).is_symlink() for n in (*dirs, *files)):
            return True
    return False
