"""Home: what a latent space is, which model is current (for every page), its card and training curves."""

import re
from pathlib import Path

import streamlit as st

from explorer import models
from explorer.figures import history_figure

st.title("🧭 Latent Explorer")
st.markdown(
    "A variational autoencoder (VAE) squeezes each image into a few numbers, its **latent code z**, "
    "and learns a decoder that turns any such z back into an image. "
    "The encoder does not give one point but a small Gaussian cloud per image: a centre **z_mean** and "
    "a spread **z_std**, and training keeps these clouds close to a standard normal N(0, I). "
    "So the latent space becomes a smooth map where nearby points decode to similar images — "
    "explore it on **Latent map** and **Decoder**."
)

st.subheader("Model")
choices = models.model_choices()
current = models.current_model_path()
labels = list(choices)
if current not in choices.values():  # a bundle directory typed in earlier
    labels.append(f"{Path(current).name} ({current})")
    choices[labels[-1]] = current
# The selectbox always shows the current model (it may have come from the URL or a typed directory).
st.session_state["home_model"] = next(lab for lab in labels if choices[lab] == current)


def _pick() -> None:
    models.set_current_model(choices[st.session_state["home_model"]])


# A callback runs before the script, so the sidebar already shows the new model on this rerun.
st.selectbox("Model for every page", labels, key="home_model", on_change=_pick,
             help="Shipped bundles, bundles you trained or imported in the app, or a directory below.")


def _use_dir() -> None:
    try:
        path = models.check_model_dir(st.session_state.get("home_dir") or "")
    except ValueError as exc:
        st.session_state["home_dir_error"] = str(exc)
        return
    st.session_state.pop("home_dir_error", None)
    models.set_current_model(path)


with st.expander("Load a bundle directory"):
    st.text_input("Bundle directory (absolute, or relative to the project)", key="home_dir",
                  placeholder="models/mnist-16d")
    st.button("Use this bundle", on_click=_use_dir)
    if st.session_state.get("home_dir_error"):
        st.error(st.session_state["home_dir_error"])

model = models.current_model()
link = models.shareable_path(models.current_model_path())
st.caption(f"Current: `{link}` — latent_dim {model.latent_dim}. "
           "The choice holds on every page and is part of the page's link (`?model=`).")

card_col, curve_col = st.columns([3, 2], gap="large")
with card_col:
    # The card's headings, two levels down so they sit under this page's title.
    st.markdown(re.sub(r"^(#{1,4}) ", r"##\1 ", model.card_markdown, flags=re.M))
    if model.reference is None:
        st.info("This bundle stores no reference encodings of the test split, so the latent map "
                "cannot be drawn; the Decoder still works (slider ranges then come from the prior).")
with curve_col:
    st.markdown("#### Training curves")
    figs = [history_figure(model.history or {}, m, t) for m, t in
            (("loss", "Negative ELBO (loss)"), ("reconstruction_loss", "Reconstruction"), ("kl_loss", "KL"))]
    figs = [f for f in figs if f is not None]
    if not figs:
        st.info("This bundle has no training history.")
    for fig in figs:
        st.plotly_chart(fig, key=None)
    if figs and len((model.history or {}).get("loss", [])) == 1:
        st.caption("Trained for a single epoch: each curve is one point.")
