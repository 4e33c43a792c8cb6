"""The classifier's view of a map's plane: the label and confidence of the decode at each point of a grid."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from explorer.pictures import PALETTE

GRID = 40  # cells along each side of the plane (the 1-D strip: along x only); 1,600 decodes
UNSURE = 0.5  # a cell whose top class has less than this probability is one the classifier cannot name
CELL_PX = 4  # each cell drawn as 4 x 4 pixels, so the browser's smoothing blurs only the cells' edges
MAX_ALPHA = 0.55  # the most opaque a cell is drawn (the points stay visible through it)


@dataclass(frozen=True)
class Overlay:
    """A grid's labels and confidences over the rectangle x_range by y_range of a map's plane, drawn as a
    PNG (`image`, a data: URL): each cell in its label's colour, paler the less sure the classifier is."""

    image: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    cols: int
    rows: int
    labels: tuple[int, ...]  # each cell's most probable class, row by row from the bottom
    confidence: tuple[float, ...]  # that class's probability

    @property
    def unsure_share(self) -> float:
        """The share of the grid's cells the classifier names with under UNSURE probability."""
        return float(np.mean(np.asarray(self.confidence) < UNSURE))

    def shares(self) -> dict[int, float]:
        """Each class's share of the grid's cells, largest first."""
        kinds, counts = np.unique(self.labels, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {int(kinds[i]): float(counts[i] / len(self.labels)) for i in order}


def cell_centres(x_range, y_range, cols: int, rows: int) -> np.ndarray:
    """The (rows * cols, 2) centres of a grid's cells over the rectangle, row by row from the bottom."""
    xs = x_range[0] + (np.arange(cols) + 0.5) * (x_range[1] - x_range[0]) / cols
    ys = y_range[0] + (np.arange(rows) + 0.5) * (y_range[1] - y_range[0]) / rows
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def compute(decode: Callable[[np.ndarray], np.ndarray], classify: Callable[[np.ndarray], np.ndarray],
            to_z: Callable[[np.ndarray], np.ndarray], x_range, y_range, strip: bool = False,
            grid: int = GRID) -> Overlay:
    """Decode the plane's grid (`to_z` maps its points to z; on a 1-D strip only x is z, so one row
    stretched over the strip's height) and classify each decode."""
    cols, rows = grid, 1 if strip else grid
    z = to_z(cell_centres(x_range, y_range, cols, rows))
    probabilities = classify(decode(z))
    labels, confidence = probabilities.argmax(1), probabilities.max(1)
    image = picture(labels, confidence, cols, rows, probabilities.shape[1])
    return Overlay(image, tuple(map(float, x_range)), tuple(map(float, y_range)), cols, rows,
                   tuple(int(v) for v in labels),
                   tuple(round(float(v), 4) for v in confidence))


def picture(labels: np.ndarray, confidence: np.ndarray, cols: int, rows: int, classes: int) -> str:
    """The grid as an RGBA PNG data URL, top row first: each cell in its label's colour (the map's legend),
    as opaque as the classifier is sure beyond chance (a cell at chance is clear)."""
    colours = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], np.uint8)
    k = max(classes, 2)
    sure = np.clip((confidence - 1 / k) / (1 - 1 / k), 0, 1)  # 0 at chance, 1 when certain
    rgba = np.empty((len(labels), 4), np.uint8)
    rgba[:, :3] = colours[labels % len(PALETTE)]
    rgba[:, 3] = np.round(255 * MAX_ALPHA * sure).astype(np.uint8)
    image = rgba.reshape(rows, cols, 4)[::-1]  # rows from the bottom -> an image's rows from the top
    image = image.repeat(CELL_PX, 0).repeat(CELL_PX, 1)
    buffer = io.BytesIO()
    Image.fromarray(image, "RGBA").save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def add_to_figure(fig, overlay: Overlay) -> None:
    """Lay the overlay's picture under a map figure's points, stretched over its rectangle."""
    (x0, x1), (y0, y1) = overlay.x_range, overlay.y_range
    fig.add_layout_image(source=overlay.image, xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0,
                         sizing="stretch", xanchor="left", yanchor="top", layer="below", opacity=1.0)
