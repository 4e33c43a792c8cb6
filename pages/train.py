"""Train: start a VAE training in its own process, watch its losses, stop it, use the result."""

import streamlit as st

from explorer import training
from explorer.sections import train as section

runner = training.runner()
st.title("Train a model")
st.caption(section.INTRO)
section.limits(runner)
section.form(runner)
st.subheader("Jobs")
section.job_list(runner)
