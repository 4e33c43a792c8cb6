"""Home: what a latent space is, which model is current (for every page), its card and training curves."""

import streamlit as st

from explorer import models
from explorer.sections import home as home_sections

handle = models.current()
home_sections.intro()
home_sections.model_picker(handle)
home_sections.current_caption(handle)
home_sections.your_model(handle)
home_sections.open_by_path()

card_col, curve_col = st.columns([3, 2], gap="large")
with card_col:
    home_sections.card(handle)
with curve_col:
    home_sections.training_curves(handle)
