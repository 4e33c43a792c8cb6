"""Computations cached per model: ranges, decodes, grids, projections, pictures of the test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import cloud_svg, explain, notices, nouns
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.cloud_map import backdrop_box, cloud_figure, too_small_to_see, view_ranges
from explorer.figures import history_figure
from explorer.models import Handle, class_names
from explorer.replay_figure import replay_figure as build_replay_figure
from explorer.training_facts import facts_of
from vae.bundles.bundle import DECODER_ONNX, load_gallery, load_replay
from vae.bundles.classifier import CLASSIFIER_ONNX
from vae.bundles.serving import to_png
from vae.inputs.data import DataUnavailable, load_dataset

# Streamlit hashes a handle by its cache key alone: the bundle and its save. Not by its served model (ONNX
# sessions, which it would copy to hash them), nor by its id (what one visitor calls it).
BY_CACHE_KEY = {Handle: lambda handle: handle.cache_key}

# scikit-learn's PCA and t-SNE are imported where they run: scikit-learn takes about a second to import,
# and a page that draws no projection never needs it.


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CACHE_KEY)
def latent_ranges(handle: Handle) -> dict:
    """Ranges per latent dim, from the data, and the data mean.

    `ranges`: 0.5-99.5 % quantiles of the reference z_mean widened by 10 % (grids, maps).
    `sliders`: those joined with [-3, 3], so a draw from the prior N(0, I) almost always fits.
    A model without reference encodings gets [-3, 3] for both and a zero mean.
    """
    served = handle.served
    d = served.latent_dim
    prior = np.tile([-3.0, 3.0], (d, 1))
    if served.reference is None:
        return {"ranges": prior, "sliders": prior, "mean": np.zeros(d), "from_data": False}
    z_mean = served.reference["z_mean"]
    ranges = geo.data_ranges(z_mean)
    sliders = np.stack([np.minimum(ranges[:, 0], -3.0), np.maximum(ranges[:, 1], 3.0)], axis=1)
    return {"ranges": ranges, "sliders": sliders, "mean": z_mean.mean(0).astype(np.float64),
            "from_data": True}


# Keyed by z: bytes bounded too.
@st.cache_data(show_spinner=False, max_entries=64, max_size="16MiB", hash_funcs=BY_CACHE_KEY)
def decode(handle: Handle, z: np.ndarray) -> np.ndarray:
    """Decoded images for a batch of z (cached: grids and strips are asked for again on reruns)."""
    return handle.served.decode(z)


# Keyed by z: bytes bounded too.
@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB", hash_funcs=BY_CACHE_KEY)
def decoded_grid_png(handle: Handle, z: np.ndarray, rows: int, cols: int, scale: int = 2) -> bytes:
    """z (rows * cols, d) decoded and laid out row by row as one PNG (cached: the Latent map shows and
    offers for download the same grid on every rerun, and PNG encoding takes ~15 ms). It decodes
    directly: only the PNG is worth keeping, not also the images in `decode`'s cache."""
    return to_png(pics.compose_grid(handle.served.decode(z), rows, cols), scale)


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def latent_csv(handle: Handle) -> bytes:
    """The reference latent codes as CSV: index, label, z_mean_*, z_std_*."""
    served = handle.served
    ref = served.reference
    return geo.latent_csv(ref["z_mean"], ref["z_log_var"], ref.get("labels"), class_names(served))


