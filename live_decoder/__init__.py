"""Live decoding while dragging: a Streamlit component that runs the decoder in the browser."""

# `st.slider` reports its value only on release, and a server round trip per frame cannot feel
# live. This component loads the bundle's ``decoder.onnx`` into ONNX Runtime Web (WebAssembly,
# one thread) inside its iframe and redraws the decoded image on every slider ``input`` event and
# every pointer move on a 2-D latent pad, at most once per animation frame (the latest value wins).
# Python hears only the final z, on release.
#
# It is a components-v1 component (``declare_component(path=...)``): v1 serves a plain folder of
# files with no build step and no package install, which is how the 3.7 MB ONNX Runtime
# WebAssembly binary reaches the browser offline. (Components v2 serves asset files only for
# installed packages that declare an ``asset_dir`` in ``pyproject.toml``.) The folder it serves is
# $VAE_HOME/decoders, the committed frontend copied in beside the published decoders (``published``).
#
# Usage::
#
#     z = live_decoder(decoder_bytes, model.latent_dim, z0, ranges,
#                      points=ref["z_mean"], labels=ref["labels"], key="live")
#     if live_decoder_error("live"):
#         ...  # the browser could not run the model: decode on the server instead

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from streamlit.components.v1 import declare_component

from live_decoder.published import FRONTEND_DIR, publish, served_folder

__all__ = ["live_decoder", "live_decoder_error", "model_id_of", "model_id_of_file", "read_value",
           "build_args", "strip_args", "publish_decoder", "publish_points", "FRONTEND_DIR", "ORT_BUNDLE",
           "ORT_WASM"]

ORT_DIR = FRONTEND_DIR / "ort"
#: onnxruntime-web's single-file ESM bundle (the WebAssembly backend with its loader inlined).
ORT_BUNDLE = ORT_DIR / "ort.wasm.bundle.min.mjs"
#: onnxruntime-web's ``ort-wasm-simd-threaded.wasm``, gzipped (the browser inflates it).
ORT_WASM = ORT_DIR / "ort-wasm-simd-threaded.wasm.gz"
ORT_WEB_VERSION = "1.30.0"
COMPONENT_NAME = "live_decoder"
ID_LENGTH = 16  # hex digits of a decoder's id (live_decoder.published names files by it)
MAX_POINTS = 3000
_ERROR_KEY = "_live_decoder_error:"


@lru_cache(maxsize=4)
def model_id_of(decoder_onnx: bytes) -> str:
    """The id the browser knows a decoder by: a hash of its ONNX bytes."""
    # bytes cache their hash, so a page that keeps passing the same object pays for this once.
    return hashlib.sha256(decoder_onnx).hexdigest()[:ID_LENGTH]


