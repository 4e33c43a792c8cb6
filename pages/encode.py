"""Encode: upload, photograph or draw an image; see it preprocessed, encoded and placed on the latent map."""

import streamlit as st

from explorer import models
from explorer.sections import encode as encode_sections

handle = models.current()
words = encode_sections.words_for(handle.served)  # a Fashion-MNIST model's page never says "digit"
encode_sections.intro(words)

# Input: an uploaded file, a camera photo or a drawing, preprocessed; nothing below runs until there is one.
source = encode_sections.choose_source(words)
if source == "upload":
    got = encode_sections.from_upload(words, handle.served)
elif source == "camera":
    got = encode_sections.from_camera(words, handle.served)
else:
    got = encode_sections.from_canvas(words, handle.served)

if got is not None:
    pre, name = got
    encode_sections.remember_input(pre, name)  # the How it works page's "your input"
    encode_sections.preprocessing(pre, words, handle.served)  # 1 · file or drawing to the input, the pipeline
    encoding = encode_sections.encode(handle.served, pre.image)
    encode_sections.posterior(encoding)  # 2 · z_mean and z_std, KL per dimension
    samples = encode_sections.sampling(handle, encoding)  # 3 · z = z_mean + z_std · ε, decoded
    elbo = encode_sections.fit(handle, encoding, samples)  # 4 · the negative ELBO
    nbrs = encode_sections.nearest(handle, encoding, words)  # 5 · nearest test images
    encode_sections.landing(handle, encoding, samples, words)  # 6 · where it lands on the map
    encode_sections.downloads(handle, encoding, name, elbo, nbrs, words)
    st.caption("This input is also the “your input” choice on the **How it works** page.")
