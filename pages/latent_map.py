"""Latent map: every test image's z_mean, its z_std to scale, selections decoded, a manifold grid, and the
replay of training."""

import streamlit as st

from explorer import models
from explorer.sections import latent_map as section
from explorer.sections import replay

model = models.current_model()
path = models.current_model_path()

if not section.intro(model):  # the title, what the map shows, and whether the model uses its units
    st.stop()
view = section.choose_view(model, path)  # the model's own plane, a strip, PCA, two dims or t-SNE
section.view_notes(view)
box = section.current_box(path, view)

chart_col, detail_col = st.columns([3, 2], gap="large")
with chart_col:
    section.map_chart(model, path, view, box)
with detail_col:
    section.detail(model, path, view, box)

section.decoded_grid(path, view)
section.csv_download(model, path)
replay.watch_it_learn(models.current_handle())
