"""Latent Explorer: the Streamlit entry point; declares the pages and the shared sidebar."""

import streamlit as st

import app_services as svc

st.set_page_config(page_title="Latent Explorer", page_icon="🧭", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/latent_map.py", title="Latent map", icon="🗺️"),
    st.Page("pages/decoder.py", title="Decoder", icon="🎛️"),
    st.Page("pages/encode.py", title="Encode", icon="✍️"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/how_it_works.py", title="How it works", icon="💡"),
]
nav = st.navigation(pages)
model = svc.current_model()
st.sidebar.caption(f"Model: **{model.name}** — latent_dim {model.latent_dim}")
nav.run()
