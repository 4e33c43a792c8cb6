"""The app's one module of cached services: which model is current, and its cached arrays.

Pages call these instead of touching ONNX Runtime or the dataset themselves. Nothing here
imports TensorFlow: models are served from their ONNX exports.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from vae import bundle as B
from vae.serving import ServedModel

USER_MODELS = Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))
MODEL_KEY = "model_path"


@st.cache_resource(show_spinner=False, max_entries=16)
def _served(path: str, stamp: float) -> ServedModel:
    """One ServedModel per bundle (and per save of it) for the whole process, shared read-only."""
    return ServedModel(path)


def served_model(path: str | Path) -> ServedModel:
    path = Path(path).resolve()
    # The manifest's mtime changes when a bundle is re-saved, so a retrained model reloads.
    return _served(str(path), (path / B.MANIFEST).stat().st_mtime)


def model_choices() -> dict[str, str]:
    """Label -> path for the shipped bundles and those trained or imported in the app."""
    choices = {}
    for p in B.list_bundles(B.SHIPPED_DIR):
        choices[f"{_label(p)}"] = str(p.resolve())
    for p in B.list_bundles(USER_MODELS):
        choices[f"{_label(p)} (yours)"] = str(p.resolve())
    return choices


def _label(path: Path) -> str:
    card = B.read_json(path / B.CARD_JSON, {})
    return card.get("name") or path.name


def current_model_path() -> str:
    """The model chosen on Home (or in the URL), else the shipped default; held across pages."""
    path = st.session_state.get(MODEL_KEY) or st.query_params.get("model")
    if path and not Path(path).is_absolute():
        path = str((B.REPO_ROOT / path).resolve())
    if not path or not B.is_bundle(path):
        path = str(B.DEFAULT_MODEL.resolve())
    st.session_state[MODEL_KEY] = path
    return path


def set_current_model(path: str | Path) -> None:
    path = str(Path(path).resolve())
    st.session_state[MODEL_KEY] = path
    st.query_params["model"] = _shareable(path)


def _shareable(path: str) -> str:
    """Paths inside the repo go into the URL relative to it, so links work on other machines."""
    try:
        return str(Path(path).relative_to(B.REPO_ROOT))
    except ValueError:
        return path


def current_model() -> ServedModel:
    return served_model(current_model_path())


@st.cache_data(show_spinner=False, max_entries=8)
def test_images(dataset: str) -> np.ndarray | None:
    """The dataset's test images if a local copy exists (never downloads in the web process)."""
    from vae.data import DataUnavailable, load_dataset

    try:
        return load_dataset(dataset, allow_download=False).x_test[..., 0]
    except (DataUnavailable, ValueError, OSError):
        return None


@st.cache_data(show_spinner=False, max_entries=8)
def pca_2d(path: str, stamp: float) -> dict:
    """PCA of the reference z_means: 2-D coordinates plus what is needed to map a point back to z."""
    from sklearn.decomposition import PCA

    z_mean = served_model(path).reference["z_mean"]
    pca = PCA(n_components=2, random_state=0).fit(z_mean)
    return {"xy": pca.transform(z_mean), "components": pca.components_, "mean": pca.mean_,
            "explained": pca.explained_variance_ratio_}


@st.cache_data(show_spinner="Running t-SNE once for this model (about a minute)…", max_entries=8)
def tsne_2d(path: str, stamp: float, n: int = 3000) -> dict:
    """t-SNE of a fixed sample of reference z_means (t-SNE has no inverse; computed once, cached)."""
    from sklearn.manifold import TSNE

    z_mean = served_model(path).reference["z_mean"]
    idx = np.random.default_rng(0).permutation(len(z_mean))[:n]
    xy = TSNE(n_components=2, init="pca", random_state=0, perplexity=30).fit_transform(z_mean[idx])
    return {"xy": xy, "index": idx}


def stamp(path: str) -> float:
    """Cache key part that changes when a bundle is re-saved."""
    return (Path(path) / B.MANIFEST).stat().st_mtime
