"""Home's sections: what a latent space is, the model picker (by id), the model's card and training curves."""

from __future__ import annotations

import re

import streamlit as st

from explorer import cache, icons, models, text, visitors
from explorer.models import Handle
from explorer.training_facts import facts_of, loss_sentence

INTRO = ("A variational autoencoder (VAE) squeezes each image into a few numbers, its **latent code z**, "
         "and learns a decoder that turns any such z back into an image. "
         "The encoder does not give one point but a small Gaussian cloud per image: a centre **z_mean** and "
         "a spread **z_std**, and the KL term of its loss, reconstruction + β·KL, pulls these clouds towards "
         "a standard normal N(0, I), as hard as its weight β says. "
         "So the latent space becomes a smooth map where nearby points decode to similar images — "
         "explore it on **Latent map** and **Decoder**.")
CURVES = (("loss", "Negative ELBO"), ("reconstruction_loss", "Reconstruction"), ("kl_loss", "KL"))


def curve_title(metric: str, title: str, beta: float) -> str:
    """A training curve's title; the history's "loss" is the negative ELBO, the loss itself only at β = 1."""
    if metric != "loss":
        return title
    # Short enough for a third of the page's width (a longer one was cut off at 1400 px); the caption above
    # the charts states the loss in full.
    return f"{title} (the loss, β = 1)" if beta == 1 else f"{title} (trained on rec. + {beta:g}·KL)"


def intro() -> None:
    st.title(f"{icons.APP} Latent Explorer")
    st.markdown(INTRO)


def model_picker(handle: Handle) -> None:
    """One model for every page, picked by id among the shipped ones and the visitor's."""
    st.subheader("Model")
    choices = models.model_choices()  # label -> id
    current = handle.id
    labels = list(choices)
    if current not in choices.values():  # a model the server chose that is not listed (none today)
        labels.append(current or "(this session's model)")
        choices[labels[-1]] = current
    # The selectbox always shows the current model (it may have come from the link or a finished job).
    st.session_state["home_model"] = next(lab for lab in labels if choices[lab] == current)
    # A callback runs before the script, so the sidebar already shows the new model on this rerun.
    st.selectbox("Model for every page", labels, key="home_model",
                 on_change=lambda: models.choose_model(choices[st.session_state["home_model"]]),
                 help="The shipped models, and those you trained in the app (Train page).")


def current_caption(handle: Handle) -> None:
    model, link = handle.served, handle.id
    where = f"`{link}`" if link else "a folder opened by path"
    st.caption(f"Current: {where} — latent_dim {model.latent_dim}. The choice holds on every page and is "
               "part of the page's link (`?model=`).")
    st.caption(loss_sentence(facts_of(model)))


def your_model(handle: Handle) -> None:
    """The visitor's own current model: share it with the class, or delete it; a classmate's is named so."""
    model, entry = handle.served, handle.entry
    if entry is None or entry.owner is None:
        return
    if entry.owner != visitors.owner():
        st.caption("A classmate shared this model with the class: you can explore it, not change it.")
        return
    share, delete, usage = st.columns([2, 1, 3], vertical_alignment="center")
    signed = visitors.can_act()  # class mode: sharing is for signed-in users (a model from before is kept)
    published = entry.published  # a teacher's share: withdrawn by a teacher only
    share.toggle("Share with the class", value=entry.shared, key=f"share-{entry.id}",
                 disabled=not signed or published,
                 on_change=lambda: models.share(model.path, st.session_state[f"share-{entry.id}"]),
                 help="Your teacher published it to the class." if published else
                 "Shared, it is listed for everyone on this server; only you can change or delete it."
                 if signed else "Sign in to share a model with the class.")
    with delete.popover("Delete…"):
        st.write("Delete this model for good? Pages that show it switch to the default model.")
        if st.button("Delete", type="primary", key=f"delete-{entry.id}"):
            models.delete(model.path)
            st.rerun(scope="app")
    usage.caption(models.usage_text())


def open_by_path() -> None:
    """Open a bundle folder by its path: only where the operator allows it (VAE_ALLOW_BUNDLE_PATHS=1), for
    one person running the app on their own machine; on a shared server a path would reach its files."""
    if not models.paths_allowed():
        return
    with st.expander("Open a bundle folder on this machine"):
        folder = st.text_input("Bundle folder", placeholder="/path/to/my-bundle", key="open_path")
        if st.button("Open", key="open_path_button") and folder:
            problem = models.open_path(folder)
            if problem:
                st.error(problem)
            else:
                st.rerun(scope="app")


def card(handle: Handle) -> None:
    """The model card, its headings two levels down so they sit under this page's title."""
    model = handle.served
    markdown = text.narrow_tables(models.card_markdown(handle.path, handle))
    st.markdown(re.sub(r"^(#{1,4}) ", r"##\1 ", markdown, flags=re.M))
    if model.reference is None:
        st.info("This bundle stores no reference encodings of the test split, so the latent map "
                "cannot be drawn; the Decoder still works (slider ranges then come from the prior).")


def training_curves(handle: Handle) -> None:
    model = handle.served
    st.markdown("#### Training curves")
    beta = facts_of(model).beta
    figs = cache.history_figures(handle, tuple((m, curve_title(m, t, beta)) for m, t in CURVES))
    if not figs:
        st.info("This bundle has no training history.")
    for m, fig in figs:
        st.plotly_chart(fig, key=f"home-curve-{m}")  # keyed: element ids never hang on equal content
    if figs and len((model.history or {}).get("loss", [])) == 1:
        st.caption("Trained for a single epoch: each curve is one point.")
