"""Computations cached per model: ranges, decodes, grids, projections, pictures of the test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import cloud_svg, explain
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.cloud_map import backdrop_box, cloud_figure, view_ranges
from explorer.models import ModelHandle, class_names
from explorer.replay_figure import replay_figure as build_replay_figure
from explorer.replay_story import decoder_stage
from vae.bundles.bundle import DECODER_ONNX, load_gallery, load_replay
from vae.bundles.serving import to_png
from vae.inputs.data import DataUnavailable, load_dataset

# scikit-learn's PCA and t-SNE are imported where they run: scikit-learn takes about a second to import,
# and a page that draws no projection never needs it.


@st.cache_data(show_spinner=False, max_entries=16)
def latent_ranges(model: ModelHandle) -> dict:
    """Ranges per latent dim, from the data, and the data mean.

    `ranges`: 0.5-99.5 % quantiles of the reference z_mean widened by 10 % (grids, maps).
    `sliders`: those joined with [-3, 3], so a draw from the prior N(0, I) almost always fits.
    A model without reference encodings gets [-3, 3] for both and a zero mean.
    """
    served = model.served
    d = served.latent_dim
    prior = np.tile([-3.0, 3.0], (d, 1))
    if served.reference is None:
        return {"ranges": prior, "sliders": prior, "mean": np.zeros(d), "from_data": False}
    z_mean = served.reference["z_mean"]
    ranges = geo.data_ranges(z_mean)
    sliders = np.stack([np.minimum(ranges[:, 0], -3.0), np.maximum(ranges[:, 1], 3.0)], axis=1)
    return {"ranges": ranges, "sliders": sliders, "mean": z_mean.mean(0).astype(np.float64),
            "from_data": True}


@st.cache_data(show_spinner=False, max_entries=64, max_size="16MiB")  # keyed by z: bytes bounded too
def decode(model: ModelHandle, z: np.ndarray) -> np.ndarray:
    """Decoded images for a batch of z (cached: grids and strips are asked for again on reruns)."""
    return model.served.decode(z)


@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB")  # keyed by z: bytes bounded too
def decoded_grid_png(model: ModelHandle, z: np.ndarray, rows: int, cols: int, scale: int = 2) -> bytes:
    """z (rows * cols, d) decoded and laid out row by row as one PNG (cached: the Latent map shows and
    offers for download the same grid on every rerun, and PNG encoding takes ~15 ms). It decodes
    directly: only the PNG is worth keeping, not also the images in `decode`'s cache."""
    return to_png(pics.compose_grid(model.served.decode(z), rows, cols), scale)


@st.cache_data(show_spinner=False, max_entries=8)
def latent_csv(model: ModelHandle) -> bytes:
    """The reference latent codes as CSV: index, label, z_mean_*, z_std_*."""
    served = model.served
    ref = served.reference
    return geo.latent_csv(ref["z_mean"], ref["z_log_var"], ref.get("labels"), class_names(served))


# A resource, not data: st.cache_data hands every caller its own 30 MB copy (a Latent map click, an Encode,
# a How-it-works run), and those big short-lived blocks left the heap fragmented (RSS +300 MiB in
# scripts/soak.py). One shared read-only array per dataset instead: a caller that writes to it fails loudly.
@st.cache_resource(show_spinner=False, max_entries=3)
def test_images(dataset: str) -> np.ndarray | None:
    """The dataset's test images if a local copy exists (never downloads in the web process); read-only."""
    try:
        images = load_dataset(dataset, allow_download=False).x_test[..., 0]
    except (DataUnavailable, ValueError, OSError):
        return None
    images.setflags(write=False)
    return images