# A resource, not data: st.cache_data hands every caller its own 30 MB copy (a Latent map click, an Encode,
# a How-it-works run), and those big short-lived blocks left the heap fragmented (RSS +300 MiB in
# scripts/soak.py). One shared read-only array per dataset instead: a caller that writes to it fails loudly.
@st.cache_resource(show_spinner=False, max_entries=3)
def test_images(dataset: str) -> np.ndarray | None:
    """The dataset's test images if a local copy exists (never downloads in the web process); read-only."""
    try:
        images = load_dataset(dataset, allow_download=False).x_test
        images = images[..., 0] if images.shape[-1] == 1 else images  # grey (n, H, W); colour (n, H, W, 3)
    except (DataUnavailable, ValueError, OSError):
        return None
    images.setflags(write=False)
    return images


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def pca_2d(handle: Handle) -> dict:
    """PCA of the reference z_means: 2-D coordinates plus what is needed to map a point back to z."""
    from sklearn.decomposition import PCA  # (scikit-learn: see the top)

    z_mean = handle.served.reference["z_mean"]
    pca = PCA(n_components=2, random_state=0).fit(z_mean)
    return {"xy": pca.transform(z_mean), "components": pca.components_, "mean": pca.mean_,
            "explained": pca.explained_variance_ratio_}


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def map_thumbnail(handle: Handle, n: int = 2000) -> dict | None:
    """A picture of a sample of the test set's z_means (PCA plane for > 2-D), drawn once per model."""
    plane = map_plane(handle)
    if plane is None:
        return None
    xy, pca = plane
    x_range, y_range = plane_ranges(handle)
    rows = geo.sample_indices(len(xy), n)
    labels = handle.served.reference.get("labels")
    thumb = pics.map_thumbnail(xy[rows], None if labels is None else labels[rows], x_range, y_range)
    # Only what marking z needs: cache_data hands out a copy of this on every slider change.
    plane = None if pca is None else {"components": pca["components"], "mean": pca["mean"]}
    return {"thumb": thumb, "x_range": x_range, "y_range": y_range, "pca": plane, "n": len(rows)}


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def strip_2d(handle: Handle) -> dict:
    """A 1-D model's test set on a strip (x = z0, y a jitter), in the form pca_2d gives a plane."""
    return geo.strip_plane(handle.served.reference["z_mean"][:, 0])


def map_plane(handle: Handle) -> tuple[np.ndarray, dict | None] | None:
    """The test set's points on the map and the plane they lie on, or None without reference encodings:
    z_mean itself for 2-D (no plane), its PCA plane above 2-D, a strip for 1-D (geo.strip_plane)."""
    ref = handle.served.reference
    if ref is None:
        return None
    d = ref["z_mean"].shape[1]
    if d == 2:
        return ref["z_mean"], None
    plane = strip_2d(handle) if d == 1 else pca_2d(handle)
    return plane["xy"], plane


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def plane_ranges(handle: Handle) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(x_range, y_range) of the test set on the map plane: 0.5–99.5 % of the data, widened by 10 %."""
    plane = map_plane(handle)
    if plane is None:
        return None
    x_range, y_range = geo.data_ranges(plane[0])
    return (float(x_range[0]), float(x_range[1])), (float(y_range[0]), float(y_range[1]))


# Keyed by a box: bytes bounded too.
@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB", hash_funcs=BY_CACHE_KEY)
def reference_backdrop(handle: Handle, box: tuple) -> dict:
    """Every test image's point as one transparent picture over `box`, with that box and the labels shown
    (call only for a bundle with reference encodings)."""
    labels = handle.served.reference.get("labels")
    return {"png": pics.points_png(map_plane(handle)[0], labels, *box), "box": box,
            "labels": None if labels is None else np.unique(labels)}


def _cloud_layout(handle: Handle, clouds: list[dict], zoom: bool):
    """(pca, view, backdrop) for drawing clouds on the latent map, or None for a model other than 2-D
    without reference encodings (no plane or strip to draw in)."""
    plane = map_plane(handle)
    if plane is None and handle.served.latent_dim != 2:
        return None
    pca = None if plane is None else plane[1]
    ranges = plane_ranges(handle)
    view = view_ranges(clouds, pca, ranges, zoom)
    backdrop = None if plane is None else reference_backdrop(
        handle, backdrop_box(view, geo.cover_box(*ranges)))
    return pca, view, backdrop


def cloud_too_small(handle: Handle, clouds: list[dict]) -> bool:
    """Whether the clouds are too small to see on the whole map (explorer.cloud_map.too_small_to_see)."""
    plane = map_plane(handle)
    if plane is None and handle.served.latent_dim != 2:
        return False
    return too_small_to_see(clouds, None if plane is None else plane[1], plane_ranges(handle))


def cloud_map(handle: Handle, clouds: list[dict], zoom: bool = False, height: int = 520):
    """Clouds on the latent map (explorer.cloud_map) over the test set's cached picture, as a Plotly figure;
    None for a > 2-D model without reference encodings."""
    layout = _cloud_layout(handle, clouds, zoom)
    return None if layout is None else cloud_figure(clouds, *layout, class_names(handle.served), height)


def cloud_picture(handle: Handle, clouds: list[dict], zoom: bool = False, width: int = 760,
                  height: int = 520, legend_below: bool = False) -> str | None:
    """The same map as an SVG picture (explorer.cloud_svg): no chart for the browser to build; None as
    above."""
    layout = _cloud_layout(handle, clouds, zoom)
    if layout is None:
        return None
    return cloud_svg.cloud_svg(clouds, *layout, class_names(handle.served), width, height, legend_below)


# As many as _served keeps models.
@st.cache_resource(show_spinner=False, max_entries=6, hash_funcs=BY_CACHE_KEY)
def decoder_bytes(handle: Handle) -> bytes:
    """The bundle's decoder.onnx, read once: the browser runs this same file (live decoding)."""
    return (Path(handle.path) / DECODER_ONNX).read_bytes()


