"""The Decoder page's sections: the one place that holds z (link, sliders, live decoder) and what shows z."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import streamlit as st

from explorer import alt_text, cache, icons, models, nouns
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.models import Handle
from explorer.sections import classifier_view
from explorer.sections.live_pad import live_pad
from live_decoder import live_decoder_error

Z_KEY = "dec_z"  # the z this page last showed, and so also what it last wrote to ?z=
MODEL_KEY = "dec_model"  # the model dec_z belongs to
LIVE_KEY = "dec_live_on"  # the page's "Live decoding in the browser" toggle
DIGIT_KEY = "dec_idx"  # the test digit that "Start from digit" goes to
GALLERY_KEY = "dec_gallery"  # the same, picked among the bundle's gallery when the test set is not here


# --- pure computations (no Streamlit): what the holder of z decides ---

def model_tag(path: str, stamp: float) -> str:
    """A short id of one saved version of one bundle."""
    return hashlib.md5(f"{path}|{stamp}".encode()).hexdigest()[:8]


def slider_keys(path: str, stamp: float, latent_dim: int) -> list[str]:
    """The sliders' session_state keys: per model, so switching model never feeds one model's z to
    another's sliders."""
    tag = model_tag(path, stamp)
    return [f"dec_{tag}_z{i}" for i in range(latent_dim)]


def last_z(state: Mapping, path: str, latent_dim: int) -> list[float] | None:
    """This session's last z on this model (dec_z), or None if it has none or it belongs to another model."""
    last = state.get(Z_KEY)
    return last if state.get(MODEL_KEY) == path and last is not None and len(last) == latent_dim else None


def link_z(url_text: str | None, last: list[float] | None, latent_dim: int) -> tuple[bool, np.ndarray | None]:
    """(whether the link's ?z= is someone else's, its z or None if malformed).

    A ?z= this page did not write itself is a shared or edited link, or the browser's Back button (each
    write of ?z= is a history entry). What the page wrote is dec_z, so no second copy of the link is kept
    to tell the two apart.
    """
    external = bool(url_text) and (last is None or url_text != geo.format_z(last))
    return external, geo.parse_z(url_text, latent_dim) if external else None


def slider_columns(latent_dim: int) -> int:
    """How many columns the sliders take: a few dimensions read best one under the other."""
    return 1 if latent_dim <= 2 else 2 if latent_dim <= 8 else 4


def map_caption(n: int, latent_dim: int, inside: bool) -> str:
    """The small map's caption: what its axes are and whether the cross sits where z really is."""
    axes = {1: ", x = z0, y a random jitter that means nothing (z on its centre line)", 2: ", x = z0, y = z1"}
    return (f"Where z is (×): {n:,} test images' z_mean"
            + axes.get(latent_dim, ", on their first two principal components")
            + ("." if inside else " — z is outside the data's range; the × sits on the edge."))


def gallery_options(labels, indices) -> list[int]:
    """The gallery's test-split indices, grouped by label (all the 0s, then the 1s, …), each group in the
    gallery's order."""
    order = sorted(range(len(labels)), key=lambda r: (int(labels[r]), r))
    return [int(indices[r]) for r in order]


# --- the one place that holds z ---

