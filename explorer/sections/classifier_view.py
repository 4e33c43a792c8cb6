"""A classifier's view: the Latent map's overlay, a decode's class probabilities, or a word of its absence."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import alt_text, cache
from explorer import class_overlay as overlays
from explorer import pictures as pics
from explorer.models import Handle

OVERLAY_KEY = "map_overlay"
CELL_KEY = "map_cell"  # the point of the map's plane last clicked between the dots (with the overlay on)
CELL = "cell"  # the customdata of the overlay's cells on the map (a test image's is its index)
TOGGLE = "Classifier overlay: the label of the decode at each point"


def none_note(handle: Handle) -> None:
    """Where a model carries no classifier: say so, and how the server's operator adds one."""
    st.caption("This model carries no classifier, so there is no overlay and there are no class "
               f"probabilities. Whoever runs this server can add one: `python -m vae add-classifier "
               f"{handle.id or 'MODEL'}`.")


def accuracy_text(handle: Handle) -> str:
    """The classifier's test accuracy, in words, from the model's card."""
    info = handle.served.classifier.info
    return (f"{100 * float(info.get('test_accuracy', float('nan'))):.1f} % right on "
            f"{int(info.get('test_images', 0)):,} test images")


def overlay_toggle(handle: Handle, view) -> overlays.Overlay | None:
    """The overlay's switch above the map; the overlay when it is on and the view has a plane to decode."""
    if handle.served.classifier is None:
        st.toggle(TOGGLE, value=False, disabled=True, key=OVERLAY_KEY + "_none")
        none_note(handle)
        return None
    if view.to_z is None:
        st.toggle(TOGGLE, value=False, disabled=True, key=OVERLAY_KEY + "_tsne")
        st.caption("No overlay on t-SNE: it has no inverse, so its points have no decode to classify. "
                   "Switch to PCA or two latent dims.")
        return None
    if not st.toggle(TOGGLE, value=False, key=OVERLAY_KEY):
        return None
    overlay = overlay_of(handle, view.name, view.titles, tuple(view.x_range), tuple(view.y_range), view)
    plane = {"PCA": " The grid lies on the PCA plane through the data mean: each cell's centre is "
                    "decoded from mean + (x, y) · components.",
             "1-D strip": " On the strip only x is decoded, so each column is one decode."}.get(view.name, "")
    st.caption(
        f"Each of the {overlay.cols * overlay.rows:,} cells is coloured by the label a classifier "
        f"({accuracy_text(handle)}) gives the decode of its centre, paler the less sure it is: "
        f"{overlay.unsure_share:.0%} of the cells get under {overlays.UNSURE:.0%} for their top label, "
        f"where the decoder draws what the classifier cannot name. Click between the dots for the decode "
        f"of that point and its class probabilities.{plane}"
        + (f" {view.decode_note}" if view.decode_note else ""))
    return overlay


# Keyed by the model and the view (its name, axis titles and ranges name it; `_view` is it, not hashed).
@st.cache_data(show_spinner="Classifying the decodes of the grid…", max_entries=16,
               hash_funcs=cache.BY_CACHE_KEY)
def overlay_of(handle: Handle, name: str, titles: tuple, x_range: tuple, y_range: tuple,
               _view) -> overlays.Overlay:
    model = handle.served
    return overlays.compute(model.decode, model.classifier.probabilities, _view.to_z, x_range, y_range,
                            strip=name == "1-D strip")


def with_overlay(fig, overlay: overlays.Overlay | None, shared_key: tuple | None = None):
    """The map figure with the overlay under its points. A figure shared between sessions (named by
    `shared_key`: its model's cache key, view and rings) is copied first, once per key and overlay, and
    never changed."""
    if overlay is None:
        return fig
    if shared_key is not None:
        return _overlaid_copy(shared_key, overlay, fig)
    _add_overlay(fig, overlay)
    return fig


