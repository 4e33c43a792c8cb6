"""Pictures drawn with NumPy and Pillow: image grids and strips, the test set as dots, PNG bytes."""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
from PIL import Image, ImageDraw

from vae.bundles.serving import to_png  # noqa: F401  (the pages' pictures.to_png; the CLI writes PNGs too)

# Plotly's default qualitative palette, one colour per class.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def compose_grid(images: np.ndarray, n_rows: int, n_cols: int, gap: int = 0,
                 fill: float = 0.25) -> np.ndarray:
    """Tile (n_rows * n_cols, h, w[, 3]) images into one (rows*h + gaps, cols*w + gaps[, 3]) image."""
    images = np.asarray(images)
    h, w = images.shape[1:3]
    out = np.full((n_rows * h + (n_rows - 1) * gap, n_cols * w + (n_cols - 1) * gap, *images.shape[3:]), fill,
                  np.float32)
    for k, img in enumerate(images[: n_rows * n_cols]):
        r, c = divmod(k, n_cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = img
    return out


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    return compose_grid(images, 1, len(images), gap=gap)


def at_height(image: np.ndarray, height: int) -> bytes:
    """A picture (grey or RGB; [0, 1] floats or uint8) as PNG bytes `height` px tall at its own aspect ratio.
    Enlarged with nearest-neighbour, so each pixel the pipeline made stays a sharp block (a small crop
    stretched by the browser is a blur); reduced with Lanczos."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    h, w = arr.shape[:2]
    width = max(1, round(w * height / h))
    resample = Image.Resampling.NEAREST if height >= h else Image.Resampling.LANCZOS
    buf = io.BytesIO()
    Image.fromarray(arr).resize((width, height), resample).save(buf, format="PNG")
    return buf.getvalue()


def map_thumbnail(xy: np.ndarray, labels: np.ndarray | None, x_range, y_range, size: int = 300,
                  dot: float = 1.6) -> np.ndarray:
    """A small latent map as an RGB array: dots coloured by label, grey lines through 0, x right, y up.

    The Decoder shows where z is on this picture after every slider change. A Plotly scatter would be
    rebuilt and redrawn by the browser each time (WebGL, slow without a GPU); a picture drawn once per
    model, marked with `mark_thumbnail`, is a ~20 KB PNG.
    """
    img = np.full((size, size, 3), 255, np.uint8)
    u0, v0 = np.clip(_to_pixels(np.zeros((1, 2)), x_range, y_range, size)[0].round().astype(int), 0, size - 1)
    img[:, u0] = img[v0, :] = 225
    _draw_dots(img, _to_pixels(xy, x_range, y_range, size), labels, dot)
    img[[0, -1], :] = img[:, [0, -1]] = 200
    return img


def points_png(xy: np.ndarray, labels: np.ndarray | None, x_range, y_range, size: int = 1000,
               dot: float = 3.0, opacity: float = 0.35) -> bytes:
    """Points coloured by label on a transparent size x size PNG that spans x_range x y_range.

    Behind Encode's and How it works' maps: thousands of reference points as one picture cost the
    browser almost nothing, where a WebGL scatter of them costs a GL context and its shaders on every
    page load (about 0.3 s each without a GPU). Overlapping dots do not darken each other.
    """
    img = np.zeros((size, size, 4), np.uint8)
    _draw_dots(img, _to_pixels(xy, x_range, y_range, size), labels, dot, alpha=int(round(255 * opacity)))
    buf = io.BytesIO()
    Image.fromarray(img, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _draw_dots(img: np.ndarray, pts: np.ndarray, labels: np.ndarray | None, dot: float,
               alpha: int | None = None) -> None:
    """Stamp a disc of radius `dot` px per point into img (H, W, 3 or 4), in label colours; later
    points cover earlier ones. Vectorised: 10,000 points take milliseconds, not a Python loop's 0.4 s."""
    h, w = img.shape[:2]
    colors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], np.uint8)
    rgb = colors[(np.asarray(labels, int) if labels is not None else np.zeros(len(pts), int)) % len(PALETTE)]
    value = rgb if img.shape[2] == 3 else np.column_stack([rgb, np.full(len(rgb), alpha, np.uint8)])
    r = int(np.ceil(dot))
    centre = np.asarray(pts).round().astype(int)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > dot * dot:
                continue
            u, v = centre[:, 0] + dx, centre[:, 1] + dy
            inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
            img[v[inside], u[inside]] = value[inside]