class DecoderZ:
    """The Decoder's z, held in one place: it reads the link's ?z= and the sliders, and it alone writes the
    sliders' keys, dec_z and ?z=. Links, buttons and the live decoder's releases all go through set()."""

    def __init__(self, handle: Handle) -> None:
        model = handle.served
        self.model, self.handle, self.path = model, handle, handle.path
        self.d = model.latent_dim
        self.ref = model.reference
        info = cache.latent_ranges(self.handle)
        self.from_data: bool = info["from_data"]
        self.sliders, self.ranges, self.mean = info["sliders"], info["ranges"], info["mean"]
        self.tag = model_tag(handle.path, handle.stamp)
        self.keys = slider_keys(handle.path, handle.stamp, self.d)

    def set(self, z) -> None:
        """Move the server sliders to z: the one writer of z (links, buttons, the live decoder's releases).

        Called before the sliders exist in the run (a callback, or the top of a full run), as Streamlit
        requires for a widget's key."""
        for key, v in zip(self.keys, geo.clamp(z, self.sliders)):
            st.session_state[key] = float(v)

    def start(self) -> None:
        """Where z comes from on a full run: a link's ?z= that this page did not write itself, else the
        sliders, else this session's last z on this model (Streamlit drops a widget's key once a run leaves
        it out, as every other page does), else the data mean."""
        last = last_z(st.session_state, self.path, self.d)
        url_text = st.query_params.get("z")
        external, url_z = link_z(url_text, last, self.d)
        if external and url_z is None:
            st.warning(f"The link's z is not {self.d} comma-separated numbers; it was ignored.")
        if external and url_z is not None:
            self.set(url_z)
        elif any(k not in st.session_state for k in self.keys):
            self.set(self.mean if last is None else np.asarray(last))
        st.session_state[MODEL_KEY] = self.path

    def reset(self) -> None:
        self.set(self.mean)

    def random(self) -> None:
        self.set(np.random.default_rng().standard_normal(self.d))

    def from_digit(self, index: int | None = None) -> None:
        """z = test digit `index`'s z_mean (by default the one the digit box holds)."""
        self.set(self.ref["z_mean"][int(st.session_state[DIGIT_KEY] if index is None else index)])

    def resend(self) -> np.ndarray:
        """The sliders' z, written back to their keys.

        Tell the browser every slider's value on every run. Without this a slider is sent its value only
        in the run that set it, and a browser whose first session reruns at once (the pixel-ratio report
        in app.py's sidebar) may replace that run's sliders before it has drawn them: the rerun's sliders
        then come without a value, and the browser showed their default, the minimum, beside an image and
        caption of the real z (issue 14, defect 2).
        """
        z = geo.clamp([st.session_state[k] for k in self.keys], self.sliders)
        self.set(z)
        return z

    def publish(self, z: np.ndarray) -> None:
        """Remember the z shown, and put it in the link (so the link keeps the z you chose)."""
        st.session_state[Z_KEY] = z.tolist()
        st.query_params["z"] = geo.format_z(z)

    def label_of(self, i: int) -> str:
        """Test digit i's label as users read it ("" without labels)."""
        labels = None if self.ref is None else self.ref.get("labels")
        return "" if labels is None else models.label_name(self.model, labels[i])


# --- sections: each draws one part of the page ---

def controls(z_holder: DecoderZ) -> None:
    """The buttons: outside the fragment, so a click reruns the whole page with its new z."""
    b1, b2, b3, b4 = st.columns([1, 1.3, 1.2, 1.4], vertical_alignment="bottom")
    b1.button("Reset to the data mean" if z_holder.from_data else "Reset to z = 0", icon=icons.RESET,
              on_click=z_holder.reset, width="stretch")
    b2.button("Random z ~ N(0, I)", icon=icons.RANDOM, on_click=z_holder.random, width="stretch")
    if z_holder.ref is None:
        return
    # Without the test set on this machine, any index would be picked blind: offer the gallery's real digits.
    offline = cache.reference_images(z_holder.handle) is None
    gallery = cache.gallery(z_holder.handle) if offline else None
    idx = digit_by_index(z_holder, b3) if gallery is None else gallery_digit(z_holder, gallery, b3)
    noun = nouns.noun(z_holder.model)
    b4.button(f"Start from {noun} #{idx} ({z_holder.label_of(idx)})", on_click=z_holder.from_digit,
              args=(idx,), width="stretch")


def digit_by_index(z_holder: DecoderZ, container) -> int:
    """Any test digit, by its index in the test split."""
    n = len(z_holder.ref["z_mean"])
    if DIGIT_KEY not in st.session_state:
        # Start from the image last picked on the Latent map, if any.
        st.session_state[DIGIT_KEY] = min(int(st.session_state.get("sel_index") or 0), n - 1)
    container.number_input(f"Test {nouns.noun(z_holder.model)} (0–{n - 1})", min_value=0, max_value=n - 1,
                           step=1, key=DIGIT_KEY)
    return int(st.session_state[DIGIT_KEY])


