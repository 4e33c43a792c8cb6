"""Any picture made a model's input as its own images were: cropped or padded square, resized, colour kept."""

# The pipeline for models of a visitor's own images (32x32 or 64x64 in colour, or grey): no digit clean-up
# (no inversion, no ink crop, no stroke width), which would turn a photo of a leaf into an MNIST-like blob.
# One function fits both a dataset's images (vae/inputs/own_images.py, in the job) and a picture on Encode,
# so a picture is squared as the model's training images were (the card's `fit`).

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from vae.inputs.image_file import load_image

PIPELINE = "picture"  # what the page calls the pipeline that ran (the digit one is "digit")
FITS = {"crop": "centre-cropped to a square", "pad": "padded to a square with its edge colour"}


@dataclass(frozen=True)
class Fitted:
    """Every stage of `to_model_input`, so the page can show what was done to the picture."""

    original: np.ndarray  # uint8 RGB (H, W, 3) as uploaded (transparency on white)
    cropped: np.ndarray  # uint8 RGB, the square: centre-cropped or padded (`fit`)
    image: np.ndarray  # float32 (h, w, 3) for a colour model or (h, w) for a grey one, in [0, 1]
    colour: bool
    fit: str = "crop"

    @property
    def steps(self) -> list[str]:
        """The captions of the three pictures, in words."""
        h, w = self.image.shape[:2]
        oh, ow = self.original.shape[:2]
        kind = "in colour" if self.colour else "in grey"
        return [f"Original ({ow}×{oh})", f"{FITS[self.fit].capitalize()} ({self.cropped.shape[1]}×"
                f"{self.cropped.shape[0]})", f"{w}×{h} {kind} (what the encoder sees)"]


def _rgb(img: Image.Image) -> Image.Image:
    """The picture in RGB, any transparency composited on white."""
    if img.mode in ("RGBA", "LA", "PA", "P"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")


def square(rgb: Image.Image, fit: str) -> Image.Image:
    """The picture made square: its centre cropped ("crop"), or padded on two sides with the median colour
    of its edge pixels ("pad", so a photo on white paper is padded with that paper's white)."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}; got {fit!r}.")
    w, h = rgb.size
    if fit == "crop":
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        return rgb.crop((left, top, left + side, top + side))
    pixels = np.asarray(rgb)
    edge = np.concatenate([pixels[[0, -1]].reshape(-1, 3), pixels[:, [0, -1]].reshape(-1, 3)])
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), tuple(int(v) for v in np.median(edge, axis=0)))
    canvas.paste(rgb, ((side - w) // 2, (side - h) // 2))
    return canvas


def fit_pixels(img: Image.Image, side: int, channels: int, fit: str) -> tuple[Image.Image, np.ndarray]:
    """The picture squared (`square`) and resized to side × side with Lanczos (area-averaging when shrinking,
    so no aliasing), RGB for 3 channels or luminance for 1: the square, and uint8 (side, side, channels)."""
    squared = square(_rgb(img), fit)
    small = squared.resize((side, side), Image.Resampling.LANCZOS)
    if channels == 1:
        small = small.convert("L")
    return squared, np.asarray(small, np.uint8).reshape(side, side, channels)


def to_model_input(img: Image.Image, image_shape: tuple[int, ...], fit: str = "crop") -> Fitted:
    """A picture as a model of `image_shape` (H, W, C) takes it: squared as its training images were
    (`fit`), resized, in colour for C = 3 or grey for C = 1."""
    height, width, channels = (int(d) for d in image_shape)
    squared, pixels = fit_pixels(img, height, channels, fit)
    image = pixels.astype(np.float32) / 255.0
    return Fitted(original=np.asarray(_rgb(img), np.uint8), cropped=np.asarray(squared, np.uint8),
                  image=image if channels == 3 else image[..., 0], colour=channels == 3, fit=fit)


def fit_bytes(data: bytes, image_shape: tuple[int, ...], fit: str = "crop") -> Fitted:
    """Uploaded bytes -> every stage (load_image's safety checks, then to_model_input)."""
    return to_model_input(load_image(data), image_shape, fit)
