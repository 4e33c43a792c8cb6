"""The Decoder's "add k × direction" control: move z along a saved direction, and the strip of decodes from
z − k·v to z + k·v (drawn live by the in-browser decoder, else by the server)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import alt_text, cache, directions, icons
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.sections.decoder import DecoderZ, server_image_shown
from vae.model.directions import along

DIR_KEY = "dec_dir"  # the saved direction picked
K_KEY = "dec_dir_k"
STEPS_KEY = "dec_dir_steps"


def chosen(z_holder: DecoderZ) -> tuple[str, np.ndarray, float, int] | None:
    """(name, vector, k, steps) of the direction picked, or None (none saved on this model)."""
    mine = directions.saved(z_holder.handle)
    name = st.session_state.get(DIR_KEY)
    if name not in mine:
        return None
    return (name, np.asarray(mine[name]["vector"], np.float64), float(st.session_state.get(K_KEY, 1.0)),
            int(st.session_state.get(STEPS_KEY, 7)))


def controls(z_holder: DecoderZ) -> None:
    """Pick a saved direction, k and the strip's steps; buttons add or subtract k × direction to z (outside
    the fragment, like the page's other buttons: a click reruns the page with its new z)."""
    mine = directions.from_link(z_holder.handle)
    if not mine:
        st.caption("No saved direction on this model yet: make one on the **Directions** page (a “slant”, "
                   "say) to walk z along it here.")
        return
    directions.publish(z_holder.handle)  # this page's link carries them too
    if st.session_state.get(DIR_KEY) not in mine:
        st.session_state[DIR_KEY] = next(iter(mine))
    c1, c2, c3, c4, c5 = st.columns([1.4, 1.4, 1, 1.2, 1.2], vertical_alignment="bottom")
    name = c1.selectbox("Direction", list(mine), key=DIR_KEY)
    c2.slider("k", 0.25, 4.0, 1.0, 0.25, key=K_KEY, help=f"k = 1 moves {mine[name]['unit']}.")
    c3.number_input("Strip steps", 3, 15, 7, step=2, key=STEPS_KEY)
    vector = np.asarray(mine[name]["vector"], np.float64)

    def move(sign: float) -> None:
        z = geo.clamp([st.session_state[key] for key in z_holder.keys], z_holder.sliders)
        z_holder.set(z + sign * float(st.session_state[K_KEY]) * vector)

    c4.button(f"Add k × {name}", icon=":material/add:", on_click=move, args=(1.0,), key="dec_dir_add",
              width="stretch")
    c5.button(f"Subtract k × {name}", icon=":material/remove:", on_click=move, args=(-1.0,),
              key="dec_dir_sub", width="stretch")


def live_strip(z_holder: DecoderZ) -> dict | None:
    """The strip the in-browser decoder draws under its image (live_decoder's `strip`), or None."""
    got = chosen(z_holder)
    if got is None:
        return None
    name, vector, k, steps = got
    return {"vector": vector.tolist(), "k": k, "steps": steps, "name": name}


def strip(z_holder: DecoderZ, z: np.ndarray) -> None:
    """The decodes from z − k·v to z + k·v: drawn by the server where the browser does not draw them, and
    offered as a PNG."""
    got = chosen(z_holder)
    if got is None:
        return
    name, vector, k, steps = got
    zs = along(z, vector, k, steps)
    what = (f"decoded images from z − {alt_text.number(k)} × {name} to z + {alt_text.number(k)} × {name}, "
            f"z = {alt_text.point(z)}")
    picture = lambda: pics.strip(cache.decode(z_holder.handle, zs))  # noqa: E731  (only when shown or asked)
    if server_image_shown(z_holder):
        st.image(pics.inline_png(pics.to_png(picture(), 2)),
                 caption=f"z − {k:g} × {name} … z + {k:g} × {name} ({steps} steps)",
                 alt=alt_text.strip(steps, what))
    st.download_button(f"Strip along {name} (PNG)", lambda: pics.to_png(picture(), 4),
                       file_name=f"direction_{name.replace(' ', '_')}.png", mime="image/png",
                       on_click="ignore", icon=icons.DOWNLOAD, key="dec_dir_png")