def gallery_digit(z_holder: DecoderZ, gallery: dict, container) -> int:
    """One of the bundle's gallery of real test digits, named by its label and index in the test split."""
    options = gallery_options(gallery["labels"], gallery["indices"])
    picked = st.session_state.get(GALLERY_KEY, st.session_state.get("sel_index"))
    # This session's pick, else the Latent map's if it is in the gallery, else the first 0.
    st.session_state[GALLERY_KEY] = picked if picked in options else options[0]
    label = f"Real test {nouns.noun(z_holder.model)} (this model's gallery)"
    return int(container.selectbox(label, options, key=GALLERY_KEY,
                                   format_func=lambda i: f"a {z_holder.label_of(i)} (#{i})"))


def live(z_holder: DecoderZ, z: np.ndarray, strip: dict | None = None) -> None:
    """The decoder running in the browser, if switched on: sliders and a latent pad decode on every drag.

    Only a released z comes back; its callback moves the server sliders (and the link) before the
    fragment's rerun draws them. Re-sending the component is cheap: the browser keeps its iframe and
    decoder session (same key, same model) and only applies the new z.
    """
    if not st.session_state.get(LIVE_KEY, True):
        return
    error = live_pad(z_holder.handle, z, z_holder.sliders, f"dec_live_{z_holder.tag}", z_holder.set, strip)
    if error:
        st.warning(f"Your browser could not run the decoder ({error}); the server decodes instead, "
                   "after each slider release.")


def server_image_shown(z_holder: DecoderZ) -> bool:
    """Whether the page shows the server's decode of z: only when the in-browser decoder is off or could not
    run, so that one image shows while you drag, never the browser's and the server's one after the other."""
    return not st.session_state.get(LIVE_KEY, True) or bool(live_decoder_error(f"dec_live_{z_holder.tag}"))


def sliders(z_holder: DecoderZ) -> None:
    """One server slider per latent dimension; their keys hold z."""
    n_cols = slider_columns(z_holder.d)
    cols = st.columns(n_cols)
    for i, key in enumerate(z_holder.keys):
        lo, hi = map(float, z_holder.sliders[i])
        cols[i % n_cols].slider(f"z{i}", min_value=lo, max_value=hi, step=(hi - lo) / 200,
                                key=key, format="%.2f")


