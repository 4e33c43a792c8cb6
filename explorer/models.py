"""Which model is current: shipped and visitors' bundles, the link's ?model=, one served model each."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from explorer.legacy_pages import leave_legacy_pages_mode
from vae import bundle as B
from vae.serving import ServedModel

leave_legacy_pages_mode()  # before anything else a page does (see legacy_pages)

USER_MODELS = Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))
USER_PREFIX = "user/"  # ids of the models trained or imported in the app
MODEL_KEY = "model_path"  # the current bundle's folder, in session state: never from the browser
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


@dataclass(frozen=True)
class ModelHandle:
    """A model as every cached computation takes it: its bundle folder (server side only) and its cache
    key, the manifest's mtime, which changes when the bundle is re-saved, so a retrained model is computed
    afresh. Streamlit's caches hash it by these two fields."""

    path: str
    stamp: float

    @property
    def id(self) -> str | None:
        """What links and the picker call it ("mnist-2d", "user/mine"), if a visitor may open it."""
        return id_of(self.path)

    @property
    def served(self) -> ServedModel:
        """Its ONNX models and arrays, loaded once per process."""
        return served_model(self.path)


def handle(path: str | Path) -> ModelHandle:
    """The handle of a bundle folder, keyed by its current save."""
    path = str(Path(path).resolve())
    return ModelHandle(path, stamp(path))


def current_handle() -> ModelHandle:
    """The current model's handle (after current_model(), which falls back to the default when a bundle
    no longer loads)."""
    return handle(current_model_path())


def model_ids() -> dict[str, str]:
    """Id -> bundle folder for every model a visitor may open: the shipped ones ("mnist-2d") and those
    trained or imported in the app ("user/mine"). Links and the picker name models by these ids only, never
    by a path, so nothing a browser sends can point the server at another folder."""
    ids = {p.name: str(p.resolve()) for p in B.list_bundles(B.SHIPPED_DIR)}
    ids.update({f"{USER_PREFIX}{p.name}": str(p.resolve()) for p in B.list_bundles(USER_MODELS)})
    return ids


def model_choices() -> dict[str, str]:
    """Label -> id, for the model picker: the card's name, and the id where two names are alike."""
    choices = {}
    for model_id, path in model_ids().items():
        yours = " (yours)" if model_id.startswith(USER_PREFIX) else ""
        label = f"{_label(Path(path))}{yours}"
        if label in choices:
            label = f"{_label(Path(path))} [{model_id}]{yours}"
        choices[label] = model_id
    return choices


def _label(path: Path) -> str:
    card = B.read_json(path / B.CARD_JSON, {})
    return card.get("name") or path.name


def id_of(path: str | Path) -> str | None:
    """The id of a bundle folder, if it is one a visitor may open."""
    path = str(Path(path).resolve())
    return next((i for i, p in model_ids().items() if p == path), None)


def current_model_path() -> str:
    """The bundle folder of the model chosen on Home or named by the link's ?model= id, else the shipped
    default; held across pages in this session (server side)."""
    path = st.session_state.get(MODEL_KEY)
    if not path or not B.is_bundle(path):
        asked = st.query_params.get("model")
        # Links made before ids were paths inside the project ("models/mnist-2d"): the same id.
        model_id = asked.removeprefix("models/") if asked else None
        path = model_ids().get(model_id) if model_id else None
        if asked and path is None:  # a shared link naming no model of this server
            st.session_state[NOTICE_KEY] = (
                f"This link's model, “{plain_text(asked)}”, is not one of this server's models, so the "
                "default model is shown instead. Pick another on Home.")
        path = path or str(B.DEFAULT_MODEL.resolve())
    st.session_state[MODEL_KEY] = path
    # Keep the link shareable on every page (page switches may drop the parameter).
    link = id_of(path)
    if link and (link != B.DEFAULT_MODEL.name or "model" in st.query_params) \
            and st.query_params.get("model") != link:
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
    """Make a bundle folder (one the server chose: a picked id's, a finished job's) the current model."""
    st.session_state.pop(NOTICE_KEY, None)
    path = str(Path(path).resolve())
    st.session_state[MODEL_KEY] = path
    link = id_of(path)
    if link:
        st.query_params["model"] = link
    else:
        st.query_params.pop("model", None)


def choose_model(model_id: str) -> None:
    """Make the model with this id current (an id not among model_ids() is ignored)."""
    path = model_ids().get(model_id)
    if path:
        set_current_model(path)


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