@st.cache_data(show_spinner=False, max_entries=8)
def pca_2d(model: ModelHandle) -> dict:
    """PCA of the reference z_means: 2-D coordinates plus what is needed to map a point back to z."""
    from sklearn.decomposition import PCA  # (scikit-learn: see the top)

    z_mean = model.served.reference["z_mean"]
    pca = PCA(n_components=2, random_state=0).fit(z_mean)
    return {"xy": pca.transform(z_mean), "components": pca.components_, "mean": pca.mean_,
            "explained": pca.explained_variance_ratio_}


@st.cache_data(show_spinner=False, max_entries=8)
def map_thumbnail(model: ModelHandle, n: int = 2000) -> dict | None:
    """A picture of a sample of the test set's z_means (PCA plane for > 2-D), drawn once per model."""
    plane = map_plane(model)
    if plane is None:
        return None
    xy, pca = plane
    x_range, y_range = plane_ranges(model)
    rows = geo.sample_indices(len(xy), n)
    labels = model.served.reference.get("labels")
    thumb = pics.map_thumbnail(xy[rows], None if labels is None else labels[rows], x_range, y_range)
    # Only what marking z needs: cache_data hands out a copy of this on every slider change.
    plane = None if pca is None else {"components": pca["components"], "mean": pca["mean"]}
    return {"thumb": thumb, "x_range": x_range, "y_range": y_range, "pca": plane, "n": len(rows)}


@st.cache_data(show_spinner=False, max_entries=8)
def strip_2d(model: ModelHandle) -> dict:
    """A 1-D model's test set on a strip (x = z0, y a jitter), in the form pca_2d gives a plane."""
    return geo.strip_plane(model.served.reference["z_mean"][:, 0])


def map_plane(model: ModelHandle) -> tuple[np.ndarray, dict | None] | None:
    """The test set's points on the map and the plane they lie on, or None without reference encodings:
    z_mean itself for 2-D (no plane), its PCA plane above 2-D, a strip for 1-D (geo.strip_plane)."""
    ref = model.served.reference
    if ref is None:
        return None
    d = ref["z_mean"].shape[1]
    if d == 2:
        return ref["z_mean"], None
    plane = strip_2d(model) if d == 1 else pca_2d(model)
    return plane["xy"], plane


@st.cache_data(show_spinner=False, max_entries=8)
def plane_ranges(model: ModelHandle) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(x_range, y_range) of the test set on the map plane: 0.5–99.5 % of the data, widened by 10 %."""
    plane = map_plane(model)
    if plane is None:
        return None
    x_range, y_range = geo.data_ranges(plane[0])
    return (float(x_range[0]), float(x_range[1])), (float(y_range[0]), float(y_range[1]))


@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB")  # keyed by a box: bytes bounded too
def reference_backdrop(model: ModelHandle, box: tuple) -> dict:
    """Every test image's point as one transparent picture over `box`, with that box and the labels shown
    (call only for a bundle with reference encodings)."""
    labels = model.served.reference.get("labels")
    return {"png": pics.points_png(map_plane(model)[0], labels, *box), "box": box,
            "labels": None if labels is None else np.unique(labels)}


def _cloud_layout(model: ModelHandle, clouds: list[dict], zoom: bool):
    """(pca, view, backdrop) for drawing clouds on the latent map, or None for a model other than 2-D
    without reference encodings (no plane or strip to draw in)."""
    plane = map_plane(model)
    if plane is None and model.served.latent_dim != 2:
        return None
    pca = None if plane is None else plane[1]
    ranges = plane_ranges(model)
    view = view_ranges(clouds, pca, ranges, zoom)
    backdrop = None if plane is None else reference_backdrop(
        model, backdrop_box(view, geo.cover_box(*ranges)))
    return pca, view, backdrop


def cloud_map(model: ModelHandle, clouds: list[dict], zoom: bool = False, height: int = 520):
    """Clouds on the latent map (explorer.cloud_map) over the test set's cached picture, as a Plotly figure;
    None for a > 2-D model without reference encodings."""
    layout = _cloud_layout(model, clouds, zoom)
    return None if layout is None else cloud_figure(clouds, *layout, class_names(model.served), height)


def cloud_picture(model: ModelHandle, clouds: list[dict], zoom: bool = False, width: int = 760,
                  height: int = 520, legend_below: bool = False) -> str | None:
    """The same map as an SVG picture (explorer.cloud_svg): no chart for the browser to build; None as
    above."""
    layout = _cloud_layout(model, clouds, zoom)
    if layout is None:
        return None
    return cloud_svg.cloud_svg(clouds, *layout, class_names(model.served), width, height, legend_below)


@st.cache_data(show_spinner="Running t-SNE once for this model (about a minute)…", max_entries=8)
def tsne_2d(model: ModelHandle, n: int = 3000) -> dict:
    """t-SNE of a fixed sample of reference z_means (t-SNE has no inverse; computed once, cached)."""
    from sklearn.manifold import TSNE  # (scikit-learn: see the top)

    z_mean = model.served.reference["z_mean"]
    idx = np.random.default_rng(0).permutation(len(z_mean))[:n]
    xy = TSNE(n_components=2, init="pca", random_state=0, perplexity=30).fit_transform(z_mean[idx])
    return {"xy": xy, "index": idx}


@st.cache_resource(show_spinner=False, max_entries=6)  # as many as _served keeps models
def decoder_bytes(model: ModelHandle) -> bytes:
    """The bundle's decoder.onnx, read once: the browser runs this same file (live decoding)."""
    return (Path(model.path) / DECODER_ONNX).read_bytes()


