"""Colour datasets the tests make: coloured shapes drawn with Pillow, stored as prepared datasets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import settings
from vae.inputs import prepared

REPO = Path(__file__).resolve().parents[2]
SHAPES = ("circle", "square", "triangle", "cross")
# The live decoder's canvas, read in the browser: how far from grey its most colourful pixel is, and its size.
COLOURFULNESS = """() => {
  const c = document.querySelector('canvas#img');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let most = 0;
  for (let i = 0; i < px.length; i += 4) {
    most = Math.max(most, Math.abs(px[i] - px[i + 1]), Math.abs(px[i + 1] - px[i + 2]));
  }
  return [most, c.width, c.height];
}"""



def shape_image(label: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """One side x side RGB picture: a shape of kind SHAPES[label], in a random colour, size and place, on a
    random warm background (orange on average: even a barely trained decoder's mean image is not grey)."""
    background = tuple(int(v) for v in rng.integers((190, 130, 30), (256, 200, 110)))
    colour = tuple(int(v) for v in rng.integers(0, 160, 3))
    img = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(img)
    half = rng.uniform(0.22, 0.38) * side
    cx, cy = rng.uniform(half, side - half, 2)
    box = [cx - half, cy - half, cx + half, cy + half]
    if SHAPES[label] == "circle":
        draw.ellipse(box, fill=colour)
    elif SHAPES[label] == "square":
        draw.rectangle(box, fill=colour)
    elif SHAPES[label] == "triangle":
        draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=colour)
    else:
        width = max(2, int(half / 2))
        draw.line([(cx - half, cy), (cx + half, cy)], fill=colour, width=width)
        draw.line([(cx, cy - half), (cx, cy + half)], fill=colour, width=width)
    return np.asarray(img, np.uint8)


def shapes_arrays(n: int, side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n pictures (n, side, side, 3) uint8 with their labels, the labels taking turns."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SHAPES)
    return np.stack([shape_image(int(label), side, rng) for label in labels]), labels


def make_shapes_dataset(dataset_id: str, side: int, n_train: int = 512, n_test: int = 128) -> str:
    """Write a coloured-shapes dataset under $VAE_HOME/datasets/<dataset_id>; returns its name, own/<id>."""
    x_train, y_train = shapes_arrays(n_train, side, seed=0)
    x_test, y_test = shapes_arrays(n_test, side, seed=1)
    meta = {"title": f"coloured shapes {side}×{side}", "labels": list(SHAPES),
            "origin": "shapes the tests drew", "licence": "made by the tests"}
    prepared.write(settings.datasets_dir() / dataset_id, meta, x_train, y_train, x_test, y_test)
    return prepared.PREFIX + dataset_id


def train_colour(out: Path, dataset: str, *flags: str) -> Path:
    """Train the colour preset on a prepared dataset for 1 epoch through the CLI into `out`."""
    proc = subprocess.run(
        [sys.executable, "-m", "vae", "train", "--dataset", dataset, "--preset", "colour", "--epochs", "1",
         "--threads", "1", *flags, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out
