"""Which model is current: the models a visitor may open (by id), the link's ?model=, one served each."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import settings
from explorer import icons, published, visitors
from explorer.legacy_pages import leave_legacy_pages_mode
from explorer.nouns import class_names  # noqa: F401  (the pages' models.class_names)
from explorer.text import no_autolinks, plain_text  # noqa: F401  (the sections' models.plain_text)
from jobservice import Limits, public_message, user_models
from vae.bundles.bundle import (
    CARD_JSON,
    DEFAULT_MODEL,
    MANIFEST,
    SHIPPED_DIR,
    check_bundle,
    has_symlinks,
    is_bundle,
    list_bundles,
    read_json,
)
from vae.bundles.bundle import card_markdown as bundle_card_markdown
from vae.bundles.serving import ServedModel

leave_legacy_pages_mode()  # before anything else a page does (see legacy_pages)

USER_PREFIX = "user/"  # ids of the models trained or imported in the app
MODEL_KEY = "model_path"  # the current bundle's folder, in session state: never from the browser
NOTICE_KEY = "model_notice"


# ~45 MiB resident per model (weights, ONNX Runtime sessions): the four shipped and two more stay loaded.
@st.cache_resource(show_spinner=False, max_entries=6)
def _served(path: str, stamp: float) -> ServedModel:
    """One ServedModel per bundle (and per save of it) for the whole process, shared read-only."""
    return ServedModel(path)


def served_model(path: str | Path, saved: float | None = None) -> ServedModel:
    """The bundle's served model, loaded once per process and per save (`saved`: its stamp, if known)."""
    path = Path(path).resolve()
    # The manifest's mtime changes when a bundle is re-saved, so a retrained model reloads.
    return _served(str(path), stamp(path) if saved is None else saved)


@dataclass(frozen=True)
class Handle:
    """A model as a script run holds it: resolved once (app.py; Compare's second model), then handed to
    every section and cached computation.

    `path` and `stamp` are the cache key (explorer.cache hashes a handle by them alone): the bundle folder
    (server side only) and its manifest's mtime, which changes when the bundle is re-saved, so a retrained
    model is computed afresh. `entry` is what this visitor's catalogue says of it (None: a folder the
    server opened by path)."""

    path: str
    stamp: float
    served: ServedModel
    entry: Entry | None = None

    @property
    def id(self) -> str | None:
        """What links and the picker call it ("mnist-2d", "user/mine"), if this visitor may open it."""
        return self.entry.id if self.entry else None

    @property
    def cache_key(self) -> tuple[str, float]:
        return self.path, self.stamp


def handle_of(path: str | Path, entry: Entry | None = None) -> Handle:
    """A bundle folder's handle: its current save, loaded (served_model's one call for it)."""
    path = str(Path(path).resolve())
    saved = stamp(path)
    return Handle(path, saved, served_model(path, saved), entry)


HANDLE_KEY = "model_handle"  # the handle of the run under way (see held_for_run)


@contextmanager
def held_for_run() -> Iterator[Handle]:
    """app.py: the current model resolved once for this run, held for its pages (current()) until the run
    ends, stopped or not; then let go, so that no session keeps a model loaded between its runs."""
    handle = st.session_state[HANDLE_KEY] = resolve()
    try:
        yield handle
    finally:
        st.session_state.pop(HANDLE_KEY, None)


def current() -> Handle:
    """The current model's handle, as app.py resolved it for this run; pages call this once, at their top,
    and hand the handle on. Where app.py did not run (a fragment's own rerun; AppTest runs a page's file on
    its own), it is resolved here, once per call, and not kept: it would outlive the run."""
    held = st.session_state.get(HANDLE_KEY)
    return held if isinstance(held, Handle) else resolve()


@dataclass(frozen=True)
class Entry:
    """A bundle a visitor might open: its id, folder, card name, and owner (None: the server's own)."""

    id: str
    path: str
    name: str
    owner: str | None = None
    shared: bool = False
    published: bool = False  # shared by a teacher


# A short life: a model saved, shared or deleted through another session (or replica) shows within 2 s;
# this session's own changes clear it at once (forget_models). A resource, shared read-only (a tuple of
# frozen entries): cache_data would unpickle a copy for every caller, a few times a run.
@st.cache_resource(ttl=2, show_spinner=False)
def _catalogue(user_root: str, extra_roots: tuple[str, ...]) -> tuple[Entry, ...]:
    """Every bundle in the model roots, without symlinks: the shipped ones ("mnist-2d"), the operator's
    extra roots ("<root>/<bundle>") and the visitors' ("user/<bundle>", with their owner)."""
    found = [Entry(p.name, str(p.resolve()), _label(p)) for p in _clean(list_bundles(SHIPPED_DIR))]
    for root in extra_roots:
        found += [Entry(f"{Path(root).name}/{p.name}", str(p.resolve()), _label(p))
                  for p in _clean(list_bundles(root))]
    for p, acc in user_models.bundles(user_root):
        if acc.owner is not None and not has_symlinks(p):
            owner = None if acc.owner == user_models.SERVER else acc.owner  # the CLI's: the server's own
            found.append(Entry(f"{USER_PREFIX}{p.name}", str(p.resolve()), _label(p), owner, acc.shared,
                               acc.published))
    return tuple(found)


