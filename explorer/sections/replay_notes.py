"""The replay player's notes: how its training began (the course model one click away), and the gradients
that part the two heads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import models, nouns
from explorer.models import Handle
from explorer.replay_story import gradient_rows, gradients_missing, heads_story, stage_note
from explorer.training_facts import TrainingFacts

COURSE_MODEL = "mnist-2d-course"  # a shipped model trained from scratch, whose replay shows it all


def stage_notice(handle: Handle, facts: TrainingFacts) -> None:
    """On the player, when its replay is not of training from scratch (`facts`: the model's): say so, and
    offer the course model's replay in one click (where this server has it)."""
    note = stage_note(facts, handle.served.card.get("epochs"), models.plain_text, nouns.things(handle.served))
    if note is None:
        return
    st.info(note)
    if COURSE_MODEL in models.model_ids() and handle.id != COURSE_MODEL:
        st.button("Watch the course model learn from scratch", key="replay_course", on_click=_open_course,
                  help="Opens the course's VAE, trained from scratch, with its replay on.")


def _open_course() -> None:
    models.choose_model(COURSE_MODEL)
    st.session_state["replay_on"] = True


def heads_parting(replay: dict, follow: int | None, beta: float | None, noun: str = "digit") -> None:
    """Beside the two heads' outputs, the gradients reaching them at a few snapshots, for the followed
    digit; and two sentences that read them."""
    if follow is None:
        return
    st.markdown(f"**When the heads part.** The followed {noun}'s two heads, and the gradient of its loss "
                "that reaches each: split into the reconstruction part and the weighted KL part.")
    missing = gradients_missing(replay, follow, noun)
    if missing:
        st.caption(missing)
        return
    st.dataframe(pd.DataFrame(gradient_rows(replay, follow)), hide_index=True, width="stretch")
    for sentence in heads_story(replay, follow, beta):
        st.markdown(sentence)
