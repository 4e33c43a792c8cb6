"""Encode: upload, photograph or draw an image; see it preprocessed, encoded and placed on the latent map."""

import streamlit as st

from explorer import models
from explorer.sections import encode as S

model = models.current_model()
path = models.current_model_path()
words = S.words_for(model)  # a Fashion-MNIST model's page never says "digit"
S.intro(words)

# Input: an uploaded file, a camera photo or a drawing, preprocessed; nothing below runs until there is one.
source = S.choose_source(words)
if source == "upload":
    got = S.from_upload(words)
elif source == "camera":
    got = S.from_camera(words)
else:
    got = S.from_canvas(words, S.is_digits(model))

if got is not None:
    pre, name = got
    S.remember_input(pre, name)  # the How it works page's "your input"
    S.preprocessing(pre, words)  # 1 · file or drawing to 28×28
    encoding = S.encode(model, pre.image)
    S.posterior(encoding)  # 2 · z_mean and z_std, KL per dimension
    samples = S.sampling(model, encoding)  # 3 · z = z_mean + z_std · ε, decoded
    elbo = S.fit(model, encoding, samples)  # 4 · the negative ELBO
    nbrs = S.nearest(model, encoding, words)  # 5 · nearest test images
    S.landing(model, path, encoding, samples, words)  # 6 · where it lands on the map
    S.downloads(model, encoding, name, elbo, nbrs, words)
    st.caption("This input is also the “your input” choice on the **How it works** page.")