def _clean(paths: list[Path]) -> list[Path]:
    # A bundle that is, or holds, a symlink could show any file the server can read (its MODEL_CARD.md).
    return [p for p in paths if not has_symlinks(p)]


def extra_roots() -> tuple[str, ...]:
    """Folders of bundles the operator adds for everyone (VAE_MODEL_ROOTS, separated like PATH)."""
    return settings.model_roots()


def forget_models() -> None:
    """Drop the cached catalogue, after this session saved, shared or deleted a model."""
    _catalogue.clear()


def entries() -> list[Entry]:
    """The models this visitor may open: shipped, the operator's, their own and those shared with the
    class."""
    me = visitors.owner()
    return [e for e in _catalogue(str(settings.user_models_dir()), extra_roots())
            if e.owner is None or e.owner == me or e.shared]


def model_ids() -> dict[str, str]:
    """Id -> bundle folder for every model this visitor may open. Links and the picker name models by
    these ids only, never by a path, so nothing a browser sends can point the server at another folder."""
    return {e.id: e.path for e in entries()}


def model_choices() -> dict[str, str]:
    """Label -> id, for the model picker: the card's name, and the id where two names are alike; "(yours)"
    marks this visitor's own models, "(shared)" those a classmate shared."""
    me = visitors.owner()
    choices = {}
    for e in entries():
        tag = (" (yours)" if e.owner == me else " (published)" if e.published else " (shared)" if e.owner
               else "")
        label = f"{e.name}{tag}"
        if label in choices:
            label = f"{e.name} [{e.id}]{tag}"
        choices[label] = e.id
    return choices


def entry_of(path: str | Path) -> Entry | None:
    path = str(Path(path).resolve())
    return next((e for e in entries() if e.path == path), None)


def _label(path: Path) -> str:
    card = read_json(path / CARD_JSON, {}) if not (path / CARD_JSON).is_symlink() else {}
    return " ".join(str(card.get("name") or path.name).split())[:80]


def bundle_name(path: str | Path) -> str:
    """A bundle's name as its card gives it (its folder's name where the card has none)."""
    return _label(Path(path))


def id_of(path: str | Path) -> str | None:
    """The id of a bundle folder, if it is one this visitor may open."""
    e = entry_of(path)
    return e.id if e else None


def id_of_saved(path: str | Path | None) -> str | None:
    """The id of a bundle a job saved, if any. The catalogue may be up to 2 s older than the owner the runner
    just gave the bundle (another replica's keeper, say): not found, it is read afresh once."""
    if not path or not is_bundle(path):
        return None
    found = id_of(path)
    if found is None:
        forget_models()
        found = id_of(path)
    return found


def _current_path(catalogue: dict[str, Entry]) -> str:
    """The bundle folder of the model chosen on Home or named by the link's ?model= id, else the shipped
    default; held across pages in this session (server side). `catalogue`: this visitor's entries by
    folder, read once for the run."""
    by_id = {e.id: e.path for e in catalogue.values()}
    path = st.session_state.get(MODEL_KEY)
    # A visitor's model this session may no longer show (deleted, or no longer shared); bundles the server
    # picked outside the roots (a test's, or a folder opened by path where the operator allows it) stay.
    if path and is_visitors(path) and not (is_bundle(path) and str(Path(path).resolve()) in catalogue):
        st.session_state[NOTICE_KEY] = ("The model you had open was deleted or is no longer shared with you, "
                                        "so the default model is shown instead.")
        st.query_params["model"] = DEFAULT_MODEL.name  # not its id, which names no model of theirs now
        path = None
    if not path or not is_bundle(path):
        asked = st.query_params.get("model")
        # Links made before ids were paths inside the project ("models/mnist-2d"): the same id.
        model_id = asked.removeprefix("models/") if asked else None
        path = by_id.get(model_id) if model_id else None
        if asked and path is None:  # a shared link naming no model of this server
            what = ("a folder" if asked.startswith(("/", "~", ".", "\\")) or ".." in asked
                    else f"“{plain_text(asked)}”")  # a path is not repeated back: models have ids
            st.session_state[NOTICE_KEY] = (
                f"This link's model, {what}, is not one of this server's models, so the default model is "
                "shown instead. Pick another on Home.")
        path = path or str(DEFAULT_MODEL.resolve())
    st.session_state[MODEL_KEY] = path
    # Keep the link shareable on every page (page switches may drop the parameter).
    entry = catalogue.get(str(Path(path).resolve()))
    link = entry.id if entry else None
    if link and (link != DEFAULT_MODEL.name or "model" in st.query_params) \
            and st.query_params.get("model") != link:
        st.query_params["model"] = link
    return path


