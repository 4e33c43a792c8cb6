"""Decoder: set z with one slider per latent dimension and see what the decoder draws there."""

import streamlit as st

from explorer.sections import decoder as sections

# The one owner of z: the link's ?z=, the sliders' keys, dec_z; buttons and live releases go through it.
owner = sections.DecoderZ.current()

st.title("🎛️ Decoder")
st.markdown(
    "Every point z of the latent space is an image: the decoder turns it into pixels. Move the sliders "
    "(one per latent dimension) and watch the image change; this page's link keeps the z you chose."
)
if not owner.from_data:
    st.info("This model stores no reference encodings, so slider ranges are ±3 (the prior N(0, I)), "
            "'reset' goes to z = 0 and there is no map or test digit to start from.")

owner.start()  # from the link, else the sliders, else this session's last z, else the data mean
st.toggle("Live decoding in the browser (the image follows while you drag)", value=True,
          key=sections.LIVE_KEY)
sections.controls(owner)  # outside the fragment: a click reruns the whole page with its new z


@st.fragment
def panel() -> None:
    """Everything that shows z: the in-browser decoder, the server sliders, image, map and strips.

    A slider change reruns only this, and the live decoder is part of it so that it is sent the new z
    too (the page never shows two z).
    """
    z = owner.resend()  # every run re-sends the sliders' values (issue 14, defect 2)
    sections.live(owner, z)
    ctrl, view = st.columns([3, 2], gap="large")
    with ctrl:
        sections.sliders(owner)
    owner.publish(z)
    with view:
        sections.decoded(owner, z)
    st.divider()
    t_tab, i_tab = st.tabs(["Traversal along one dimension", "Interpolation between two test digits"])
    with t_tab:
        sections.traversal(owner, z)
    with i_tab:
        sections.interpolation(owner)


panel()
