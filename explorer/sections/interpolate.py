"""The Interpolate page's sections: two inputs (or a direction's ends), a linear or spherical path between
their codes, drawn on the map and decoded as a strip, a PNG and an animated GIF; Compare's pair of strips."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import alt_text, cache, directions, icons, models, widgets
from explorer import direction_figures as dfigs
from explorer import pictures as pics
from explorer.models import Handle
from explorer.sections import decoder, latent_inputs
from explorer.sections.latent_inputs import Picked
from explorer.training_facts import facts_of
from vae.model import interpolate

KINDS = {"linear": "Linear", "spherical": "Spherical (slerp)"}  # short: side by side on a phone
ENDS = {"inputs": "Two inputs", "direction": "A saved direction's ends"}
START, END = "int_start", "int_end"  # the two endpoints' widget keys' prefixes
CLICK_KEY = "int_click_sets"  # which end a click on the map sets
MAX_STEPS = 32


def intro(handle: Handle) -> None:
    st.title(icons.title("interpolate", "Interpolate"))
    st.markdown(
        "Pick two inputs: test images (by number, or by clicking the map), your uploads or drawings, or "
        "points of the map, and walk from one code to the other. The path is drawn on the map, and its "
        "decodes make a strip and an animated GIF. **Linear** goes straight; **spherical** (slerp) bends "
        "around z = 0 and keeps clear of the prior's empty middle, which matters more the more dimensions "
        "z has.")
    if facts_of(handle.served).beta == 0:
        st.caption("This model was trained without a KL term (β = 0): nothing pulled its codes towards the "
                   "prior N(0, I), so the sphere a spherical path keeps to is only z = 0's, not the prior's.")
    directions.from_link(handle)


def endpoints(handle: Handle) -> tuple[Picked, Picked] | None:
    """The path's two ends, or None until both are there."""
    mine = directions.saved(handle)
    offered = list(ENDS) if mine else ["inputs"]
    mode = st.segmented_control("Interpolate between", offered, format_func=ENDS.get, default="inputs",
                                key="int_mode") or "inputs"
    if mode == "direction":
        return direction_ends(handle, mine)
    c1, c2 = st.columns(2, gap="large")
    with c1:
        start = latent_inputs.pick(handle, START, "Start", default_index=0)
        to_decoder(handle, start, START)
    with c2:
        end = latent_inputs.pick(handle, END, "End", default_index=1)
        to_decoder(handle, end, END)
    if start is None or end is None:
        st.info("Both ends need an input: draw or upload the missing one.")
        return None
    return start, end


def to_decoder(handle: Handle, picked: Picked | None, key: str) -> None:
    """A button that opens the Decoder at this input's z (to walk it along a saved direction there)."""
    if picked is None:
        return

    def go() -> None:
        # The Decoder starts from this session's last z on the model when no link or slider says otherwise.
        st.session_state[decoder.Z_KEY] = [float(v) for v in picked.z]
        st.session_state[decoder.MODEL_KEY] = handle.path
        st.session_state["int_go_decoder"] = True

    st.button("Open it on the Decoder", key=f"{key}_to_decoder", on_click=go, icon=icons.PAGES["decoder"])
    if st.session_state.pop("int_go_decoder", False):
        st.switch_page("pages/decoder.py")


def direction_ends(handle: Handle, mine: dict) -> tuple[Picked, Picked]:
    """From mean − k·v to mean + k·v for a saved direction v, about the test set's mean z_mean."""
    c1, c2 = st.columns(2)
    name = c1.selectbox("Direction", list(mine), key="int_dir")
    k = c2.slider("k", 0.5, 4.0, 2.0, 0.25, key="int_dir_k")
    centre = directions.data_mean(handle)
    vector = np.asarray(mine[name]["vector"])
    return (Picked(centre - k * vector, f"the data mean − {k:g} × {name}"),
            Picked(centre + k * vector, f"the data mean + {k:g} × {name}"))


def path_controls() -> tuple[str, int]:
    c1, c2 = st.columns([3, 2])
    kind = c1.segmented_control("Path", list(KINDS), format_func=KINDS.get, default="linear",
                                key="int_kind", help="Linear: the straight line between the two codes. "
                                "Spherical: the great-circle arc about z = 0 between them.") or "linear"
    steps = int(c2.slider("Steps (both ends included)", 2, MAX_STEPS, 10, key="int_steps"))
    return kind, steps


def path_of(start: np.ndarray, end: np.ndarray, kind: str, steps: int) -> np.ndarray:
    return interpolate.path(start, end, steps, kind)