def model_id_of_file(path: str | Path) -> str:
    """model_id_of a decoder's ONNX file, read in pieces and kept nowhere (the keeper hashes each model's)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()[:ID_LENGTH]


def _floats(values, n: int, what: str) -> list[float]:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"{what} must have {n} values, got {arr.size}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} must be finite.")
    return arr.tolist()


def _range_pair(r, what: str) -> list[float]:
    lo, hi = _floats(r, 2, what)
    if not lo < hi:
        raise ValueError(f"{what} must be (low, high) with low < high, got {r}.")
    return [lo, hi]


def _plane(plane, latent_dim: int) -> dict | None:
    if plane is None:
        return None
    if isinstance(plane, dict):
        mean, comps = plane["mean"], plane["components"]
    else:
        mean, comps = plane
    comps = np.asarray(comps, dtype=np.float64)
    if comps.shape != (2, latent_dim):
        raise ValueError(f"plane components must have shape (2, {latent_dim}), got {comps.shape}.")
    if not np.isfinite(comps).all():
        raise ValueError("plane components must be finite.")
    return {"mean": _floats(mean, latent_dim, "plane mean"), "components": comps.tolist()}


def build_args(
    decoder_onnx: bytes,
    latent_dim: int,
    z: Sequence[float],
    ranges: Sequence[tuple[float, float]],
    points: np.ndarray | None = None,
    labels: Sequence[int] | None = None,
    *,
    pad: bool = True,
    plane=None,
    pad_range: Sequence[tuple[float, float]] | None = None,
    image_shape: tuple[int, ...] = (28, 28),
    max_points: int = MAX_POINTS,
    classifier: bytes | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate the inputs and build the component's arguments (no Streamlit needed).

    ``points`` are in pad coordinates: z itself for a 2-D latent, the PCA coordinates when a
    ``plane`` = (mean (D,), components (2, D)) maps the pad to z = mean + xy @ components.
    More than ``max_points`` points are subsampled (the same subsample on every rerun).
    ``classifier`` (ONNX bytes: input ``x`` (n, pixels), output ``probabilities``) is run on every
    decode, its probabilities shown beside the image under ``class_names``.
    """
    if not isinstance(decoder_onnx, (bytes, bytearray, memoryview)) or len(decoder_onnx) == 0:
        raise ValueError("decoder_onnx must be the non-empty bytes of the decoder's ONNX file.")
    decoder_onnx = bytes(decoder_onnx)
    latent_dim = int(latent_dim)
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, got {latent_dim}.")
    z_list = _floats(z, latent_dim, "z")
    if len(ranges) != latent_dim:
        raise ValueError(f"ranges must hold one (low, high) pair per latent dimension ({latent_dim}).")
    range_list = [_range_pair(r, f"ranges[{i}]") for i, r in enumerate(ranges)]
    plane_dict = _plane(plane, latent_dim)

    pts = lab = None
    if points is not None:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must have shape (n, 2), got {pts.shape}.")
        if labels is not None:
            lab = np.asarray(labels).reshape(-1).astype(np.int64)
            if len(lab) != len(pts):
                raise ValueError(f"labels ({len(lab)}) and points ({len(pts)}) differ in length.")
        keep = np.isfinite(pts).all(axis=1)
        if len(pts) - (~keep).sum() > max_points:
            idx = np.flatnonzero(keep)
            keep = np.sort(np.random.default_rng(0).choice(idx, max_points, replace=False))
        pts = np.round(pts[keep], 4)
        lab = None if lab is None else lab[keep]

    if pad_range is not None:
        pad_list = [_range_pair(r, f"pad_range[{i}]") for i, r in enumerate(pad_range)]
        if len(pad_list) != 2:
            raise ValueError("pad_range must be two (low, high) pairs: x then y.")
    elif plane_dict is None and latent_dim == 2:
        pad_list = range_list
    elif plane_dict is not None and pts is not None and len(pts):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        margin = 0.05 * np.maximum(hi - lo, 1e-6)
        pad_list = [[float(lo[i] - margin[i]), float(hi[i] + margin[i])] for i in range(2)]
    elif plane_dict is not None:
        pad_list = [[-3.0, 3.0], [-3.0, 3.0]]
    else:
        pad_list = None   # no pad for a latent that is not 2-D without a plane

    if pts is not None:
        digest = hashlib.sha1(pts.tobytes())
        if lab is not None:
            digest.update(lab.tobytes())
        points_id = digest.hexdigest()[:12]
    else:
        points_id = None
    return {
        "decoder": decoder_onnx,             # sent as binary (no base64), arrives as a Uint8Array
        "model_id": model_id_of(decoder_onnx),  # the browser builds its session once per model_id
        "latent_dim": latent_dim,
        "z": z_list,
        "ranges": range_list,
        "plane": plane_dict,
        "pad": bool(pad) and pad_list is not None,
        "pad_range": pad_list,
        "points": None if pts is None else pts.tolist(),
        "labels": None if lab is None else lab.tolist(),
        "points_id": points_id,
        # (height, width, channels): the decoder's output per image, channels last; 1 = grey, 3 = RGB.
        "image_shape": [int(image_shape[0]), int(image_shape[1]),
                        int(image_shape[2]) if len(image_shape) > 2 else 1],
        **_classifier_args(classifier, class_names),
    }


def _classifier_args(classifier: bytes | None, class_names: Sequence[str] | None) -> dict[str, Any]:
    if classifier is None:
        return {"classifier": None, "classifier_id": None, "class_names": None}
    if not isinstance(classifier, (bytes, bytearray)) or not classifier:
        raise ValueError("classifier must be the non-empty bytes of an ONNX file.")
    names = [str(name) for name in class_names] if class_names is not None else None
    digest = hashlib.sha256(classifier).hexdigest()[:ID_LENGTH]
    return {"classifier": bytes(classifier), "classifier_id": digest, "class_names": names}


def publish_decoder(decoder_onnx: bytes, model_id: str) -> str | None:
    """Write the decoder where the component's iframe can fetch it; returns its URL relative to the iframe.

    A decoder passed as an argument (6.7 MB for the default model) travels through the websocket on
    every full rerun of the page; a file is fetched once per page load. It is gzipped once here, and
    served as application/gzip so that Streamlit's gzip middleware does not recompress it on every
    request (the browser inflates it). Returns None where the folder is not writable: the bytes then
    travel as an argument, as before. Its name starts with the decoder's id, as every file published for it.
    """
    return publish(f"{model_id}.onnx.gz", lambda: decoder_onnx)


def publish_points(args: dict[str, Any]) -> str | None:
    """Write the pad's points and labels (``build_args``'s) where the iframe can fetch them, gzipped JSON.

    As arguments, 3,000 points are ~65 KB in every message that renders the component, and a page
    that follows each slider change re-renders it each time (the Decoder); as a file, named by
    ``points_id``, the browser fetches them once per iframe. Returns None when there are no points,
    or where the folder is not writable (they then travel as arguments).
    """
    if args.get("points") is None or not args.get("points_id"):
        return None
    return publish(f"{args['model_id']}.points-{args['points_id']}.json.gz",
                   lambda: json.dumps({"points": args["points"], "labels": args["labels"]}).encode())


