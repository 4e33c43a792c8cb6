"""Import: make your own Keras VAE (or a preset's weights) a model of this app, checked in its own process."""

import streamlit as st

from explorer import training
from explorer.sections import import_model as section

runner = training.runner()
st.title("Import your own model")
section.intro(runner)
section.form(runner)
st.subheader("Imports")
section.job_list(runner)