def resolve() -> Handle:
    """The current model's handle, worked out once per run (app.py; pages take it from current()): one
    catalogue read, one served_model call. A bundle that no longer loads falls back to the shipped default,
    with a word why."""
    catalogue = {e.path: e for e in entries()}
    path = str(Path(_current_path(catalogue)).resolve())
    try:
        return handle_of(path, catalogue.get(path))
    except Exception as exc:  # a damaged bundle (bad ONNX, unreadable file) must not break every page
        default = str(DEFAULT_MODEL.resolve())
        if path == default:
            raise
        # The reason goes to the server's log: its text can name server paths.
        print(f"Latent Explorer: model {path} could not be loaded: {exc!r}", file=sys.stderr)
        st.session_state[NOTICE_KEY] = (f"The model “{plain_text(_label(Path(path)))}” could not be loaded "
                                        "(its files are damaged or incomplete), so the default model is "
                                        "shown instead.")
        set_current_model(DEFAULT_MODEL)
        return handle_of(default, catalogue.get(default))


def show_model_notice() -> None:
    """Say why the page shows another model than its link asked for (kept until a model is picked)."""
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.warning(notice, icon=icons.WARNING)


def card_markdown(path: str | Path, handle: Handle | None = None) -> str:
    """A bundle's model card to show (read once per save of it). The server's own cards show as written; a
    visitor's keeps its headings, lists and tables, but no server path, and no link, picture, HTML or math
    ($…$, which Streamlit's Markdown renders as LaTeX): its name and notes are a visitor's text. `handle`:
    the bundle's, where the caller holds one (its card already read, its folder already checked)."""
    if handle is not None:
        return _card_markdown(handle.path, handle.stamp, handle.served)
    path = str(Path(path).resolve())
    try:
        saved = stamp(path)
    except OSError:  # no manifest: not a bundle's save to key on, read as it is now
        saved = None
    return _card_markdown(path, saved, None)


@st.cache_data(show_spinner=False, max_entries=64)
def _card_markdown(path: str, saved: float | None, _served: ServedModel | None) -> str:
    """card_markdown's work, per bundle and save (`_served`, not hashed: its loaded model, if any)."""
    if _served is not None:
        text = _served.card_markdown  # a ServedModel refused links when it was loaded
    elif has_symlinks(path):  # ServedModel refuses it too: a link could show any file the server can read
        return "This model's card cannot be shown: its folder holds symbolic links."
    else:
        text = bundle_card_markdown(path)
    if not is_visitors(path):
        return text
    text = public_message(text)
    return re.sub(r"[\\\[\]!<>$]", lambda m: "\\" + m.group(), no_autolinks(text))


def share(path: str | Path, shared: bool) -> None:
    """Share one of this visitor's models with the class, or stop sharing it."""
    user_models.set_shared(path, visitors.acting_owner("share a model"), shared)
    forget_models()


def delete(path: str | Path) -> None:
    """Delete one of this visitor's models, and its published decoder (its URL then answers 404); the session
    moves to the default model if it was current."""
    decoder = published.bundle_decoder(path)
    user_models.delete(path, visitors.owner())
    forget_models()
    published.model_deleted(decoder)
    if Path(st.session_state.get(MODEL_KEY) or "").resolve() == Path(path).resolve():
        set_current_model(DEFAULT_MODEL)


def usage_text() -> str:
    """This visitor's storage against the quota, in words."""
    lim, used = Limits.from_env(), user_models.usage(settings.user_models_dir(), visitors.owner())
    return (f"Your models: {used.models} of {lim.models_per_owner}, {used.bytes / 2**20:,.0f} MB of "
            f"{lim.bytes_per_owner / 2**20:,.0f} MB.")


def paths_allowed() -> bool:
    """VAE_ALLOW_BUNDLE_PATHS=1: Home opens bundle folders by path. Off by default: on a server that many
    people use, a path typed in a browser would reach any folder the server can read."""
    return settings.flag("VAE_ALLOW_BUNDLE_PATHS")


def open_path(folder: str) -> str | None:
    """Open a bundle folder by path (only where paths_allowed()); None, or why it cannot be opened."""
    if not paths_allowed():
        return "Opening folders by path is turned off on this server."
    path = Path(folder).expanduser()
    try:
        check_bundle(path)
        served_model(path)
    except Exception as exc:  # this mode is one person's own machine: their own path is fine to show
        return f"Could not open it: {exc}"
    set_current_model(path)
    return None


def display_name(model: ServedModel) -> str:
    """The model's name as plain text (Markdown escaped), for captions and notices."""
    return plain_text(model.name)


def is_visitors(path: str | Path) -> bool:
    """Whether a bundle sits among the visitors' models (trained or imported in the app)."""
    return Path(path).resolve().parent == settings.user_models_dir().resolve()


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


def label_name(model: ServedModel, label) -> str:
    """A label as users read it: the class name where the dataset has them ("Sneaker"), else the number."""
    names = class_names(model)
    lab = int(label)
    return names[lab] if names and 0 <= lab < len(names) else str(lab)


def stamp(path: str) -> float:
    """Cache key part that changes when a bundle is re-saved."""
    return (Path(path) / MANIFEST).stat().st_mtime
