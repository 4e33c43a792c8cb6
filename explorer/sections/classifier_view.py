"""A classifier's view: the Latent map's overlay, a decode's class probabilities, or a word of its absence."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import cache
from explorer import class_overlay as overlays
from explorer.models import Handle

OVERLAY_KEY = "map_overlay"
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
        f"where the decoder draws what the classifier cannot name.{plane}"
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
    overlays.add_to_figure(fig, overlay)
    return fig


@st.cache_resource(show_spinner=False, max_entries=8)
def _overlaid_copy(shared_key: tuple, overlay: overlays.Overlay, _fig):
    copy = go.Figure(_fig)
    overlays.add_to_figure(copy, overlay)
    return copy


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
