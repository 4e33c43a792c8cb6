"""Alternative text for the pages' pictures: what each one shows, in words and with its numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

MINUS = "\u2212"  # a screen reader says "minus" for U+2212; a hyphen it may skip or call "dash"


def plain(text: str, limit: int = 80) -> str:
    """A name or description for alt text: one line, at most `limit` characters, and without the
    backslashes that escape Markdown on the page (alt text is an attribute: nothing in it is markup)."""
    text = " ".join(re.sub(r"\\(.)", r"\1", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: float, digits: int = 2) -> str:
    """A number as the page shows it, with a true minus sign and no "−0.00"."""
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = f"{0.0:.{digits}f}"
    return text.replace("-", MINUS)


def point(z: Sequence[float] | np.ndarray, digits: int = 2) -> str:
    """A latent point as "(0.41, −1.20)"."""
    return "(" + ", ".join(number(v, digits) for v in np.ravel(z)) + ")"


def decoded(z: Sequence[float] | np.ndarray) -> str:
    """The decoder's image of one z: "decoded image of z = (0.41, −1.20)"."""
    return f"decoded image of z = {point(z)}"


def strip(count: int, what: str) -> str:
    """A row of images: "10 decoded images in a row: …"."""
    return f"{count} {'image' if count == 1 else 'images'} in a row: {what}"


def clouds(items: Sequence[dict], magnify: float = 1.0) -> str:
    """A picture of input clouds on the latent map of the test images (the dicts that explorer.cloud_svg
    draws: name, z_mean, samples, and z_log_var as drawn, i.e. already magnified by `magnify`)."""
    parts = []
    for item in items:
        std = np.exp(0.5 * np.asarray(item["z_log_var"], np.float64))
        parts.append(f"{item['name']}: {len(item['samples'])} samples around z_mean = {point(item['z_mean'])}"
                     f", {'z_std' if magnify == 1 else f'z_std × {magnify:g}'} = {point(std, 3)}")
    return "latent map of the test images' z_mean with the cloud of " + "; ".join(parts)


def grid(shape: tuple[int, int], x_title: str, xs: Sequence[float], y_title: str | None = None,
         ys: Sequence[float] | None = None) -> str:
    """A (rows, cols) grid of decoded images spanning the coordinates xs across (and ys up; None for a
    one-row strip, whose y is no coordinate)."""
    rows, cols = shape
    span = f"{x_title} from {number(min(xs))} to {number(max(xs))}"
    if y_title is None or ys is None:
        return f"row of {cols} decoded images along {span}"
    return (f"{rows}×{cols} grid of decoded images, {span} left to right and {y_title} from "
            f"{number(max(ys))} at the top to {number(min(ys))} at the bottom")


def dataset_grid(title: str, rows: Sequence[str], per_row: int) -> str:
    """A dataset's thumbnail grid: "sample images of My shapes: a row of up to 8 for each label, top to
    bottom: circle, …"."""
    return (f"sample images of {plain(title)}: a row of up to {per_row} for each label, top to bottom: "
            + ", ".join(plain(r, 40) for r in rows))
