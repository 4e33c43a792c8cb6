"""The app's one module of cached services: which model is current, and its cached arrays.

Pages call these instead of touching ONNX Runtime or the dataset themselves. Nothing here
imports TensorFlow: models are served from their ONNX exports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import streamlit as st

from vae import bundle as B
from vae.serving import ServedModel


def _leave_legacy_pages_mode() -> None:
    """Send every page through app.py's st.navigation, even a direct link on a freshly started server.

    Streamlit decides once per process, before any script has called st.navigation, whether the app
    uses the legacy `pages/` auto-discovery; until then a link such as /decoder runs pages/decoder.py
    on its own (no sidebar caption, file names as the menu). app.py's st.navigation turns that mode off
    for later runs; a page that finds it still on turns it off and reruns, and the rerun goes through
    app.py to the same page. (Private API, checked by tests/e2e: renaming `pages/` would avoid it, but
    the project keeps Streamlit's conventional folder name.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()
USER_MODELS = Path(os.environ.get("VAE_USER_MODELS", B.SHIPPED_DIR / "user"))
# What a visitor is told when a dataset is not on the server: only whoever runs the server can fix it.
DATA_HELP = ("Whoever runs this server can point it at a local copy of the dataset: start it with "
             "`VAE_DATA_DIR=/path/to/data streamlit run app.py`, where the folder holds the four IDX files "
             "(or one folder of them per dataset, `mnist/`, `fashion_mnist/`). Debian's "
             "`dataset-fashion-mnist` package is found by itself. See the README's *Data* section.")
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


_shareable = shareable_path  # the skeleton's name


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


@st.cache_data(show_spinner=False, max_entries=16)
def latent_ranges(path: str, stamp: float) -> dict:
    """Ranges per latent dim, from the data, and the data mean.

    `ranges`: 0.5-99.5 % quantiles of the reference z_mean widened by 10 % (grids, maps).
    `sliders`: those joined with [-3, 3], so a draw from the prior N(0, I) almost always fits.
    A model without reference encodings gets [-3, 3] for both and a zero mean.
    """
    from explorer.geometry import data_ranges

    model = served_model(path)
    d = model.latent_dim
    prior = np.tile([-3.0, 3.0], (d, 1))
    if model.reference is None:
        return {"ranges": prior, "sliders": prior, "mean": np.zeros(d), "from_data": False}
    z_mean = model.reference["z_mean"]
    ranges = data_ranges(z_mean)
    sliders = np.stack([np.minimum(ranges[:, 0], -3.0), np.maximum(ranges[:, 1], 3.0)], axis=1)
    return {"ranges": ranges, "sliders": sliders, "mean": z_mean.mean(0).astype(np.float64),
            "from_data": True}


@st.cache_data(show_spinner=False, max_entries=64, max_size="16MiB")  # keyed by z: bytes bounded too
def decode(path: str, stamp: float, z: np.ndarray) -> np.ndarray:
    """Decoded images for a batch of z (cached: grids and strips are asked for again on reruns)."""
    return served_model(path).decode(z)


def point_test_index(point: dict) -> int | None:
    """The test index a clicked map point carries in customdata[0] (vae.latent_views.latent_figure).

    A real browser sends a point's customdata row of a typed array as a JSON object, {"0": 42.0, "1": ...}
    (JSON.stringify of a Float32Array), not as a list; a list or a bare number is what plain arrays give.
    Anything else (a ring or marker trace, which carry none) is None.
    """
    cd = point.get("customdata") if isinstance(point, dict) else None
    if isinstance(cd, dict):
        cd = cd.get("0", cd.get(0))
    elif isinstance(cd, list | tuple):
        cd = cd[0] if cd else None
    try:
        value = float(cd)
    except (TypeError, ValueError):
        return None
    return int(round(value)) if np.isfinite(value) and value >= 0 else None


def unit_activity_notice(model: ServedModel) -> tuple[str, str] | None:
    """("warning" or "info", text) when some latent units are inactive, else None.

    An inactive unit's z_mean hardly changes between images: the encoder ignores it. Where the model uses
    fewer than two units that is why its map looks broken, and the advice is to train differently; a model
    with units to spare (16-D) leaving a few unused is normal, and only worth a word.
    """
    from vae.posterior import ACTIVE_UNIT_THRESHOLD, unit_activity

    ref = model.reference
    if ref is None:
        return None
    act = unit_activity(ref["z_mean"], ref["z_log_var"])
    d, used = len(act["active"]), int(act["active"].sum())
    idle = np.flatnonzero(~act["active"])
    if not len(idle):
        return None
    names = ", ".join(f"z{k}" for k in idle[:8]) + (f" and {len(idle) - 8} more" if len(idle) > 8 else "")
    figures = "; ".join(f"z{k}: {act['variance'][k]:.3f}, mean z_std {act['z_std'][k]:.2f}, "
                        f"KL {act['kl'][k]:.2f} nats" for k in idle[:3])
    it = "it" if len(idle) == 1 else "them"
    what = (f"{names} {'hardly changes' if len(idle) == 1 else 'hardly change'} from one test image to "
            f"another: the variance of z_mean is below the {ACTIVE_UNIT_THRESHOLD} of an active unit "
            f"({figures}). The encoder does not use {it} to tell images apart, so the decoder draws the same "
            f"image all along {it}.")
    if used >= min(d, 2):
        return "info", (f"**{used} of {d} latent units are active.** {what} A VAE with more dimensions "
                        "than the data needs leaves some unused: the KL term keeps them at the prior, "
                        "N(0, 1).")
    return "warning", (
        f"**Only {used} of {d} latent units {'is' if used == 1 else 'are'} active.** {what} This is "
        "*posterior collapse*: the KL term pulled those units onto the prior before the decoder learned to "
        "use them. It is common after a short training. To try: train for more epochs, or lower **β** "
        "below 1 (Train page) so that the KL term pulls less; a KL warm-up (`--kl-warmup` on the command "
        "line) helps too.")


def inline_png(png: bytes) -> str:
    """PNG bytes as a data: URL for st.image: the picture travels inside the page's message instead of
    as a media file the browser fetches afterwards, one request per picture, from a server that is
    still busy sending the page (worth it for pictures of a few to ~100 KB shown on load)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


# The browser's devicePixelRatio. A page's script sees the cookies its session started with
# (st.context.cookies), not the screen: the browser keeps its ratio in a cookie for later page loads, and
# reports it once, as component state, in a session that started without that cookie (a browser's
# first visit), which then reruns knowing it.
PIXEL_RATIO_COOKIE = "latent_explorer_dpr"
PIXEL_RATIO_KEY = "pixel_ratio_reporter"
_PIXEL_RATIO_JS = f"""
export default function({{ setStateValue }}) {{
  const known = document.cookie.split("; ").some((c) => c.startsWith("{PIXEL_RATIO_COOKIE}="));
  document.cookie = "{PIXEL_RATIO_COOKIE}=" + window.devicePixelRatio
    + "; path=/; max-age=31536000; SameSite=Lax";
  if (!known) setStateValue("ratio", String(window.devicePixelRatio));
}}
"""
_pixel_ratio_reporter = st.components.v2.component("latent_explorer.pixel_ratio", js=_PIXEL_RATIO_JS)


def remember_pixel_ratio() -> None:
    """Have the browser note its screen's pixel ratio (see plotly_config); shows nothing."""
    with st.sidebar:
        _pixel_ratio_reporter(key=PIXEL_RATIO_KEY, on_ratio_change=lambda: None, height=0)


def plotly_config() -> dict:
    """Plotly config for st.plotly_chart: WebGL drawn at the screen's own pixel ratio, once known.

    Plotly draws WebGL traces (the Latent map's 10,000 dots) at a fixed 2x: four times the pixels a
    1x screen shows, about 0.2 s of each page load on a machine without a GPU. Until the browser has
    said its ratio (the first run of its first visit), Plotly's 2 stays: crisp everywhere.
    """
    cookie = st.context.cookies.get(PIXEL_RATIO_COOKIE)
    if not isinstance(cookie, str):  # no cookie when this session started: the ratio it reported, if any
        cookie = (st.session_state.get(PIXEL_RATIO_KEY) or {}).get("ratio")
    return {"plotGlPixelRatio": gl_pixel_ratio(cookie)}


def gl_pixel_ratio(cookie: str | None) -> float:
    """The cookie's devicePixelRatio within [1, 2]; Plotly's 2 when it is missing or not a number.

    Above 2 (phones) stays at Plotly's 2 rather than drawing more pixels than the app does today."""
    try:  # a str from the browser; anything else (None, or AppTest's mock of st.context) is not known
        ratio = float(cookie) if isinstance(cookie, str) else np.nan
    except ValueError:
        return 2.0
    return min(2.0, max(1.0, ratio)) if np.isfinite(ratio) else 2.0


@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB")  # keyed by z: bytes bounded too
def decoded_grid_png(path: str, stamp: float, z: np.ndarray, rows: int, cols: int, scale: int = 2) -> bytes:
    """z (rows * cols, d) decoded and laid out row by row as one PNG (cached: the Latent map shows and
    offers for download the same grid on every rerun, and PNG encoding takes ~15 ms). It decodes
    directly: only the PNG is worth keeping, not also the images in `decode`'s cache."""
    from explorer.pictures import compose_grid
    from vae.serving import to_png

    return to_png(compose_grid(served_model(path).decode(z), rows, cols), scale)


@st.cache_data(show_spinner=False, max_entries=8)
def latent_csv(path: str, stamp: float) -> bytes:
    """The reference latent codes as CSV: index, label, z_mean_*, z_std_*."""
    from explorer.geometry import latent_csv as to_csv

    model = served_model(path)
    ref = model.reference
    return to_csv(ref["z_mean"], ref["z_log_var"], ref.get("labels"), class_names(model))


# A resource, not data: st.cache_data hands every caller its own 30 MB copy (a Latent map click, an Encode,
# a How-it-works run), and those big short-lived blocks left the heap fragmented (RSS +300 MiB in
# scripts/soak.py). One shared read-only array per dataset instead: a caller that writes to it fails loudly.
@st.cache_resource(show_spinner=False, max_entries=3)
def test_images(dataset: str) -> np.ndarray | None:
    """The dataset's test images if a local copy exists (never downloads in the web process); read-only."""
    from vae.data import DataUnavailable, load_dataset

    try:
        images = load_dataset(dataset, allow_download=False).x_test[..., 0]
    except (DataUnavailable, ValueError, OSError):
        return None
    images.setflags(write=False)
    return images


@st.cache_data(show_spinner=False, max_entries=8)
def pca_2d(path: str, stamp: float) -> dict:
    """PCA of the reference z_means: 2-D coordinates plus what is needed to map a point back to z."""
    from sklearn.decomposition import PCA

    z_mean = served_model(path).reference["z_mean"]
    pca = PCA(n_components=2, random_state=0).fit(z_mean)
    return {"xy": pca.transform(z_mean), "components": pca.components_, "mean": pca.mean_,
            "explained": pca.explained_variance_ratio_}


@st.cache_data(show_spinner=False, max_entries=8)
def map_thumbnail(path: str, stamp: float, n: int = 2000) -> dict | None:
    """A picture of a sample of the test set's z_means (PCA plane for > 2-D), drawn once per model."""
    from explorer import geometry as geo
    from explorer import pictures as pics

    plane = map_plane(path, stamp)
    if plane is None:
        return None
    xy, pca = plane
    x_range, y_range = plane_ranges(path, stamp)
    rows = geo.sample_indices(len(xy), n)
    labels = served_model(path).reference.get("labels")
    thumb = pics.map_thumbnail(xy[rows], None if labels is None else labels[rows], x_range, y_range)
    # Only what marking z needs: cache_data hands out a copy of this on every slider change.
    plane = None if pca is None else {"components": pca["components"], "mean": pca["mean"]}
    return {"thumb": thumb, "x_range": x_range, "y_range": y_range, "pca": plane, "n": len(rows)}


@st.cache_data(show_spinner=False, max_entries=8)
def strip_2d(path: str, stamp: float) -> dict:
    """A 1-D model's test set on a strip (x = z0, y a jitter), in the form pca_2d gives a plane."""
    from explorer.geometry import strip_plane

    return strip_plane(served_model(path).reference["z_mean"][:, 0])


def map_plane(path: str, stamp: float) -> tuple[np.ndarray, dict | None] | None:
    """The test set's points on the map and the plane they lie on, or None without reference encodings:
    z_mean itself for 2-D (no plane), its PCA plane above 2-D, a strip for 1-D (geo.strip_plane)."""
    ref = served_model(path).reference
    if ref is None:
        return None
    d = ref["z_mean"].shape[1]
    if d == 2:
        return ref["z_mean"], None
    plane = strip_2d(path, stamp) if d == 1 else pca_2d(path, stamp)
    return plane["xy"], plane


@st.cache_data(show_spinner=False, max_entries=8)
def plane_ranges(path: str, stamp: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """(x_range, y_range) of the test set on the map plane: 0.5–99.5 % of the data, widened by 10 %."""
    from explorer.geometry import data_ranges

    plane = map_plane(path, stamp)
    if plane is None:
        return None
    x_range, y_range = data_ranges(plane[0])
    return (float(x_range[0]), float(x_range[1])), (float(y_range[0]), float(y_range[1]))


@st.cache_data(show_spinner=False, max_entries=32, max_size="32MiB")  # keyed by a box: bytes bounded too
def reference_backdrop(path: str, stamp: float, box: tuple) -> dict:
    """Every test image's point as one transparent picture over `box`, with that box and the labels shown
    (call only for a bundle with reference encodings)."""
    from explorer import pictures as pics

    labels = served_model(path).reference.get("labels")
    return {"png": pics.points_png(map_plane(path, stamp)[0], labels, *box), "box": box,
            "labels": None if labels is None else np.unique(labels)}


def _cloud_layout(model: ServedModel, path: str, clouds: list[dict], zoom: bool):
    """(pca, view, backdrop) for drawing clouds on the latent map, or None for a model other than 2-D
    without reference encodings (no plane or strip to draw in)."""
    from explorer import cloud_map as CM
    from explorer import geometry as geo

    stamp_ = stamp(path)
    plane = map_plane(path, stamp_)
    if plane is None and model.latent_dim != 2:
        return None
    pca = None if plane is None else plane[1]
    ranges = plane_ranges(path, stamp_)
    view = CM.view_ranges(clouds, pca, ranges, zoom)
    backdrop = None if plane is None else reference_backdrop(
        path, stamp_, CM.backdrop_box(view, geo.cover_box(*ranges)))
    return pca, view, backdrop


def cloud_map(model: ServedModel, path: str, clouds: list[dict], zoom: bool = False, height: int = 520):
    """Clouds on the latent map (vae.cloud_map) over the test set's cached picture, as a Plotly figure;
    None for a > 2-D model without reference encodings."""
    from explorer import cloud_map as CM

    layout = _cloud_layout(model, path, clouds, zoom)
    return None if layout is None else CM.cloud_figure(clouds, *layout, class_names(model), height)


def cloud_picture(model: ServedModel, path: str, clouds: list[dict], zoom: bool = False, width: int = 760,
                  height: int = 520, legend_below: bool = False) -> str | None:
    """The same map as an SVG picture (vae.cloud_svg): no chart for the browser to build; None as above."""
    from explorer import cloud_svg

    layout = _cloud_layout(model, path, clouds, zoom)
    return None if layout is None else cloud_svg.cloud_svg(clouds, *layout, class_names(model), width, height,
                                                           legend_below)


def kl_table(container, kl: np.ndarray, z_mean: np.ndarray, z_std: np.ndarray,
             z_log_var: np.ndarray | None = None) -> None:
    """KL per latent dimension as a table with in-cell bars, beside that dimension's z_mean and z_std
    (and z_log_var, if given).

    Used where a Plotly bar chart stood: the table grid is on the page anyway, and every Plotly chart
    costs the browser ~0.1 s to build on each page load here.
    """
    import pandas as pd

    kl = np.asarray(kl, np.float64)
    columns = {"z_mean": z_mean, **({} if z_log_var is None else {"z_log_var": z_log_var}), "z_std": z_std}
    frame = pd.DataFrame({**columns, "KL (nats)": kl},
                         index=pd.Index([f"z[{i}]" for i in range(kl.size)], name="dim"))
    container.dataframe(frame, width="stretch", column_config={
        **{name: st.column_config.NumberColumn(format="%.3f") for name in columns},
        "KL (nats)": st.column_config.ProgressColumn(format="%.3f", min_value=0.0,
                                                     max_value=max(float(kl.max()), 1e-9)),
    })


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


@st.cache_resource(show_spinner=False, max_entries=6)  # as many as _served keeps models
def decoder_bytes(path: str, stamp: float) -> bytes:
    """The bundle's decoder.onnx, read once: the browser runs this same file (live decoding)."""
    return (Path(path) / B.DECODER_ONNX).read_bytes()


def reference_images(model: ServedModel) -> np.ndarray | None:
    """The test images behind a model's reference encodings, if on this machine and aligned with them."""
    dataset = model.card.get("dataset") or model.config.get("dataset")
    if not dataset or model.reference is None:
        return None
    images = test_images(dataset)
    if images is None or len(images) != len(model.reference["labels"]):
        return None
    return images


def live_decoder_inputs(model: ServedModel, path: str, stamp: float) -> tuple:
    """(points, labels, plane) for the in-browser decoder's pad: z_mean for 2-D, else the PCA plane;
    none of them for 1-D, whose one slider is the whole latent space (no pad)."""
    ref = model.reference
    if ref is None or model.latent_dim == 1:
        return None, None, None
    if model.latent_dim == 2:
        return ref["z_mean"], ref.get("labels"), None
    p = pca_2d(path, stamp)
    return p["xy"], ref.get("labels"), (p["mean"], p["components"])
