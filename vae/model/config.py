"""Model configuration: a small frozen dataclass that travels with the weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

PRESETS = ("default", "course", "colour")
# The image sizes a model takes: MNIST's 28x28 grey, and 32x32 or 64x64 in colour (or grey) for a visitor's
# own images (vae/inputs/prepared.py). The colour preset halves the size down to 4x4, so it needs 32 or 64.
IMAGE_SIDES = (28, 32, 64)
COLOUR_SIDES = (32, 64)
# Every preset's likelihood, in the words a model card states it with. Pixel values (each colour channel of
# each pixel) in [0, 1] are the means of independent Bernoullis: the decoder's sigmoid output is then the
# image it shows, exported and served unchanged, and the ELBO is in nats per image as for MNIST.
LIKELIHOOD = ("Bernoulli per pixel value (each colour channel a value in [0, 1]; the decoder's sigmoid "
              "output is its mean)")
LIKELIHOOD_REASON = ("the same likelihood as the MNIST models, so the negative ELBO is in the same units "
                     "(nats per image, summed over H × W × C values) and the decoder's output is the "
                     "picture shown; a Gaussian with a fixed σ would make the nats depend on a σ picked by "
                     "hand, and a learnt σ lets the likelihood grow without bound on flat colour areas")
# The default preset's encoders, by name, with the words the CLI, the Train page and model cards use for
# them. "wide" is the original; "deep" has fewer weights that can memorise training images, so its codes
# carry over better to images it was not trained on.
ENCODERS = {"wide": "2 strided convolutions, a 512-unit Dense layer",
            "deep": "6 convolutions, a 256-unit Dense layer"}
LIMITS = {
    "latent_dim": (1, 64),
    "augment_shift": (0, 4),
    "dropout": (0.0, 0.9),
    "beta": (0.0, 100.0),
    "epochs": (1, 500),
    "batch_size": (1, 4096),
    "learning_rate": (1e-6, 1.0),
    "weight_decay": (0.0, 1.0),
    "kl_warmup": (0, 500),
}


@dataclass(frozen=True)
class ModelConfig:
    """What it takes to rebuild a model exactly: the architecture and the loss weight."""

    preset: str = "default"
    latent_dim: int = 2
    beta: float = 1.0  # weight of the KL term; 1.0 is the true ELBO
    augment_shift: int = 0  # training only: random shifts of up to this many pixels (less overfitting)
    dropout: float = 0.0  # default preset only: dropout after the hidden Dense layers, while training
    encoder_dropout: float | None = None  # the encoder's own rate, if not `dropout`
    input_dropout: float = 0.0  # default preset only: share of the encoder's input pixels dropped in training
    decoder_filters: tuple[int, int] = (64, 32)  # default preset: the decoder's two transposed convs' filters
    encoder: str = "wide"  # default preset: which encoder (ENCODERS); the course preset has the course's
    image_shape: tuple[int, int, int] = (28, 28, 1)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"Unknown preset '{self.preset}': choose one of {', '.join(PRESETS)}.")
        check_encoder(self.preset, self.encoder)
        check_image_shape(self.preset, self.image_shape)
        check_range("latent_dim", self.latent_dim)
        check_range("beta", self.beta)
        check_range("augment_shift", self.augment_shift)
        if len(self.decoder_filters) != 2 or not all(1 <= int(f) <= 512 for f in self.decoder_filters):
            raise ValueError(f"decoder_filters must be two numbers between 1 and 512; "
                             f"got {self.decoder_filters}.")
        check_range("dropout", self.dropout)
        check_range("dropout", self.input_dropout)
        if self.encoder_dropout is not None:
            check_range("dropout", self.encoder_dropout)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        for name in ("image_shape", "decoder_filters"):  # JSON gives lists
            if name in d:
                d[name] = tuple(d[name])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def check_encoder(preset: str, encoder: str) -> None:
    """Raise a ValueError that says why, unless `encoder` is one of ENCODERS and fits the preset."""
    if encoder not in ENCODERS:
        raise ValueError(f"Unknown encoder '{encoder}': choose one of {', '.join(ENCODERS)}.")
    if preset in ("course", "colour") and encoder != "wide":
        own = "the course's encoder" if preset == "course" else "its own encoder"
        raise ValueError(f"The {preset} preset keeps {own}; the deep encoder is for the default preset.")


def check_image_shape(preset: str, image_shape: tuple[int, ...]) -> None:
    """Raise a ValueError that says why, unless the preset can take square images of this shape."""
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or shape[0] != shape[1] or shape[0] not in IMAGE_SIDES or shape[2] not in (1, 3):
        sides = ", ".join(map(str, IMAGE_SIDES))
        raise ValueError(f"image_shape must be square, {sides} pixels wide, with 1 or 3 channels; "
                         f"got {image_shape}.")
    if preset == "colour" and shape[0] not in COLOUR_SIDES:
        raise ValueError(f"The colour preset takes {' or '.join(map(str, COLOUR_SIDES))}-pixel images; got "
                         f"{shape[0]}. Use the default preset for 28x28.")


def check_range(name: str, value: float) -> None:
    """Raise a ValueError that says the allowed range when a hyperparameter is absurd."""
    lo, hi = LIMITS[name]
    if value != value or not lo <= value <= hi:  # value != value catches NaN
        raise ValueError(f"{name} must be between {lo} and {hi}; got {value}.")
