"""What a job is asked to do: a training (JobSpec) or an import (ImportSpec), and what it costs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, fields

from vae.importing.card import shown_file_name
from vae.inputs import prepared
from vae.model.training_config import TrainingConfig
from vae.plural import count

UPLOADS = "upload"  # in an import job's folder: the visitor's files, under the names below (never theirs)
MAX_NAME = 80  # characters of a job's display name
UPLOAD_NAMES = {"graph": ("encoder.keras", "decoder.keras"), "weights": ("upload.weights.h5",)}

# Training images per epoch, before --max-train: what a job's size (epochs × images) is counted in.
TRAIN_IMAGES = {"mnist": 60_000, "fashion_mnist": 60_000, "digits": 1_437}


def train_images(dataset: str) -> int:
    """A dataset's training images: the built-in ones' known counts, a prepared one's from its
    dataset.json."""
    if prepared.is_prepared_name(dataset):
        try:
            return int(prepared.read_meta(dataset)["n_train"])
        except (OSError, ValueError, KeyError, TypeError):
            return 60_000  # gone or unreadable: the job fails at once, but is sized like MNIST meanwhile
    return TRAIN_IMAGES.get(dataset, 60_000)


def job_size(spec: TrainingConfig) -> int:
    """Epochs × training images: what a job costs, roughly, in trainer time."""
    images = train_images(spec.dataset)
    return spec.epochs * min(images, spec.max_train or images)


def _clean_name(name) -> str:
    """A job's display name on one line, its spaces collapsed; a ValueError over MAX_NAME characters."""
    name = " ".join(str(name).split())
    if len(name) > MAX_NAME:
        raise ValueError(f"name must be at most {MAX_NAME} characters; got {len(name)}.")
    return name


@dataclass(frozen=True, kw_only=True)
class JobSpec(TrainingConfig):
    """What to train (a training config) and the job's display name; two equal specs are the same job
    (a double-click starts it once)."""

    name: str = ""  # display name; the bundle goes to <user models>/<slug of the name>

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "name", _clean_name(self.name))

    @property
    def config(self) -> TrainingConfig:
        """The training config alone: what the job hands the trainer."""
        return TrainingConfig(**{f.name: getattr(self, f.name) for f in fields(TrainingConfig)})

    @property
    def display_name(self) -> str:
        return self.name or f"{self.dataset} {self.latent_dim}-D β={self.beta:g} ({self.preset})"

    @property
    def slug(self) -> str:
        """The bundle's folder name: the name in lowercase ASCII letters, digits and dashes."""
        return _slug(self.name, f"{self.dataset}-{self.latent_dim}d-beta-{self.beta:g}-{self.preset}")