def strip(handle: Handle, ends: tuple[Picked, Picked], kind: str, steps: int) -> np.ndarray:
    """The decoded path as a strip, with its PNG and GIF downloads; returns the path's codes."""
    start, end = ends
    zs = path_of(start.z, end.z, kind, steps)
    frames = cache.decode(handle, zs)
    picture = pics.strip(frames)
    what = f"{kind} path in {steps} steps from {start.what} to {end.what}"
    st.image(pics.inline_png(pics.to_png(picture, 3)), caption=f"The {what}: decoder(z) at each step",
             alt=alt_text.strip(steps, f"decoded images on the {alt_text.plain(what, 160)}"))
    c1, c2, c3 = st.columns(3)
    c1.download_button("Strip (PNG)", lambda: pics.to_png(picture, 4), file_name="interpolation.png",
                       mime="image/png", on_click="ignore", icon=icons.DOWNLOAD, key="int_png")
    bounce = c3.toggle("GIF plays back and forth", value=False, key="int_bounce")
    c2.download_button("Animation (GIF)", lambda: directions.gif_bytes(frames, bounce=bounce),
                       file_name="interpolation.gif", mime="image/gif", on_click="ignore",
                       icon=icons.DOWNLOAD, key="int_gif")
    return zs


def path_map(handle: Handle, zs: np.ndarray) -> None:
    """The path on the map; a click on a dot sets an end that is a test image."""
    fig = dfigs.base_map(handle)
    if fig is None:
        return
    dfigs.add_path(fig, handle, zs)
    st.radio("A click on a dot sets", ["the start", "the end"], horizontal=True, key=CLICK_KEY)

    def on_select() -> None:
        points = ((st.session_state.get("int_map") or {}).get("selection") or {}).get("points") or []
        index = next((i for i in map(widgets.point_test_index, points) if i is not None), None)
        if index is None:
            return
        slot = START if st.session_state.get(CLICK_KEY) == "the start" else END
        st.session_state[f"{slot}_source"] = "test"
        st.session_state[f"{slot}_index"] = index

    st.plotly_chart(fig, key="int_map", on_select=on_select, selection_mode=("points",),
                    config=widgets.plotly_config())
    d = handle.served.latent_dim
    st.caption("The path, one dot per step, on " + {1: "the strip's z0 axis", 2: "z itself"}.get(
        d, f"the plane of the first two principal components: the {d}-D path's shadow, so a spherical path "
           "can look bent or short here") + ".")


# --- Compare: the same two inputs through both models ---

def compare_pair(left: Handle, right: Handle) -> None:
    """Two inputs (test images, uploads or drawings), each model's path between its own codes of them."""
    st.subheader("The same two inputs, interpolated by each model")
    c1, c2 = st.columns(2, gap="large")
    sources = ("test", "upload", "draw")
    with c1:
        start = latent_inputs.pick(left, "cmp_int_start", "Start", sources, default_index=0)
    with c2:
        end = latent_inputs.pick(left, "cmp_int_end", "End", sources, default_index=1)
    if start is None or end is None:
        st.info("Both ends need an input: draw or upload the missing one.")
        return
    kind = st.segmented_control("Path", list(KINDS), format_func=KINDS.get, default="linear",
                                key="cmp_int_kind") or "linear"
    steps = int(st.slider("Steps", 2, MAX_STEPS, 10, key="cmp_int_steps"))
    for side, col, handle in zip(("left", "right"), st.columns(2), (left, right)):
        with col:
            a, b = latent_inputs.for_model(handle, start), latent_inputs.for_model(handle, end)
            name = models.display_name(handle.served)
            if a is None or b is None:
                st.info(f"{name} has no code for this input (its test set or picture is missing here).")
                continue
            frames = cache.decode(handle, path_of(a, b, kind, steps))
            st.image(pics.inline_png(pics.to_png(pics.strip(frames), 2)), caption=name,
                     alt=alt_text.strip(steps, f"{name}'s decodes on the {kind} path from {start.what} to "
                                        f"{end.what}"))
            st.download_button("Animation (GIF)", lambda f=frames: directions.gif_bytes(f),
                               file_name=f"interpolation_{handle.served.path.name}.gif", mime="image/gif",
                               on_click="ignore", icon=icons.DOWNLOAD, key=f"cmp_int_gif_{side}")
    st.caption("Each model walks between its own codes of the two inputs: the same images, two latent "
               "spaces.")
