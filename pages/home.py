"""Home: what a latent space is, which model is current (for every page), its card and training curves."""

import streamlit as st

from explorer import models
from explorer.sections import home as section

section.intro()
section.model_picker()
model = models.current_model()
section.current_caption(model)
section.your_model(model)
section.open_by_path()

card_col, curve_col = st.columns([3, 2], gap="large")
with card_col:
    section.card(model)
with curve_col:
    section.training_curves(model)
