"""Named latent directions of one session: made from groups or test-image attributes, kept per model in
session state, shared in the link (?dirs=), projected onto the map; GIFs of decoded paths."""

from __future__ import annotations

import io
import re

import numpy as np
import streamlit as st
from PIL import Image

from explorer import cache
from explorer import geometry as geo
from explorer.models import Handle
from vae.model import directions as maths

STORE_KEY = "latent_directions"  # {model path: {name: entry}}
LINK_KEY = "dirs"  # the link's ?dirs=name~v0,v1,…;name~…
MAX_SAVED = 12  # per model and session: a link holds them all
NAME_RE = re.compile(r"[^A-Za-z0-9 _\-]")
MAX_NAME = 30


def clean_name(name: str) -> str:
    """A direction's name as kept and put in a link: letters, digits, space, _ and -, at most 30."""
    return NAME_RE.sub("", str(name)).strip()[:MAX_NAME]


def entry(vector: np.ndarray, how: str, unit: str, r2: float | None = None) -> dict:
    """One saved direction as session state keeps it (plain lists and numbers)."""
    return {"vector": [float(v) for v in np.ravel(vector)], "how": how, "unit": unit,
            "r2": None if r2 is None else float(r2)}


def format_link(saved: dict[str, dict]) -> str:
    """?dirs= text: name~v0,v1,… joined by ';' (the vectors to 4 decimals)."""
    return ";".join(f"{name}~{geo.format_z(e['vector'], 4)}" for name, e in saved.items())


def parse_link(text: str | None, latent_dim: int) -> dict[str, dict]:
    """The directions a link names, each checked: a part that is not name~d finite numbers is skipped."""
    found: dict[str, dict] = {}
    for part in (text or "").split(";")[:MAX_SAVED]:
        name, _, numbers = part.partition("~")
        name, vector = clean_name(name), geo.parse_z(numbers, latent_dim)
        if name and vector is not None:
            found[name] = entry(vector, "from the link", "as the link's author made it")
    return found


def saved(handle: Handle) -> dict[str, dict]:
    """This session's directions on this model (a live dict: writes to it are kept)."""
    store = st.session_state.setdefault(STORE_KEY, {})
    return store.setdefault(handle.path, {})


def from_link(handle: Handle) -> dict[str, dict]:
    """Take the link's directions into this session (once per different link text) and return them all."""
    mine = saved(handle)
    text = st.query_params.get(LINK_KEY)
    seen_key = f"{STORE_KEY}_seen"
    if text and st.session_state.get(seen_key) != (handle.path, text):
        st.session_state[seen_key] = (handle.path, text)
        for name, e in parse_link(text, handle.served.latent_dim).items():
            mine.setdefault(name, e)
    return mine


def save(handle: Handle, name: str, e: dict) -> str | None:
    """Keep a direction under `name` and put every saved one in the link; why not (None if kept)."""
    name = clean_name(name)
    mine = saved(handle)
    if not name:
        return "Give the direction a name (letters, digits, spaces, _ or -)."
    if name not in mine and len(mine) >= MAX_SAVED:
        return f"At most {MAX_SAVED} directions a model: delete one first."
    if not np.any(e["vector"]):
        return "This direction is zero (the two groups have the same mean): nothing to save."
    mine[name] = e
    publish(handle)
    return None


def delete(handle: Handle, name: str) -> None:
    saved(handle).pop(name, None)
    publish(handle)


def publish(handle: Handle) -> None:
    """Every saved direction of this model in the link (none: no ?dirs=)."""
    mine = saved(handle)
    if mine:
        text = format_link(mine)
        if st.query_params.get(LINK_KEY) != text:  # each write is a browser history entry
            st.query_params[LINK_KEY] = text
        st.session_state[f"{STORE_KEY}_seen"] = (handle.path, st.query_params[LINK_KEY])
    elif LINK_KEY in st.query_params:
        del st.query_params[LINK_KEY]


# --- directions from the model's test set ---

@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=cache.BY_CACHE_KEY)
def test_attributes(handle: Handle) -> dict[str, np.ndarray] | None:
    """Every attribute of every test image (vae.model.directions.ATTRIBUTES), or None without the images."""
    images = cache.reference_images(handle)
    return None if images is None else maths.image_attributes(images)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=cache.BY_CACHE_KEY)
def attribute_direction(handle: Handle, name: str) -> maths.Direction | None:
    """The attribute `name` regressed on the test set's z_mean (None without the test images)."""
    values = test_attributes(handle)
    if values is None:
        return None
    return maths.attribute_direction(handle.served.reference["z_mean"], values[name], name)


def label_direction(handle: Handle, label_from: int, label_to: int) -> np.ndarray:
    """mean z_mean of the test images labelled `label_to` minus that of those labelled `label_from`."""
    ref = handle.served.reference
    z_mean, labels = ref["z_mean"], ref["labels"]
    return maths.group_direction(z_mean[labels == label_from], z_mean[labels == label_to])


def data_mean(handle: Handle) -> np.ndarray:
    """Where arrows start: the test set's mean z_mean (z = 0 without reference encodings)."""
    return np.asarray(cache.latent_ranges(handle)["mean"], np.float64)


def to_plane(handle: Handle, z: np.ndarray) -> np.ndarray:
    """Codes (n, d) on the map's plane (n, 2): z itself for 2-D, the PCA plane above, x = z0 for 1-D."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    plane = cache.map_plane(handle)
    if plane is None or plane[1] is None:
        return z[:, :2] if z.shape[1] >= 2 else np.column_stack([z[:, 0], np.zeros(len(z))])
    p = plane[1]
    xy = geo.pca_project(z, p["components"], p["mean"])
    if handle.served.latent_dim == 1:
        xy[:, 1] = 0.0  # the strip's centre line (its y is a jitter that means nothing)
    return xy


def gif_bytes(frames: np.ndarray, scale: int = 4, ms: int = 120, bounce: bool = False) -> bytes:
    """Decoded images (n, h, w) in [0, 1] as an animated GIF that loops, each frame `ms` long, enlarged
    `scale` times; `bounce` plays it forward then back (the last and first frames once each)."""
    arr = (np.clip(np.asarray(frames, np.float32), 0, 1) * 255).round().astype(np.uint8)
    if bounce and len(arr) > 2:
        arr = np.concatenate([arr, arr[-2:0:-1]])
    h, w = arr.shape[1:3]
    pictures = [Image.fromarray(a).resize((w * scale, h * scale), Image.Resampling.NEAREST) for a in arr]
    buf = io.BytesIO()
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:], duration=ms, loop=0,
                     optimize=False, disposal=1)
    return buf.getvalue()


def gif_frames(data: bytes) -> list[np.ndarray]:
    """The frames of a GIF as grey arrays (what a test or a visitor's viewer sees)."""
    out = []
    with Image.open(io.BytesIO(data)) as gif:
        for k in range(gif.n_frames):
            gif.seek(k)
            out.append(np.asarray(gif.convert("L")))
    return out
