"""Latent map: every test image's z_mean and z_std, selections decoded, a grid, the replay of training."""

import streamlit as st

from explorer import models
from explorer.sections import latent_map as latent_map_sections
from explorer.sections import replay as replay_sections

handle = models.current()

# The title, what the map shows, and whether the model uses its units.
if not latent_map_sections.intro(handle):
    st.stop()
view = latent_map_sections.choose_view(handle)  # the model's own plane, a strip, PCA, two dims or t-SNE
latent_map_sections.view_notes(view)
box = latent_map_sections.current_box(handle, view)

chart_col, detail_col = st.columns([3, 2], gap="large")
with chart_col:
    latent_map_sections.map_chart(handle, view, box)
with detail_col:
    latent_map_sections.detail(handle, view, box)

latent_map_sections.decoded_grid(handle, view)
latent_map_sections.csv_download(handle)
replay_sections.watch_it_learn(handle)
