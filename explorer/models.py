"""Which model is current: shipped and visitors' bundles, the link's ?model=, one served model each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from explorer.legacy_pages import leave_legacy_pages_mode
from vae import bundle as B
from vae.serving import ServedModel

leave_legacy_pages_mode()  # before anything else a page does (see legacy_pages)


USER_MODELS = Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))


MODEL_KEY = "model_path"


NOTICE_KEY = "model_notice"


MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$")


# ~45 MiB resident per model (weights, ONNX Runtime sessions): the four shipped and two more stay loaded.
@st.cache_resource(show_spinner=False, max_entries=6)
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
    for root, suffix in ((B.SHIPPED_DIR, ""), (USER_MODELS, " (yours)")):
        for p in B.list_bundles(root):
            label = f"{_label(p)}{suffix}"
            if label in choices:  # two bundles with the same card name: tell them apart by folder
                label = f"{_label(p)} [{p.name}]{suffix}"
            choices[label] = str(p.resolve())
    return choices


def _label(path: Path) -> str:
    card = B.read_json(path / B.CARD_JSON, {})
    return card.get("name") or path.name


def current_model_path() -> str:
    """The model chosen on Home (or in the URL), else the shipped default; held across pages."""
    asked = st.session_state.get(MODEL_KEY) or st.query_params.get("model")
    path = asked
    if path and not Path(path).is_absolute():
        path = str((B.REPO_ROOT / path).resolve())
    if not path or not B.is_bundle(path):
        if asked and MODEL_KEY not in st.session_state:  # a shared link naming no model of this server
            st.session_state[NOTICE_KEY] = (
                f"This link's model, “{plain_text(asked)}”, is not one of this server's models, so the "
                "default model is shown instead. Pick another on Home.")
        path = str(B.DEFAULT_MODEL.resolve())
    st.session_state[MODEL_KEY] = path
    # Keep the link shareable on every page (page switches may drop the parameter).
    default = str(B.DEFAULT_MODEL.resolve())
    link = shareable_path(path)
    if (path != default or "model" in st.query_params) and st.query_params.get("model") != link:
        st.query_params["model"] = link
    return path


def show_model_notice() -> None:
    """Say why the page shows another model than its link asked for (kept until a model is picked)."""
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.warning(notice, icon="⚠️")


def plain_text(text: str, limit: int = 80) -> str:
    """Text from a visitor, shortened and with Markdown's special characters escaped, to show as is."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)


def set_current_model(path: str | Path) -> None:
    st.session_state.pop(NOTICE_KEY, None)
    path = str(Path(path).resolve())
    st.session_state[MODEL_KEY] = path
    st.query_params["model"] = shareable_path(path)


def shareable_path(path: str) -> str:
    """Paths inside the repo go into the URL relative to it, so links work on other machines."""
    try:
        return str(Path(path).relative_to(B.REPO_ROOT))
    except ValueError:
        return path


def current_model() -> ServedModel:
    """The current model; one that no longer loads falls back to the shipped default, with a warning."""
    path = current_model_path()
    try:
        return served_model(path)
    except Exception as exc:  # a damaged bundle (bad ONNX, unreadable file) must not break every page
        if path == str(B.DEFAULT_MODEL.resolve()):
            raise
        # The reason goes to the server's log: its text can name server paths.
        print(f"Latent Explorer: model {path} could not be loaded: {exc!r}", file=sys.stderr)
        st.session_state[NOTICE_KEY] = (f"The model “{plain_text(_label(Path(path)))}” could not be loaded "
                                        "(its files are damaged or incomplete), so the default model is "
                                        "shown instead.")
        set_current_model(B.DEFAULT_MODEL)
        return served_model(B.DEFAULT_MODEL)


def check_model_dir(path: str) -> str:
    """Validate a typed bundle directory and load it once; returns the resolved path or raises ValueError."""
    path = str(Path(path.strip()).expanduser())
    if not Path(path).is_absolute():
        path = str((B.REPO_ROOT / path).resolve())
    B.check_bundle(path)  # BundleError (a ValueError) says what is missing
    try:
        served_model(path)
    except Exception as exc:
        raise ValueError(f"{path}: the bundle's ONNX models could not be loaded ({exc}).") from exc
    return path


def class_names(model: ServedModel) -> list[str] | None:
    """Label names of the model's dataset (card['dataset']), if known."""
    from vae.data import CLASS_NAMES

    return CLASS_NAMES.get(model.card.get("dataset", ""))


def label_name(model: ServedModel, label) -> str:
    """A label as users read it: the class name where the dataset has them ("Sneaker"), else the number."""
    names = class_names(model)
    lab = int(label)
    return names[lab] if names and 0 <= lab < len(names) else str(lab)


def stamp(path: str) -> float:
    """Cache key part that changes when a bundle is re-saved."""
    return (Path(path) / B.MANIFEST).stat().st_mtime