@st.cache_resource(show_spinner=False, max_entries=6, hash_funcs=BY_CACHE_KEY)
def classifier_bytes(handle: Handle) -> bytes:
    """The bundle's classifier.onnx, read once: the browser runs it on its decodes (live decoding)."""
    return (Path(handle.path) / CLASSIFIER_ONNX).read_bytes()


def reference_images(handle: Handle) -> np.ndarray | None:
    """The test images behind a model's reference encodings, if on this machine and aligned with them."""
    served = handle.served
    dataset = served.card.get("dataset") or served.config.get("dataset")
    if not dataset or served.reference is None:
        return None
    images = test_images(dataset)
    if images is None or len(images) != len(served.reference["labels"]):
        return None
    return images


def live_decoder_inputs(handle: Handle) -> tuple:
    """(points, labels, plane) for the in-browser decoder's pad: z_mean for 2-D, else the PCA plane;
    none of them for 1-D, whose one slider is the whole latent space (no pad)."""
    ref, d = handle.served.reference, handle.served.latent_dim
    if ref is None or d == 1:
        return None, None, None
    if d == 2:
        return ref["z_mean"], ref.get("labels"), None
    p = pca_2d(handle)
    return p["xy"], ref.get("labels"), (p["mean"], p["components"])


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CACHE_KEY)
def unit_notice(handle: Handle) -> tuple[str, str] | None:
    """The latent map's word on inactive units (notices.unit_activity_notice): over every reference code,
    so once per model."""
    return notices.unit_activity_notice(handle.served)


@st.cache_resource(show_spinner=False, max_entries=6, hash_funcs=BY_CACHE_KEY)
def replay(handle: Handle) -> dict | None:
    """The bundle's replay of training (replay.npz), shared read-only, or None if it has none."""
    return _read_only(load_replay(handle.path))


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def replay_figure(handle: Handle, follow: int | None):
    """The replay player's figure for one followed digit (about 1.5 MB: every frame travels at once)."""
    facts = facts_of(handle.served)
    return build_replay_figure(replay(handle), class_names(handle.served), follow, beta=facts.beta,
                               frozen_decoder=facts.stages == 2, noun=nouns.noun(handle.served))


@st.cache_resource(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def gallery(handle: Handle) -> dict | None:
    """The bundle's few real test images (gallery.npz: images uint8, labels, indices), shared read-only."""
    return _read_only(load_gallery(handle.path))


def _read_only(arrays: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """Arrays a cache_resource shares between sessions: a caller that writes to one fails loudly."""
    for a in (arrays or {}).values():
        a.setflags(write=False)
    return arrays


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CACHE_KEY)
def spread_curve(handle: Handle, image: np.ndarray) -> dict:
    """One input's reconstruction and KL, and the model's loss reconstruction + β·KL, as its z_std is scaled
    (explain.spread_curve): ~500 decodes, once."""
    enc = explain.encode(handle.served, image)
    beta = facts_of(handle.served).beta
    return explain.spread_curve(handle.served.decode, enc.image, enc.z_mean, enc.z_log_var, beta)


# Figures are shared by every session, read-only: st.plotly_chart only reads them, and nothing else may
# change them. Building one goes through Plotly's validators, property by property: most of the server CPU
# of a page that draws charts, for a figure that is the same for every visitor.
@st.cache_resource(show_spinner=False, max_entries=8, hash_funcs=BY_CACHE_KEY)
def history_figures(handle: Handle, curves: tuple[tuple[str, str], ...]) -> list:
    """(metric, figure) of the model's training curves, for each (metric, title) of `curves` it has."""
    history = handle.served.history or {}
    return [(m, f) for m, t in curves if (f := history_figure(history, m, t)) is not None]
