"""Import: make your own Keras VAE (or a preset's weights) a model of this app, checked in its own process."""

import streamlit as st

from explorer import icons, training
from explorer.sections import import_model as import_model_sections

runner = training.runner()
st.title(icons.title("import_model", "Import your own model"))
import_model_sections.intro(runner)
import_model_sections.form(runner)
st.subheader("Imports")
import_model_sections.job_list(runner)