def mark_thumbnail(thumb: np.ndarray, point, x_range, y_range) -> bytes:
    """The thumbnail with a black cross at `point` (clamped to the frame), as PNG bytes."""
    img = Image.fromarray(thumb)
    size = img.size[0]
    u, v = np.clip(_to_pixels(np.asarray(point, float)[None, :2], x_range, y_range, size)[0], 4, size - 5)
    draw = ImageDraw.Draw(img)
    for width, color in ((6, "white"), (3, "black")):
        draw.line([(u - 9, v - 9), (u + 9, v + 9)], fill=color, width=width)
        draw.line([(u - 9, v + 9), (u + 9, v - 9)], fill=color, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # speed over a few KB: this runs per slider change
    return buf.getvalue()


def _to_pixels(xy: np.ndarray, x_range, y_range, size: int) -> np.ndarray:
    """View coordinates -> pixel coordinates of a size x size picture (y grows upwards in the view)."""
    (x0, x1), (y0, y1) = x_range, y_range
    u = (np.asarray(xy)[:, 0] - x0) / max(x1 - x0, 1e-12) * (size - 1)
    v = (y1 - np.asarray(xy)[:, 1]) / max(y1 - y0, 1e-12) * (size - 1)
    return np.stack([u, v], axis=1)


def inline_png(png: bytes) -> str:
    """PNG bytes as a data: URL for st.image: the picture travels inside the page's message instead of
    as a media file the browser fetches afterwards, one request per picture, from a server that is
    still busy sending the page (worth it for pictures of a few to ~100 KB shown on load)."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def labelled_grid_svg(png: bytes, xs: np.ndarray, ys: np.ndarray | None, x_title: str, y_title: str | None,
                      cell: int = 40) -> str:
    """A decoded grid (PNG bytes, top row = largest y) as an SVG picture whose axes give the actual
    coordinates of its cells, which need not be evenly spaced. A picture, not a chart: the browser has no
    Plotly figure to build (a second chart cost the Latent map ~0.15 s per load).

    `ys` None: a one-row grid (a 1-D model's strip), whose y is no coordinate.
    """
    cols, rows = len(xs), 1 if ys is None else len(ys)
    left, top, right, bottom = (12 if ys is None else 70), 6, 12, 46
    width, height = cols * cell, rows * cell
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + right}" '
           f'height="{top + height + bottom}" font-family="sans-serif" font-size="12" fill="#31333f">',
           f'<image href="{inline_png(png)}" x="{left}" y="{top}" width="{width}" height="{height}" '
           'preserveAspectRatio="none" style="image-rendering:auto"/>']
    step = int(np.ceil(44 / cell))  # every k-th tick, so that labels about 40 px wide never overlap
    for i in range(0, cols, step):
        x = left + (i + 0.5) * cell
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + height}" y2="{top + height + 4}" '
                   'stroke="#888"/>')
        out.append(f'<text class="xtick" x="{x:.1f}" y="{top + height + 17}" text-anchor="middle">'
                   f"{xs[i]:.2f}</text>")
    out.append(f'<text x="{left + width / 2:.1f}" y="{top + height + 38}" text-anchor="middle">'
               f"{escape(x_title)}</text>")
    if ys is not None:
        y_desc = np.sort(np.asarray(ys, np.float64))[::-1]
        for r in range(0, rows, int(np.ceil(20 / cell))):
            y = top + (r + 0.5) * cell
            out.append(f'<line x1="{left - 4}" x2="{left}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888"/>')
            out.append(f'<text class="ytick" x="{left - 7}" y="{y + 4:.1f}" text-anchor="end">'
                       f"{y_desc[r]:.2f}</text>")
        cy = top + height / 2
        out.append(f'<text x="14" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 14 {cy:.1f})">'
                   f"{escape(y_title or '')}</text>")
    out.append("</svg>")
    return "\n".join(out)
