"""Latent map: every test image's z_mean and z_std, selections decoded, a grid, the replay of training."""

import streamlit as st

from explorer import models
from explorer.sections import latent_map as latent_map_sections
from explorer.sections import replay as replay_sections

model = models.current_model()
path = models.current_model_path()

# The title, what the map shows, and whether the model uses its units.
if not latent_map_sections.intro(model):
    st.stop()
view = latent_map_sections.choose_view(model, path)  # the model's own plane, a strip, PCA, two dims or t-SNE
latent_map_sections.view_notes(view)
box = latent_map_sections.current_box(path, view)

chart_col, detail_col = st.columns([3, 2], gap="large")
with chart_col:
    latent_map_sections.map_chart(model, path, view, box)
with detail_col:
    latent_map_sections.detail(model, path, view, box)

latent_map_sections.decoded_grid(path, view)
latent_map_sections.csv_download(model, path)
replay_sections.watch_it_learn(models.current_handle())
