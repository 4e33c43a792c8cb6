"""Decoder: set z with one slider per latent dimension and see what the decoder draws there."""

import streamlit as st

from explorer import icons, models, nouns
from explorer.sections import decoder as decoder_sections
from explorer.sections import decoder_direction as direction_sections

# The one place that holds z: the link's ?z=, the sliders' keys, dec_z; buttons and live releases go
# through it.
z_holder = decoder_sections.DecoderZ(models.current())

st.title(icons.title("decoder", "Decoder"))
st.markdown(
    "Every point z of the latent space is an image: the decoder turns it into pixels. Move the sliders "
    "(one per latent dimension) and watch the image change; this page's link keeps the z you chose."
)
if not z_holder.from_data:
    st.info("This model stores no reference encodings, so slider ranges are ±3 (the prior N(0, I)), "
            f"'reset' goes to z = 0 and there is no map or test {nouns.noun(z_holder.model)} to start from.")

z_holder.start()  # from the link, else the sliders, else this session's last z, else the data mean
st.toggle("Live decoding in the browser (the image follows while you drag)", value=True,
          key=decoder_sections.LIVE_KEY)
decoder_sections.controls(z_holder)  # outside the fragment: a click reruns the whole page with its new z
direction_sections.controls(z_holder)  # add k × a saved direction (issue 28), outside the fragment too


@st.fragment
def panel() -> None:
    """Everything that shows z: the in-browser decoder, the server sliders, image, map and strips.

    A slider change reruns only this, and the live decoder is part of it so that it is sent the new z
    too (the page never shows two z).
    """
    z = z_holder.resend()  # every run re-sends the sliders' values (issue 14, defect 2)
    decoder_sections.live(z_holder, z, direction_sections.live_strip(z_holder))  # with the strip along it
    ctrl, view = st.columns([3, 2], gap="large")
    with ctrl:
        decoder_sections.sliders(z_holder)
    z_holder.publish(z)
    with view:
        decoder_sections.decoded(z_holder, z)
    direction_sections.strip(z_holder, z)  # z − k·v … z + k·v, where the browser does not draw it
    st.divider()
    t_tab, i_tab = st.tabs(["Traversal along one dimension",
                            f"Interpolation between two test {nouns.things(z_holder.model)}"])
    with t_tab:
        decoder_sections.traversal(z_holder, z)
    with i_tab:
        decoder_sections.interpolation(z_holder)


panel()
