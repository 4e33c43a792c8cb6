"""The training recipe as one frozen dataclass: what a job hands the trainer and what a bundle keeps."""

from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from vae.inputs import prepared
from vae.inputs.data import DATASETS
from vae.model.config import ENCODERS, ModelConfig, check_range
from vae.plural import count, noun

# Version 1 is the first file format. Reading a file follows one rule: a key this version does not know is
# an error in a file of this version or an older one (a typo must not pass as a default), and is ignored
# in a file of a newer version (a newer trainer added a field this one cannot use); a key the file lacks
# takes the field's default. So adding a field means raising FORMAT_VERSION.
FORMAT_VERSION = 2  # 2: image_shape (a visitor's own images may be 32x32 or 64x64, in colour)
INTS = ("latent_dim", "augment_shift", "epochs", "batch_size", "kl_warmup", "average_last", "seed")
FLOATS = ("beta", "dropout", "input_dropout", "learning_rate", "weight_decay", "ema_momentum")
# The fields that make up the model's own ModelConfig (config.json): the same names and meanings.
MODEL_FIELDS = tuple(f.name for f in fields(ModelConfig))


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Everything `python -m vae train` needs to train one model, checked when it is made.

    Where the data, the job folder and the bundle are, and how many threads run, are not part of it:
    they say where and how fast a run goes, not what it trains.
    """

    dataset: str  # one of vae.inputs.data.DATASETS, or a prepared dataset's own/<id>
    max_train: int | None = None  # use only the first N training images (tests, quick trials)
    # The model (see ModelConfig for each field's meaning)
    preset: str = "default"
    encoder: str = "wide"
    latent_dim: int = 2
    beta: float = 1.0
    dropout: float = 0.0
    encoder_dropout: float | None = None
    input_dropout: float = 0.0
    decoder_filters: tuple[int, int] = (64, 32)
    augment_shift: int = 0
    # The dataset's images: None when made means the dataset's own (28x28x1 for a built-in dataset, a
    # prepared dataset's from its dataset.json), so a preset that cannot take them fails before training.
    image_shape: tuple[int, int, int] | None = None
    # The optimisation
    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam's (AdamW's with weight decay), decayed along a cosine over the run
    weight_decay: float = 0.0  # decoupled weight decay (AdamW); 0 = plain Adam
    kl_warmup: int = 0  # epochs over which the KL weight ramps from 0 to beta
    ema: bool = False  # save an exponential moving average of the weights
    ema_momentum: float = 0.999
    average_last: int = 0  # save the uniform average of the weights at the end of the last N epochs (SWA)
    decoder_from: str | None = None  # a trained bundle: its decoder is copied in, frozen; the encoder trains
    seed: int = 0

    def __post_init__(self) -> None:
        if prepared.is_prepared_name(self.dataset):
            prepared.folder_of(self.dataset)  # a well-formed own/<id> (whether it is there: the trainer's)
        elif self.dataset not in DATASETS:
            raise ValueError(f"Unknown dataset '{self.dataset}': choose one of {', '.join(DATASETS)}, or a "
                             "prepared own/<id>.")
        for name in INTS + FLOATS:
            self._coerce(name, int if name in INTS else float)
        if self.encoder_dropout is not None:
            self._coerce("encoder_dropout", float)
        if not isinstance(self.ema, bool):
            raise ValueError(f"ema must be true or false; got {self.ema!r}.")
        object.__setattr__(self, "decoder_filters", _filters(self.decoder_filters))
        object.__setattr__(self, "image_shape", _shape(self.image_shape) if self.image_shape is not None
                           else _dataset_shape(self.dataset))
        self.model_config  # building it checks the model's fields, with ModelConfig's own messages
        for name in ("epochs", "batch_size", "learning_rate", "weight_decay", "kl_warmup"):
            check_range(name, getattr(self, name))
        if not 0 <= self.average_last <= self.epochs:
            raise ValueError(f"average_last must be between 0 and epochs ({self.epochs}); "
                             f"got {self.average_last}.")
        if not 0.0 < self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be between 0 and 1 (exclusive); got {self.ema_momentum}.")
        if self.max_train is not None:
            if isinstance(self.max_train, bool) or not isinstance(self.max_train, numbers.Integral) \
                    or self.max_train < 1:
                raise ValueError(f"max_train must be a whole number of at least 1; got {self.max_train!r}.")
            object.__setattr__(self, "max_train", int(self.max_train))
        if self.decoder_from is not None:
            if not isinstance(self.decoder_from, (str, os.PathLike)) or not str(self.decoder_from):
                raise ValueError(f"decoder_from must be the path of a model bundle; "
                                 f"got {self.decoder_from!r}.")
            object.__setattr__(self, "decoder_from", str(self.decoder_from))

    def _coerce(self, name: str, kind: type) -> None:
        """Store a number field as `kind`, refusing what is not a number or, for whole numbers, a fraction."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a number; got {value!r}.")
        if kind is int and not (math.isfinite(value) and value == int(value)):
            raise ValueError(f"{name} must be a whole number; got {value!r}.")
        object.__setattr__(self, name, kind(value))

    @property
    def model_config(self) -> ModelConfig:
        """The model this recipe trains, as the bundle's config.json records it."""
        return ModelConfig(**{name: getattr(self, name) for name in MODEL_FIELDS})

    def describe(self, averaged_epochs: int = 0) -> str:
        """The model card's account of how it was trained; `averaged_epochs` is how many epochs' weights a
        weight average took in (fewer than `average_last` when the run stopped early)."""
        adam = f"AdamW (weight decay {self.weight_decay:g})" if self.weight_decay else "Adam"
        parts = [f"{adam}, learning rate {self.learning_rate:g} with cosine decay, batch {self.batch_size}"]
        if self.kl_warmup:
            parts.append(f"KL weight ramped from 0 over the first {count(self.kl_warmup, 'epoch')}")
        if self.encoder_dropout is not None and self.encoder_dropout != self.dropout:
            if self.dropout:
                parts.append(f"dropout {self.dropout:g} after the decoder's hidden Dense layer")
            if self.encoder_dropout:
                parts.append(f"dropout {self.encoder_dropout:g} after the encoder's")
        elif self.dropout:
            parts.append(f"dropout {self.dropout:g} after the hidden Dense layers")
        if self.preset == "default" and self.encoder != "wide":
            parts.append(f"the {self.encoder} encoder ({ENCODERS[self.encoder]})")
        if self.preset == "default" and self.decoder_filters != (64, 32):
            first, second = self.decoder_filters
            parts.append(f"decoder's transposed convolutions with {first} and {second} filters")
        if self.input_dropout:
            parts.append(f"{self.input_dropout:.0%} of the encoder's input pixels dropped")
        if self.augment_shift:
            parts.append(f"training images shifted at random by up to {self.augment_shift} px")
        if self.ema:
            parts.append(f"weights averaged (EMA, momentum {self.ema_momentum:g})")
        if averaged_epochs:
            parts.append(f"saved weights averaged over the last {count(averaged_epochs, 'epoch')} (SWA)")
        parts.append(f"seed {self.seed}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        """The fields as JSON types, after the file format's version."""
        return {"format_version": FORMAT_VERSION, **asdict(self),
                "decoder_filters": list(self.decoder_filters), "image_shape": list(self.image_shape)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> TrainingConfig:
        """Read a dict written by `to_dict`, by any version (see FORMAT_VERSION for the rule)."""
        if not isinstance(d, dict):
            raise ValueError(f"A training config is a JSON object; got {type(d).__name__}.")
        d = dict(d)
        version = d.pop("format_version", FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"format_version must be a whole number of at least 1; got {version!r}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown and version <= FORMAT_VERSION:
            raise ValueError(f"Unknown training-config {noun(len(unknown), 'key')} "
                             f"{', '.join(unknown)}: choose from {', '.join(sorted(known))}.")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.name not in d]
        if required:
            raise ValueError(f"A training config needs {' and '.join(required)}.")
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> TrainingConfig:
        return cls.from_dict(json.loads(text))  # a JSONDecodeError is a ValueError, with where it broke

    @classmethod
    def read(cls, path: str | Path) -> TrainingConfig:
        """Read a training-config JSON file; a ValueError names the file and what is wrong with it."""
        try:
            return cls.from_json(Path(path).read_text())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def _filters(value) -> tuple[int, int]:
    """Two whole numbers as a tuple (JSON gives a list); ModelConfig checks their range."""
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v == int(v)
            for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"decoder_filters must be two numbers between 1 and 512; got {value!r}.")


def _dataset_shape(dataset: str) -> tuple[int, int, int]:
    """The shape of a dataset's images: a prepared dataset's (a ValueError if it is not on this server)."""
    if not prepared.is_prepared_name(dataset):
        return (28, 28, 1)
    try:
        return _shape(prepared.read_meta(dataset)["image_shape"])
    except (OSError, KeyError, json.JSONDecodeError):
        raise ValueError(f"No prepared dataset '{dataset}' on this server.") from None


def _shape(value) -> tuple[int, int, int]:
    """An image shape as a tuple of whole numbers (JSON gives a list); ModelConfig checks which it takes."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(f"image_shape must be three whole numbers (height, width, channels); got {value!r}.")
