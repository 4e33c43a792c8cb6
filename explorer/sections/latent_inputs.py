"""One input made a code z, as the Directions and Interpolate pages pick it: a test image (by number or a
click on the map), an upload, a drawing, or a point of the map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from explorer import cache, explain, inputs, models
from explorer.models import Handle
from explorer.sections.encode import IMAGE_TYPES, is_digits

SOURCES = {"test": "Test image", "upload": "Upload", "draw": "Drawing", "point": "Map point"}


@dataclass(frozen=True)
class Picked:
    """An input as a code: z (d,), what it is in words, and its 28×28 image if it has one."""

    z: np.ndarray
    what: str
    image: np.ndarray | None = None
    index: int | None = None  # a test image's index: another model has its own z_mean for it


def for_model(handle: Handle, picked: Picked) -> np.ndarray | None:
    """The same input as another model codes it: its z_mean of the same test image, or its encoding of the
    same picture; None for a map point (a place in one model's space only) or a test image it lacks."""
    ref = handle.served.reference
    if picked.index is not None and ref is not None and picked.index < len(ref["z_mean"]):
        return np.asarray(ref["z_mean"][picked.index], np.float64)
    if picked.image is not None:
        return np.asarray(explain.encode(handle.served, picked.image).z_mean, np.float64)
    return None


def encode_image(handle: Handle, image: np.ndarray, what: str) -> Picked:
    """A 28×28 input in [0, 1] encoded: its z is the encoder's z_mean."""
    enc = explain.encode(handle.served, image)
    return Picked(np.asarray(enc.z_mean, np.float64), what, np.asarray(image, np.float32))


def test_image(handle: Handle, index: int) -> Picked:
    """Test image `index`: its reference z_mean, its label, and its picture if the test set is here."""
    model = handle.served
    labels = model.reference.get("labels")
    label = "" if labels is None else f" ({models.label_name(model, labels[index])})"
    images = cache.reference_images(handle)
    return Picked(np.asarray(model.reference["z_mean"][index], np.float64), f"test image #{index}{label}",
                  None if images is None else images[index], int(index))


def drawing_to_image(image_data, digits: bool) -> np.ndarray:
    """st_canvas's RGBA picture made the 28×28 input (a digit's strokes set to MNIST's width)."""
    pre = inputs.to_mnist(Image.fromarray(np.asarray(image_data, np.uint8)),
                          stroke=inputs.MNIST_STROKE if digits else None)
    return pre.image


def canvas(key: str, height: int | None = None):
    """A drawing canvas (streamlit-drawable-canvas) with the Encode page's pen, or None without the package;
    returns the RGBA picture once something is drawn, else None."""
    try:  # imported here: the page still works (upload only) where the package is missing
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.warning("Drawing needs the package `streamlit-drawable-canvas`; upload an image instead.")
        return None
    side = height or inputs.CANVAS_SIDE
    result = st_canvas(stroke_width=inputs.CANVAS_STROKE * side / inputs.CANVAS_SIDE, stroke_color="#FFFFFF",
                       background_color="#000000", height=side, width=side, drawing_mode="freedraw",
                       return_image_data=True, key=key)
    objects = (result.json_data or {}).get("objects") or []
    return result.image_data if objects else None


def pick(handle: Handle, key: str, title: str, sources: tuple[str, ...] = tuple(SOURCES),
         default_index: int = 0) -> Picked | None:
    """One input, chosen by the visitor among `sources`, made a code; None until there is one."""
    model = handle.served
    has_ref = model.reference is not None
    offered = [s for s in sources if has_ref or s not in ("test", "point")]
    source = st.radio(title, offered, format_func=SOURCES.get, horizontal=True, key=f"{key}_source")
    if source == "test":
        n = len(model.reference["z_mean"])
        st.session_state.setdefault(f"{key}_index", min(default_index, n - 1))
        index = st.number_input(f"Test image (0–{n - 1}), or click a dot on the map", 0, n - 1, step=1,
                                key=f"{key}_index")
        return test_image(handle, int(index))
    if source == "upload":
        up = st.file_uploader("An image (PNG, JPEG, WebP, BMP or GIF)", type=IMAGE_TYPES, key=f"{key}_upload")
        if up is None:
            return None
        try:
            return encode_image(handle, inputs.preprocess_bytes(up.getvalue()).image,
                                f"your upload {models.plain_text(up.name)}")
        except Exception:  # an unreadable file must not crash the page (ImageError says why, others not)
            st.error("This file could not be read as an image; try a PNG or JPEG.")
            return None
    if source == "draw":
        data = canvas(f"{key}_canvas")
        if data is None:
            st.caption("Draw on the square (large, in the middle).")
            return None
        try:
            return encode_image(handle, drawing_to_image(data, is_digits(model)), "your drawing")
        except inputs.ImageError as exc:
            st.error(str(exc))
            return None
    return map_point(handle, key)


def map_point(handle: Handle, key: str) -> Picked:
    """A point of the map's plane (z itself for 2-D, the PCA plane above, z0 for 1-D) taken back to z."""
    d = handle.served.latent_dim
    xy, plane = cache.map_plane(handle)
    centre = np.median(xy, axis=0)
    c1, c2 = st.columns(2)
    x_name = "z0" if d <= 2 else "PC1"
    x = c1.number_input(x_name, value=round(float(centre[0]), 2), step=0.1, key=f"{key}_x", format="%.2f")
    y = 0.0
    if d >= 2:
        y = c2.number_input("z1" if d == 2 else "PC2", value=round(float(centre[1]), 2), step=0.1,
                            key=f"{key}_y", format="%.2f")
    if plane is None:
        z = np.array([x, y], np.float64)
    else:
        z = (plane["mean"] + np.array([x, y]) @ plane["components"]).astype(np.float64)
    where = f"({x:.2f}, {y:.2f}) on the map" if d >= 2 else f"z0 = {x:.2f}"
    return Picked(z.reshape(-1), f"the map point {where}")