def reference_images(model: ModelHandle) -> np.ndarray | None:
    """The test images behind a model's reference encodings, if on this machine and aligned with them."""
    served = model.served
    dataset = served.card.get("dataset") or served.config.get("dataset")
    if not dataset or served.reference is None:
        return None
    images = test_images(dataset)
    if images is None or len(images) != len(served.reference["labels"]):
        return None
    return images


def live_decoder_inputs(model: ModelHandle) -> tuple:
    """(points, labels, plane) for the in-browser decoder's pad: z_mean for 2-D, else the PCA plane;
    none of them for 1-D, whose one slider is the whole latent space (no pad)."""
    ref, d = model.served.reference, model.served.latent_dim
    if ref is None or d == 1:
        return None, None, None
    if d == 2:
        return ref["z_mean"], ref.get("labels"), None
    p = pca_2d(model)
    return p["xy"], ref.get("labels"), (p["mean"], p["components"])


@st.cache_resource(show_spinner=False, max_entries=6)
def replay(model: ModelHandle) -> dict | None:
    """The bundle's replay of training (replay.npz), shared read-only, or None if it has none."""
    return _read_only(load_replay(model.path))


@st.cache_data(show_spinner=False, max_entries=8)
def replay_figure(model: ModelHandle, follow: int | None):
    """The replay player's figure for one followed digit (about 1.5 MB: every frame travels at once)."""
    return build_replay_figure(replay(model), class_names(model.served), follow,
                               frozen_decoder=decoder_stage(model.served.card) is not None)


@st.cache_resource(show_spinner=False, max_entries=8)
def gallery(model: ModelHandle) -> dict | None:
    """The bundle's few real test images (gallery.npz: images uint8, labels, indices), shared read-only."""
    return _read_only(load_gallery(model.path))


def _read_only(arrays: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """Arrays a cache_resource shares between sessions: a caller that writes to one fails loudly."""
    for a in (arrays or {}).values():
        a.setflags(write=False)
    return arrays


@st.cache_data(show_spinner=False, max_entries=32)
def spread_curve(model: ModelHandle, image: np.ndarray) -> dict:
    """One input's reconstruction and KL as its z_std is scaled (explain.spread_curve): ~500 decodes, once."""
    enc = explain.encode(model.served, image)
    return explain.spread_curve(model.served.decode, enc.image, enc.z_mean, enc.z_log_var)
