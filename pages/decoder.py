"""Decoder: set z with one slider per latent dimension and see what the decoder draws there."""

import hashlib

import numpy as np
import streamlit as st

from explorer import cache, models
from explorer import geometry as geo
from explorer import pictures as pics
from live_decoder import live_decoder, live_decoder_error

model = models.current_model()
path = models.current_model_path()
stamp = models.stamp(path)
d = model.latent_dim
ref = model.reference
info = cache.latent_ranges(path, stamp)
SLIDERS, RANGES, MEAN = info["sliders"], info["ranges"], info["mean"]
# Slider keys are per model, so switching model never feeds one model's z to another's sliders.
mid = hashlib.md5(f"{path}|{stamp}".encode()).hexdigest()[:8]
KEYS = [f"dec_{mid}_z{i}" for i in range(d)]


def set_z(z) -> None:
    """Move the server sliders to z: the one writer of z (links, buttons, the live decoder's releases).

    Called before the sliders exist in the run (a callback, or the top of a full run), as Streamlit
    requires for a widget's key."""
    for key, v in zip(KEYS, geo.clamp(z, SLIDERS)):
        st.session_state[key] = float(v)


def label_of(i: int) -> str:
    return "" if ref is None or ref.get("labels") is None else models.label_name(model, ref["labels"][i])


st.title("🎛️ Decoder")
st.markdown(
    "Every point z of the latent space is an image: the decoder turns it into pixels. Move the sliders "
    "(one per latent dimension) and watch the image change; this page's link keeps the z you chose."
)
if not info["from_data"]:
    st.info("This model stores no reference encodings, so slider ranges are ±3 (the prior N(0, I)), "
            "'reset' goes to z = 0 and there is no map or test digit to start from.")

# Where z comes from on a full run: a link's ?z= that this page did not write itself (a shared or
# edited link, or the browser's Back button: each write of ?z= is a history entry), else the sliders,
# else this session's last z on this model (Streamlit drops a widget's key once a run leaves it out, as
# every other page does), else the data mean. dec_z is also what this page last wrote to ?z=, so no
# second copy of the link is kept to tell the page's own ?z= from someone else's.
last = st.session_state.get("dec_z")
last = last if st.session_state.get("dec_model") == path and last is not None and len(last) == d else None
url_text = st.query_params.get("z")
url_z = geo.parse_z(url_text, d)
external = bool(url_text) and (last is None or url_text != geo.format_z(last))
if external and url_z is None:
    st.warning(f"The link's z is not {d} comma-separated numbers; it was ignored.")
if external and url_z is not None:
    set_z(url_z)
elif any(k not in st.session_state for k in KEYS):
    set_z(MEAN if last is None else np.asarray(last))
st.session_state["dec_model"] = path


def _reset() -> None:
    set_z(MEAN)


def _random() -> None:
    set_z(np.random.default_rng().standard_normal(d))


def _from_digit() -> None:
    set_z(ref["z_mean"][int(st.session_state["dec_idx"])])


st.toggle("Live decoding in the browser (the image follows while you drag)", value=True, key="dec_live_on")


def controls() -> None:
    """The buttons: outside the fragment, so a click reruns the whole page with its new z."""
    b1, b2, b3, b4 = st.columns([1, 1.3, 1.2, 1.4], vertical_alignment="bottom")
    b1.button("↺ Reset to the data mean" if info["from_data"] else "↺ Reset to z = 0",
              on_click=_reset, width="stretch")
    b2.button("🎲 Random z ~ N(0, I)", on_click=_random, width="stretch")
    if ref is not None:
        n = len(ref["z_mean"])
        if "dec_idx" not in st.session_state:
            # Start from the image last picked on the Latent map, if any.
            st.session_state["dec_idx"] = min(int(st.session_state.get("sel_index") or 0), n - 1)
        b3.number_input(f"Test digit (0–{n - 1})", min_value=0, max_value=n - 1, step=1, key="dec_idx")
        idx = int(st.session_state["dec_idx"])
        b4.button(f"Start from digit #{idx} ({label_of(idx)})", on_click=_from_digit, width="stretch")


