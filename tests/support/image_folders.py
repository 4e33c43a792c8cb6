"""Folders of images the tests make: scikit-learn's digits or coloured shapes, PNGs in label folders."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def digits_files(per_label: int | None = None, top: str = "digits") -> dict[str, bytes]:
    """scikit-learn's 8×8 digits as 28×28 grey PNGs, `top/<digit>/<index>.png` (white ink on black)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    files, seen = {}, {}
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target)):
        if per_label is not None and seen.get(label, 0) >= per_label:
            continue
        seen[label] = seen.get(label, 0) + 1
        image = Image.fromarray(np.uint8(pixels * 255 / 16)).resize((28, 28), Image.Resampling.BILINEAR)
        files[f"{top}/{label}/{index:04d}.png"] = png(image)
    return files


SHAPES = ("circle", "square", "triangle")
COLOURS = ((220, 40, 40), (40, 160, 60), (40, 80, 220))


def shape_image(shape: str, index: int, side: int = 48) -> Image.Image:
    """A coloured shape on a light background, its colour, size and place varying with `index`."""
    rng = np.random.default_rng(index)
    colour = COLOURS[index % len(COLOURS)]
    image = Image.new("RGB", (side + 16, side), (245, 240, 230))  # not square: the crop or pad matters
    draw = ImageDraw.Draw(image)
    r = int(rng.integers(side // 5, side // 3))
    cx, cy = int(rng.integers(r + 8, side + 8 - r)), int(rng.integers(r, side - r))
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return image


def shapes_files(per_label: int = 12, top: str = "shapes") -> dict[str, bytes]:
    """Coloured shapes as PNGs, `top/<shape>/<index>.png`."""
    return {f"{top}/{shape}/{i:03d}.png": png(shape_image(shape, i))
            for shape in SHAPES for i in range(per_label)}


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root