def decoded(z_holder: DecoderZ, z: np.ndarray) -> None:
    """decoder(z) as the server draws it (where the browser does not), z as numbers, its PNG, and where z
    lies on the small map. While the browser decodes, the server decodes only if the PNG is asked for."""
    h, w = z_holder.model.image_shape[:2]
    scale = max(1, 280 // w)  # about 280 px wide whatever the size: 10× for 28×28, 8× for 32×32, 4× for 64×64
    png = lambda: pics.to_png(z_holder.model.decode(z[None])[0], scale=scale)  # noqa: E731
    if server_image_shown(z_holder):
        # Inline (a data: URL in the fragment's message): the new image shows without one more request.
        image = z_holder.model.decode(z[None])[0]  # decoded once: the picture, its PNG and its probabilities
        shown = pics.to_png(image, scale=scale)
        png = lambda: shown  # noqa: E731
        st.image(pics.inline_png(shown), width=w * scale, caption=f"decoder(z), {h}×{w} shown at {scale}×",
                 alt=alt_text.decoded(z))
        classifier_view.probabilities(z_holder.handle, image)
    elif z_holder.model.classifier is None:  # (else the browser shows the probabilities while you drag)
        classifier_view.none_note(z_holder.handle)
    st.caption("z = (" + ", ".join(f"{v:.2f}" for v in z) + ")")
    st.download_button("Decoded image (PNG)", png, file_name="decoded.png", mime="image/png",
                       on_click="ignore", icon=icons.DOWNLOAD)
    small_map(z_holder, z)


def small_map(z_holder: DecoderZ, z: np.ndarray) -> None:
    """The current z as a cross on a picture of the test set's z_means (PCA plane > 2-D, strip for 1-D)."""
    m = cache.map_thumbnail(z_holder.handle)
    if m is None:
        st.info("No reference encodings in this bundle: no map to show where z lies.")
        return
    here = z if m["pca"] is None else geo.pca_project(z, m["pca"]["components"], m["pca"]["mean"])[0]
    marked = pics.mark_thumbnail(m["thumb"], here, m["x_range"], m["y_range"])
    inside = m["x_range"][0] <= here[0] <= m["x_range"][1] and m["y_range"][0] <= here[1] <= m["y_range"][1]
    st.image(pics.inline_png(marked), width=300,
             alt=f"map of {m['n']:,} test images' z_mean with a cross where z = {alt_text.point(z)} lies"
                 + ("" if inside else ", on the map's edge: z is outside the data's range"))
    st.caption(map_caption(m["n"], z_holder.d, inside))


def traversal(z_holder: DecoderZ, z: np.ndarray) -> None:
    """One dimension swept across the data's range, the others held at z."""
    c1, c2 = st.columns(2)
    dim = c1.selectbox("Dimension", range(z_holder.d), format_func=lambda i: f"z{i}", key="dec_trav_dim")
    steps = c2.number_input("Steps", min_value=3, max_value=21, value=11, key="dec_trav_steps")
    lo, hi = z_holder.ranges[dim]
    strip = pics.strip(z_holder.model.decode(geo.traversal_z(z, dim, lo, hi, int(steps))))
    st.image(pics.inline_png(pics.to_png(strip, 3)),
             caption=f"z{dim} from {lo:.2f} to {hi:.2f} (the data's range); "
                     "the other dimensions stay at the current z",
             alt=alt_text.strip(int(steps), f"decoded images with z{dim} going from {alt_text.number(lo)} to "
                                f"{alt_text.number(hi)}, the other dimensions of z = {alt_text.point(z)}"))
    # Deferred: the 4x PNG is made when clicked, not on every slider move.
    st.download_button("Traversal strip (PNG)", lambda: pics.to_png(strip, 4),
                       file_name=f"traversal_z{dim}.png", mime="image/png", on_click="ignore",
                       icon=icons.DOWNLOAD)


def interpolation(z_holder: DecoderZ) -> None:
    """The straight line between two test digits' z_means, decoded."""
    ref, noun = z_holder.ref, nouns.noun(z_holder.model)
    if ref is None:
        st.info(f"This model stores no reference encodings of test {noun}s to interpolate between.")
        return
    n = len(ref["z_mean"])
    c1, c2, c3 = st.columns(3)
    a = int(c1.number_input(f"From test {noun}", 0, n - 1, 0, key="dec_int_a"))
    b = int(c2.number_input(f"To test {noun}", 0, n - 1, 1, key="dec_int_b"))
    steps = int(c3.number_input("Steps", 3, 21, 10, key="dec_int_steps"))
    zs = geo.interpolation_z(ref["z_mean"][a], ref["z_mean"][b], steps)
    strip = pics.strip(cache.decode(z_holder.handle, zs))
    st.image(pics.inline_png(pics.to_png(strip, 3)),
             caption=f"straight line from z_mean of #{a} ({z_holder.label_of(a)}) "
                     f"to #{b} ({z_holder.label_of(b)})",
             alt=alt_text.strip(steps, f"decoded images on the straight line from the z_mean of test {noun} "
                                f"#{a} ({z_holder.label_of(a)}) to that of #{b} ({z_holder.label_of(b)})"))
    st.download_button("Interpolation strip (PNG)", lambda: pics.to_png(strip, 4),
                       file_name=f"interpolation_{a}_{b}.png", mime="image/png", on_click="ignore",
                       icon=icons.DOWNLOAD)
