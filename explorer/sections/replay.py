"""Watch it learn: the replay of a model's training on the map, played in the browser, one digit followed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import cache, models, nouns
from explorer.models import Handle
from explorer.replay_figure import replay_figure
from explorer.sections.replay_notes import heads_parting, stage_notice
from explorer.training_facts import TrainingFacts, beta_text, facts_of
from vae.inputs.data import CLASS_NAMES
from vae.model.replay import LIVE_FILE
from vae.plural import count

PLAY = ("Press **▶ Play** to watch training pull them apart. Each frame is a snapshot of the model during "
        "training (dense early, when most happens); the slider scrubs through them, in epochs.")
NO_REPLAY = ("This model was trained without a replay. Models trained on the Train page (or with "
             "`python -m vae train`) record one: the same 1,000 test digits encoded from step 0 to the end.")


def watch_it_learn(handle: Handle) -> None:
    """The player: the map, the loss terms with a cursor, the decoded grid; a digit to follow."""
    st.subheader("Watch it learn")
    replay = cache.replay(handle)
    if replay is None:
        st.info(NO_REPLAY)
        return
    # Behind a toggle: every frame travels with the figure (about 1.5 MB), which the map alone need not pay.
    snapshots = count(len(replay["step"]), "snapshot")
    if not st.toggle(f"Replay this model's training ({snapshots}, from step 0 to step "
                     f"{int(replay['step'][-1]):,})", key="replay_on"):
        st.caption("The encoder's heads start as untrained Dense layers: watch them become a mean and a "
                   "spread.")
        return
    facts = facts_of(handle.served)
    st.markdown(intro_text(facts, replay, nouns.noun(handle.served)))
    stage_notice(handle, facts)
    follow = follow_picker(handle, replay)
    st.plotly_chart(cache.replay_figure(handle, follow), key="replay_player",
                    config={"displayModeBar": False})
    if follow is not None:
        st.caption(followed_story(replay, follow, models.label_name(handle.served, replay["labels"][follow])))
    heads_parting(replay, follow, facts.beta, nouns.noun(handle.served))


def intro_text(facts: TrainingFacts, replay: dict, noun: str = "digit") -> str:
    """What the replay shows, from its first snapshot's numbers and the model's β and stages."""
    z_mean = np.asarray(replay["z_mean"][0], np.float64)
    z_std = np.exp(0.5 * np.asarray(replay["z_log_var"][0], np.float64))
    reach = float(np.sqrt((z_mean ** 2).sum(-1)).max())
    start = (f"At step 0 every {noun}'s z_mean lies within {reach:.2f} of the origin and its z_std is "
             f"{z_std.min():.2f}–{z_std.max():.2f}")
    start += ", the prior's 1 or near it." if 0.5 <= z_std.min() and z_std.max() <= 2 else "."
    if facts.beta == 0:
        forces = (f"The reconstruction loss rewards codes that tell {noun}s apart. This model has no KL term "
                  "(β = 0): nothing pulls the clouds back towards N(0, I), so nothing stops z_std from "
                  "shrinking.")
    else:
        weight = "" if facts.beta == 1 else f", weighed by β = {beta_text(facts.beta)},"
        forces = (f"The reconstruction loss rewards codes that tell {noun}s apart; the KL term"
                  f"{weight} pulls every cloud back towards N(0, I); the heads become a mean and a spread.")
    stage = ""
    if facts.stages == 2:
        stage = (" This replay is of the model's second stage: a new encoder learning for a decoder that was "
                 "already trained and stays frozen, so the decodes are sharp from the first frame.")
    return (f"The encoder's two heads start as two identical, untrained Dense layers. {start} {forces}"
            f"{stage} {PLAY}")


def follow_picker(handle: Handle, replay: dict) -> int | None:
    """Which of the replay's digits to follow (black path and ring): by default the first of label 0."""
    labels = np.asarray(replay["labels"]).astype(int)
    options = [None, *range(len(labels))]
    first = int(np.flatnonzero(labels == labels.min())[0])
    return st.selectbox(
        f"Follow one {nouns.noun(handle.served)}", options, index=first + 1, key="replay_follow",
        format_func=lambda i: "none" if i is None else
        f"#{int(replay['indices'][i])} of the test split ({models.label_name(handle.served, labels[i])})",
        help="Its z_mean's path so far, and its z_std ring, in black.")


def followed_story(replay: dict, i: int, label: str) -> str:
    """One digit's z_mean and z_std at the start and the end of training, in words."""
    z_mean = replay["z_mean"][:, i].astype(np.float64)
    z_std = np.exp(0.5 * replay["z_log_var"][:, i].astype(np.float64))
    fmt = ", ".join
    return (f"The followed {label}: z_mean from ({fmt(f'{v:.2f}' for v in z_mean[0][:4])}"
            f"{', …' if z_mean.shape[1] > 4 else ''}) to ({fmt(f'{v:.2f}' for v in z_mean[-1][:4])}"
            f"{', …' if z_mean.shape[1] > 4 else ''}); mean z_std from {z_std[0].mean():.2f} to "
            f"{z_std[-1].mean():.3f}, over {int(replay['step'][-1]):,} training steps.")


@st.cache_data(show_spinner=False, max_entries=4)
def _live_figure(path: str, stamp: float, dataset: str):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    return replay_figure(arrays, CLASS_NAMES.get(dataset), None, height=520)


def live_player(job_dir: Path, dataset: str, key: str) -> None:
    """A running job's replay so far (the trainer rewrites it every few seconds), behind a toggle: it is
    drawn anew at each new snapshot, so it costs nothing until asked for."""
    if not st.toggle("Watch it learn, live", key=f"live-{key}",
                     help="The same 1,000 test digits' z_mean and z_std, from step 0 to the latest "
                          "snapshot."):
        return
    live = job_dir / LIVE_FILE
    try:
        stamp = live.stat().st_mtime
    except FileNotFoundError:
        st.caption("The first snapshot comes once TensorFlow and the data are loaded…")
        return
    try:
        st.plotly_chart(_live_figure(str(live), stamp, dataset), key=f"live-chart-{key}",
                        config={"displayModeBar": False})
    except (OSError, ValueError, KeyError):  # caught between two writes, or a job without a replay
        st.caption("The replay could not be read just now; it appears at the next refresh.")
