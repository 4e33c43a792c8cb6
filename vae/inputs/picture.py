"""Any picture made a model's input as its own images were: centre-cropped, resized, colour kept."""

# The pipeline for models of a visitor's own images (32x32 or 64x64 in colour, or grey): no digit clean-up
# (no inversion, no ink crop, no stroke width), which would turn a photo of a leaf into an MNIST-like blob.
# A centre crop keeps the middle of the picture, as a prepared dataset's images keep theirs.

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from vae.inputs.image_file import load_image

PIPELINE = "picture"  # what the page calls the pipeline that ran (the digit one is "digit")


@dataclass(frozen=True)
class Fitted:
    """Every stage of `to_model_input`, so the page can show what was done to the picture."""

    original: np.ndarray  # uint8 RGB (H, W, 3) as uploaded (transparency on white)
    cropped: np.ndarray  # uint8 RGB, the centred square crop
    image: np.ndarray  # float32 (h, w, 3) for a colour model or (h, w) for a grey one, in [0, 1]
    colour: bool

    @property
    def steps(self) -> list[str]:
        """The captions of the three pictures, in words."""
        h, w = self.image.shape[:2]
        oh, ow = self.original.shape[:2]
        kind = "in colour" if self.colour else "in grey"
        return [f"Original ({ow}×{oh})", f"Centre-cropped to a square ({self.cropped.shape[1]}×"
                f"{self.cropped.shape[0]})", f"{w}×{h} {kind} (what the encoder sees)"]


def _rgb(img: Image.Image) -> Image.Image:
    """The picture in RGB, any transparency composited on white."""
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")


def to_model_input(img: Image.Image, image_shape: tuple[int, ...]) -> Fitted:
    """A picture as a model of `image_shape` (H, W, C) takes it: centre-cropped to a square, resized with
    Lanczos (area-averaging when shrinking, so no aliasing), RGB for C = 3 or luminance for C = 1."""
    height, width, channels = (int(d) for d in image_shape)
    rgb = _rgb(img)
    w, h = rgb.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    small = square.resize((width, height), Image.Resampling.LANCZOS)
    if channels == 1:
        small = small.convert("L")
    image = np.asarray(small, np.float32) / 255.0
    return Fitted(original=np.asarray(rgb, np.uint8), cropped=np.asarray(square, np.uint8), image=image,
                  colour=channels == 3)


def fit_bytes(data: bytes, image_shape: tuple[int, ...]) -> Fitted:
    """Uploaded bytes -> every stage (load_image's safety checks, then to_model_input)."""
    return to_model_input(load_image(data), image_shape)
