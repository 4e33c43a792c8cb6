"""An imported model's bundle: its file layout, the atomic move into place, and loading it back."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vae.bundles.bundle import (
    CARD_MD,
    CONFIG,
    MANIFEST,
    METRICS,
    REFERENCE,
    REQUIRED,
    WEIGHTS,
    atomic_bundle_dir,
    check_bundle,
    read_json,
)
from vae.importing.archive_check import check_config, inspect_archive

IMPORTED = "imported"  # the preset name of a bundle made from a user's own graph
ENCODER_KERAS = "encoder.keras"
DECODER_KERAS = "decoder.keras"
IMAGE_SHAPE = (28, 28, 1)

if TYPE_CHECKING:  # vae.model.presets imports Keras; only the annotation needs it here
    from vae.model.presets import VAE


def check_out(out: str | Path) -> Path:
    """`--out` may be a new path or an existing bundle (replaced atomically), never another folder."""
    out = Path(out)
    if out.exists() and not (out.is_dir() and (out / MANIFEST).is_file()):
        raise ValueError(f"{out} exists and is not a model bundle; choose a new --out path.")
    return out


def write_bundle(out: str | Path, staging: Path) -> Path:
    """Move the sandbox's files into `out` with the project's atomic bundle save."""
    allowed = set(REQUIRED) | {METRICS, REFERENCE, CARD_MD, ENCODER_KERAS, DECODER_KERAS}
    names = sorted(p.name for p in staging.iterdir())
    unexpected = [n for n in names if n not in allowed]
    missing = [n for n in REQUIRED if n not in names]
    if unexpected or missing:
        raise RuntimeError(f"the import produced an incomplete bundle (missing {missing}, "
                           f"unexpected {unexpected})")
    with atomic_bundle_dir(out) as tmp:
        for n in names:
            shutil.move(str(staging / n), str(tmp / n))
    return check_bundle(out)


@dataclass(frozen=True)
class ImportedConfig:
    """The config of an imported bundle, shaped like `vae.model.config.ModelConfig` where it matters."""

    preset: str
    latent_dim: int
    beta: float = 1.0
    image_shape: tuple = IMAGE_SHAPE

    def to_dict(self) -> dict:
        return {"preset": self.preset, "latent_dim": self.latent_dim, "beta": self.beta,
                "image_shape": list(self.image_shape)}


def is_imported(path: str | Path) -> bool:
    return (read_json(Path(path) / CONFIG, {}) or {}).get("preset") == IMPORTED


def load_imported(path: str | Path) -> tuple[VAE, ImportedConfig]:
    """(VAE, ImportedConfig) for an imported bundle: its re-saved graphs, then its combined weights.

    Our own re-saved archives are still checked against the allow-list before Keras loads them.
    """
    import keras  # here, not at the top: the web process imports this package without TensorFlow

    from vae.model.presets import VAE  # (Keras)

    path = check_bundle(path)
    raw = read_json(path / CONFIG)
    models = []
    for f in (ENCODER_KERAS, DECODER_KERAS):
        archive = inspect_archive(path / f)
        check_config(archive.config, where=f)
        models.append(keras.saving.load_model(str(path / f), safe_mode=True, compile=False))
    vae = VAE(*models, beta=float(raw.get("beta", 1.0)), name="vae_imported")
    vae(keras.ops.zeros((1, *IMAGE_SHAPE)))
    vae.load_weights(str(path / WEIGHTS))
    beta = float(raw.get("beta", 1.0))
    return vae, ImportedConfig(preset=IMPORTED, latent_dim=int(raw["latent_dim"]), beta=beta)