@st.cache_resource(show_spinner=False, max_entries=8)
def _overlaid_copy(shared_key: tuple, overlay: overlays.Overlay, _fig):
    copy = go.Figure(_fig)
    _add_overlay(copy, overlay)
    return copy


def _add_overlay(fig, overlay: overlays.Overlay) -> None:
    """The overlay's picture, and its cells' centres as invisible points, so a click between the dots
    picks a cell (its customdata says so; a test image's is its index)."""
    overlays.add_to_figure(fig, overlay)
    xy = overlays.cell_centres(overlay.x_range, overlay.y_range, overlay.cols, overlay.rows)
    if overlay.rows == 1:  # the strip: a column of points per cell, so a click anywhere in it finds one
        xy = np.vstack([np.column_stack([xy[:, 0], np.full(len(xy), y)])
                        for y in np.linspace(*overlay.y_range, 12)])
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name="classifier cells",
                             marker=dict(size=6, opacity=0), customdata=[CELL] * len(xy), showlegend=False,
                             hovertemplate="decode here: (%{x:.2f}, %{y:.2f})<extra></extra>"))


def cell_state(event: dict | None, view_key: tuple) -> dict:
    """The session-state changes a map selection asks of the overlay: a click on a cell only (no test
    image, no box) picks that point of the plane (and drops the picked image); anything else drops it."""
    selection = (event or {}).get("selection") or {}
    points = selection.get("points") or []
    cells = [p for p in points if _is_cell(p)]
    if selection.get("box") or not cells or len(cells) < len(points):
        return {CELL_KEY: None}
    x, y = cells[0].get("x"), cells[0].get("y")
    if not all(isinstance(v, int | float) and np.isfinite(v) for v in (x, y)):
        return {CELL_KEY: None}
    return {CELL_KEY: {"xy": (float(x), float(y)), "view": view_key}, "sel_index": None, "map_idx": None,
            "map_box": None}


def _is_cell(point) -> bool:
    cd = point.get("customdata") if isinstance(point, dict) else None
    return cd == CELL or cd == [CELL] or (isinstance(cd, dict) and cd.get("0") == CELL)


def cell_detail(handle: Handle, view, view_key: tuple) -> bool:
    """A clicked point of the overlay: its decode and the class probabilities; False if none is picked."""
    cell = st.session_state.get(CELL_KEY)
    if not cell or tuple(cell.get("view", ())) != view_key or view.to_z is None:
        return False
    xy = np.asarray(cell["xy"], np.float64)
    z = view.to_z(xy[None])
    image = handle.served.decode(z)[0]
    st.markdown(f"**Point ({xy[0]:.2f}, {xy[1]:.2f})** of the map's plane, decoded")
    st.image(pics.to_png(image, 5), output_format="PNG", caption="decoder(z) at the clicked point",
             alt=alt_text.decoded(z[0]))
    probabilities(handle, image, "this decode")
    return True


def probabilities(handle: Handle, image: np.ndarray, what: str = "this decode") -> None:
    """The classifier's class probabilities for one image (a decode), most probable first."""
    classifier = handle.served.classifier
    if classifier is None:
        none_note(handle)
        return
    p = classifier.probabilities(image[None])[0]
    order = np.argsort(-p)
    names = classifier.labels or [str(i) for i in range(len(p))]
    top = names[order[0]]
    sure = "" if p[order[0]] >= overlays.UNSURE else " — under 50%: it cannot really name it"
    st.markdown(f"**Classifier:** {what} is a **{top}** ({p[order[0]]:.0%}){sure}")
    st.dataframe({"label": [names[i] for i in order], "probability": p[order].round(4)}, hide_index=True,
                 height=min(35 * len(p) + 40, 240),
                 column_config={"probability": st.column_config.ProgressColumn(
                     "probability", min_value=0.0, max_value=1.0, format="percent")})
    st.caption(f"The model's classifier ({accuracy_text(handle)}), run on the server.")