def _component():
    # Declared on each call so the component is registered with whichever runtime runs the
    # script (also when this module was first imported outside of one, e.g. by tests).
    return declare_component(COMPONENT_NAME, path=str(served_folder()))


def live_decoder(
    decoder_onnx: bytes,
    latent_dim: int,
    z: Sequence[float],
    ranges: Sequence[tuple[float, float]],
    points: np.ndarray | None = None,
    labels: Sequence[int] | None = None,
    *,
    key: str,
    pad: bool = True,
    plane=None,
    pad_range: Sequence[tuple[float, float]] | None = None,
    image_shape: tuple[int, ...] = (28, 28),
    max_points: int = MAX_POINTS,
    classifier: bytes | None = None,
    class_names: Sequence[str] | None = None,
    on_change: Callable[[], None] | None = None,
    on_release: Callable[[list[float]], None] | None = None,
    strip: dict | None = None,
) -> list[float] | None:
    """Show sliders (and for a 2-D latent, or with a ``plane``, a latent pad) decoded live in the browser.

    Returns the z last released by the user (pointer up on the pad, slider change), or None
    before any release, for a different model than the one released on, or when the browser
    could not run the decoder: then ``live_decoder_error(key)`` says why, and the page should
    decode on the server instead. The browser fetches the decoder as a file (see
    ``publish_decoder``) and builds its ONNX Runtime session once per distinct model.

    ``strip`` = {vector, k, steps, name}: the browser also draws the decodes of z + t · vector for `steps`
    t from −k to +k under the image, redrawn with it on every move (``strip_args`` checks it).

    ``z`` is applied in the browser whenever it differs from the ``z`` of the previous call (never in
    the middle of a drag), so a page can move the component by passing a new z. ``on_release(z)`` is
    a callback run once per release, before the rest of the script, with the released z (for this
    model only): the place to move other widgets, whose keys may only be written before they exist.
    """
    args = build_args(decoder_onnx, latent_dim, z, ranges, points, labels, pad=pad, plane=plane,
                      pad_range=pad_range, image_shape=image_shape, max_points=max_points,
                      classifier=classifier, class_names=class_names)
    url = publish_decoder(args["decoder"], args["model_id"])
    if url is not None:
        args["decoder"], args["decoder_url"] = None, url
    if args["classifier"] is not None:  # a file beside the decoder's, named by it (removed with it)
        clf = args["classifier"]
        clf_url = publish(f"{args['model_id']}.classifier-{args['classifier_id']}.onnx.gz", lambda: clf)
        if clf_url is not None:
            args["classifier"], args["classifier_url"] = None, clf_url
    points_url = publish_points(args)
    if points_url is not None:
        args["points"], args["labels"], args["points_url"] = None, None, points_url
    args["strip"] = strip_args(strip, args["latent_dim"])
    model_id, dim = args["model_id"], args["latent_dim"]

    def released() -> None:
        z_released, _ = read_value(st.session_state.get(key), model_id, dim)
        if z_released is not None:
            on_release(z_released)
        if on_change is not None:
            on_change()

    callback = on_change if on_release is None else released
    value = _component()(key=key, default=None, on_change=callback, **args)
    result, error = read_value(value, args["model_id"], args["latent_dim"])
    st.session_state[_ERROR_KEY + key] = error
    return result


def strip_args(strip: dict | None, latent_dim: int) -> dict | None:
    """The strip along a direction as the browser takes it (None: no strip), each part checked."""
    if strip is None:
        return None
    k, steps = float(strip["k"]), int(strip["steps"])
    if not (np.isfinite(k) and k > 0 and 2 <= steps <= 32):
        raise ValueError(f"a strip needs k > 0 and 2 to 32 steps, got k={k}, steps={steps}.")
    return {"vector": _floats(strip["vector"], latent_dim, "strip vector"), "k": k, "steps": steps,
            "name": str(strip.get("name", "direction"))[:40]}


def read_value(value: Any, model_id: str, latent_dim: int) -> tuple[list[float] | None, str | None]:
    """The component's value -> (released z, error), ignoring what was sent for another model.

    The value also carries ``seq``, a count of releases: two releases at the same z are two changes,
    so ``on_release`` hears both (the page may have moved z elsewhere in between)."""
    if not isinstance(value, dict) or value.get("model_id") not in (None, model_id):
        return None, None
    error = value.get("error") or None
    z = value.get("z")
    if error or not isinstance(z, list) or len(z) != latent_dim:
        return None, error
    return [float(v) for v in z], None


def live_decoder_error(key: str) -> str | None:
    """Why the browser could not decode for the component with this key (None if it can, or has not said)."""
    return st.session_state.get(_ERROR_KEY + key)
