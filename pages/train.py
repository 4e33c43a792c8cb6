"""Train: start a VAE training in its own process, watch its losses, stop it, use the result."""

import streamlit as st

from explorer import icons, models, training
from explorer.sections import datasets as datasets_sections
from explorer.sections import train as train_sections

runner = training.runner()
st.title(icons.title("train", "Train a model"))
st.caption(train_sections.INTRO)
train_sections.limits(runner)
train_sections.form(runner)
st.subheader("Your own images")
datasets_sections.section(runner)
st.subheader("Jobs")
train_sections.job_list(runner, models.current())