@st.fragment
def panel() -> None:
    """Everything that shows z: the in-browser decoder, the server sliders, image, map and strips.

    A slider change reruns only this, and the live decoder is part of it so that it is sent the new z
    too (the page never shows two z); re-sending the component is cheap, as the browser keeps its
    iframe and decoder session (same key, same model) and only applies the new z.
    """
    z = geo.clamp([st.session_state[k] for k in KEYS], SLIDERS)
    # Tell the browser every slider's value on every run. Without this a slider is sent its value only
    # in the run that set it, and a browser whose first session reruns at once (the pixel-ratio
    # report in app.py's sidebar) may replace that run's sliders before it has drawn them: the rerun's
    # sliders then come without a value, and the browser showed their default, the minimum, beside an
    # image and caption of the real z (issue 14, defect 2).
    set_z(z)
    if st.session_state.get("dec_live_on", True):
        live_panel(z)
        st.markdown("**Server-side decode** — the same decoder run by the server; it follows every release "
                    "above, and is what you use if your browser cannot run the model.")
    ctrl, view = st.columns([3, 2], gap="large")
    with ctrl:
        n_cols = 1 if d <= 2 else 2 if d <= 8 else 4
        cols = st.columns(n_cols)
        for i, key in enumerate(KEYS):
            lo, hi = map(float, SLIDERS[i])
            cols[i % n_cols].slider(f"z{i}", min_value=lo, max_value=hi, step=(hi - lo) / 200,
                                    key=key, format="%.2f")
    image = model.decode(z[None])[0]
    png = pics.to_png(image, scale=10)
    st.session_state["dec_z"] = z.tolist()
    st.query_params["z"] = geo.format_z(z)

    with view:
        # Inline (a data: URL in the fragment's message): the new image shows without one more request.
        st.image(pics.inline_png(png), width=280, caption="decoder(z), 28×28 shown at 10×")
        st.caption("z = (" + ", ".join(f"{v:.2f}" for v in z) + ")")
        st.download_button("⬇ Decoded image (PNG)", png, file_name="decoded.png", mime="image/png",
                           on_click="ignore")
        small_map(z)

    st.divider()
    t_tab, i_tab = st.tabs(["Traversal along one dimension", "Interpolation between two test digits"])
    with t_tab:
        c1, c2 = st.columns(2)
        dim = c1.selectbox("Dimension", range(d), format_func=lambda i: f"z{i}", key="dec_trav_dim")
        steps = c2.number_input("Steps", min_value=3, max_value=21, value=11, key="dec_trav_steps")
        lo, hi = RANGES[dim]
        strip = pics.strip(model.decode(geo.traversal_z(z, dim, lo, hi, int(steps))))
        st.image(pics.inline_png(pics.to_png(strip, 3)),
                 caption=f"z{dim} from {lo:.2f} to {hi:.2f} (the data's range); "
                         "the other dimensions stay at the current z")
        st.download_button("⬇ Traversal strip (PNG)", pics.to_png(strip, 4),
                           file_name=f"traversal_z{dim}.png", mime="image/png", on_click="ignore")
    with i_tab:
        if ref is None:
            st.info("This model stores no reference encodings of test digits to interpolate between.")
        else:
            n = len(ref["z_mean"])
            c1, c2, c3 = st.columns(3)
            a = int(c1.number_input("From test digit", 0, n - 1, 0, key="dec_int_a"))
            b = int(c2.number_input("To test digit", 0, n - 1, 1, key="dec_int_b"))
            steps = int(c3.number_input("Steps", 3, 21, 10, key="dec_int_steps"))
            zs = geo.interpolation_z(ref["z_mean"][a], ref["z_mean"][b], steps)
            strip = pics.strip(cache.decode(path, stamp, zs))
            st.image(pics.inline_png(pics.to_png(strip, 3)),
                     caption=f"straight line from z_mean of #{a} ({label_of(a)}) to #{b} ({label_of(b)})")
            st.download_button("⬇ Interpolation strip (PNG)", pics.to_png(strip, 4),
                               file_name=f"interpolation_{a}_{b}.png", mime="image/png", on_click="ignore")


def live_panel(z: np.ndarray) -> None:
    """The decoder running in the browser: sliders and a latent pad decode on every drag event.

    Only a released z comes back; its callback moves the server sliders (and the link) before this
    fragment's rerun draws them.
    """
    points, labels, plane = cache.live_decoder_inputs(model, path, stamp)
    key = f"dec_live_{mid}"
    live_decoder(cache.decoder_bytes(path, stamp), d, z.tolist(), [tuple(r) for r in SLIDERS],
                 points, labels, key=key, plane=plane, on_release=set_z)
    error = live_decoder_error(key)
    if error:
        st.warning(f"Your browser could not run the decoder ({error}); the server decodes instead, "
                   "after each slider release.")


def small_map(z: np.ndarray) -> None:
    """The current z as a cross on a picture of the test set's z_means (PCA plane > 2-D, strip for 1-D)."""
    m = cache.map_thumbnail(path, stamp)
    if m is None:
        st.info("No reference encodings in this bundle: no map to show where z lies.")
        return
    here = z if m["pca"] is None else geo.pca_project(z, m["pca"]["components"], m["pca"]["mean"])[0]
    marked = pics.mark_thumbnail(m["thumb"], here, m["x_range"], m["y_range"])
    st.image(pics.inline_png(marked), width=300)
    inside = m["x_range"][0] <= here[0] <= m["x_range"][1] and m["y_range"][0] <= here[1] <= m["y_range"][1]
    axes = {1: ", x = z0, y a random jitter that means nothing (z on its centre line)", 2: ", x = z0, y = z1"}
    st.caption(f"Where z is (×): {m['n']:,} test images' z_mean"
               + axes.get(d, ", on their first two principal components")
               + ("." if inside else " — z is outside the data's range; the × sits on the edge."))


controls()
panel()