def _slug(name: str, auto: str) -> str:
    """A folder name from a display name (lowercase ASCII letters, digits and dashes), else from `auto`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", auto.lower()).strip("-")


def upload_digest(uploads: dict[str, bytes]) -> str:
    """sha256 over an import's uploaded files (name and bytes): equal uploads make an equal ImportSpec."""
    h = hashlib.sha256()
    for name in sorted(uploads):
        h.update(f"{name}\0{len(uploads[name])}\0".encode())
        h.update(uploads[name])
    return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class ImportSpec:
    """An import job: the visitor's own model, uploaded into the job's folder, made a bundle by `python -m vae
    import` (the same checks, safe_mode and limits as on the command line). Two equal specs (same settings,
    same files by their digest) are the same job, so a double-click starts it once."""

    source: str  # "graph": an encoder and a decoder .keras; "weights": a .weights.h5 of one of our presets
    dataset: str = "mnist"  # the test split it is measured and mapped on
    name: str = ""  # display name; the bundle goes to <user models>/<slug of the name>
    preset: str | None = None  # "weights" only: which preset, and its latent size
    latent_dim: int | None = None
    file_names: tuple[str, ...] = ()  # the visitor's names for the files, shown as text, never used as paths
    digest: str = ""  # upload_digest() of the files

    def __post_init__(self) -> None:
        if self.source not in UPLOAD_NAMES:
            raise ValueError(f"source must be one of {', '.join(UPLOAD_NAMES)}; got {self.source!r}.")
        if self.dataset not in TRAIN_IMAGES:
            raise ValueError(f"dataset must be one of {', '.join(TRAIN_IMAGES)}; got {self.dataset!r}.")
        object.__setattr__(self, "name", _clean_name(self.name))
        object.__setattr__(self, "file_names", tuple(shown_file_name(n) for n in self.file_names))
        if self.source == "weights":
            if self.preset not in ("default", "course"):
                raise ValueError(f"a weights file needs the preset it was trained with (default or course); "
                                 f"got {self.preset!r}.")
            if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= 64:
                raise ValueError(f"latent_dim must be a whole number from 1 to 64; got {self.latent_dim!r}.")
        elif self.preset is not None or self.latent_dim is not None:
            raise ValueError("an encoder and decoder say their own architecture: no preset or latent_dim.")

    @classmethod
    def of_files(cls, source: str, files: list[tuple[str, bytes]], **settings) -> tuple[ImportSpec, dict]:
        """The spec for a visitor's files ((their name, bytes), in the order of UPLOAD_NAMES[source]) and the
        uploads to start it with, under the job folder's own names."""
        names = UPLOAD_NAMES.get(source, ())
        if len(files) != len(names):
            raise ValueError(f"this import takes {count(len(names), 'file')}; got {len(files)}.")
        uploads = {name: data for name, (_, data) in zip(names, files)}
        theirs = tuple(name for name, _ in files)
        return cls(source=source, file_names=theirs, digest=upload_digest(uploads), **settings), uploads

    @property
    def upload_names(self) -> tuple[str, ...]:
        """The files' names in the job's upload/ folder, in the order the import command takes them."""
        return UPLOAD_NAMES[self.source]

    @property
    def display_name(self) -> str:
        return self.name or f"{' + '.join(self.file_names) or 'imported model'} ({self.dataset})"

    @property
    def slug(self) -> str:
        return _slug(self.name, f"imported-{self.dataset}")

    def to_dict(self) -> dict:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> ImportSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if k == "file_names" else v for k, v in d.items() if k in known})


DATASET_SIZES = ("28-grey", "32-colour", "64-colour")  # vae.inputs.own_images.SIZES (not imported: Pillow)
DATASET_FITS = ("crop", "pad")
DATASET_UPLOAD = "images.zip"  # in a dataset job's upload/ folder: the visitor's zip, under this name


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """A dataset job: a visitor's zip of images (source "upload", in the job's folder), or one of the
    operator's VAE_DATASET_FOLDERS (source "folder", named by its id, never a path), checked and prepared
    by `python -m vae dataset` at the chosen size. Two equal specs (same settings, same zip by its digest)
    are the same job."""

    source: str  # "upload" or "folder"
    name: str = ""  # the dataset's title
    size: str = "28-grey"
    fit: str = "crop"  # centre-crop, or pad, to a square
    licence: str = ""  # the owner's licence line for the images, shown on the card
    file_name: str = ""  # the visitor's name for the zip, shown as text, never used as a path
    folder: str = ""  # "folder": the operator folder's id (jobservice.datasets.folder_id)
    digest: str = ""  # upload_digest() of the zip

    def __post_init__(self) -> None:
        if self.source not in ("upload", "folder"):
            raise ValueError(f"source must be upload or folder; got {self.source!r}.")
        if self.size not in DATASET_SIZES or self.fit not in DATASET_FITS:
            raise ValueError(f"size must be one of {', '.join(DATASET_SIZES)} and fit one of "
                             f"{', '.join(DATASET_FITS)}.")
        if (self.source == "folder") != bool(re.fullmatch(r"[a-z0-9-]{1,80}", self.folder)):
            raise ValueError("an operator's folder is named by its id, and only a folder job names one.")
        object.__setattr__(self, "name", _clean_name(self.name))
        object.__setattr__(self, "licence", " ".join(str(self.licence).split())[:200])
        object.__setattr__(self, "file_name", shown_file_name(self.file_name) if self.file_name else "")

    @property
    def upload_names(self) -> tuple[str, ...]:
        return (DATASET_UPLOAD,) if self.source == "upload" else ()

    @property
    def display_name(self) -> str:
        return self.name or self.file_name or "My images"

    @property
    def slug(self) -> str:
        return _slug(self.name or self.file_name.rsplit(".", 1)[0], "images")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> DatasetSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
