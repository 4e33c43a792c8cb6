"""How it works' follow-up questions: why a log-variance, the 0.5, ε, what makes the heads, no collapse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer import alt_text, cache, explain, nouns, widgets
from explorer.explain import Encoding
from explorer.figures import pin_margins
from explorer.sections.how_it_works import Input, dim_index, replay_link, thumbnail
from explorer.training_facts import beta_text, facts_of, loss_formula, stage_sentence


def parametrisation_table(z_log_var: np.ndarray) -> pd.DataFrame:
    """The raw z_log_var outputs read as a log-variance, and the two other ways they could be read."""
    p = explain.parametrisations(z_log_var)

    def cells(v):  # strings, so that an impossible value reads as such (NaN would show as "None")
        return [f"{x:.4g}" if np.isfinite(x) else "impossible (≤ 0)" for x in v]

    return pd.DataFrame({
        "raw output": cells(p["raw"]),
        "var = exp(raw)": cells(p["variance_if_log_variance"]),
        "std = exp(raw/2)": cells(p["std_if_log_variance"]),
        "std if raw were a var (√raw)": cells(p["std_if_variance"]),
        "std if raw were a std": cells(p["std_if_std"]),
    }, index=dim_index(z_log_var.size))


def half_code(z_log_var: np.ndarray) -> str:
    """Dimension 0's log-variance turned into its std step by step, and into the variance (the wrong one)."""
    first = z_log_var[0]
    return (f"z_log_var[0]              = {first:.4f}\n"
            f"0.5 * z_log_var[0]        = {0.5 * first:.4f}\n"
            f"exp(0.5 * z_log_var[0])   = {explain.z_std(first):.4f}   # the std\n"
            f"sqrt(exp(z_log_var[0]))   = {np.sqrt(np.exp(first)):.4f}   # the same number\n"
            f"exp(z_log_var[0])         = {np.exp(first):.4f}   # the variance: wrong to scale ε by")


def gradient_code(enc: Encoding, epsilon: np.ndarray) -> str:
    """ε and the two gradients of z that the reparameterization trick opens to the heads."""
    return (f"epsilon              = {explain.fmt_vec(epsilon)}\n"
            f"dz/dz_mean           = {explain.fmt_vec(np.ones(enc.z_mean.size))}\n"
            f"dz/dz_log_var        = 0.5 * z_std * epsilon = {explain.fmt_vec(0.5 * enc.z_std * epsilon)}")


def collapse_code(z_mean_j: float, beta: float = 1.0) -> str:
    """The KL of one dimension as its z_std shrinks towards 0: it grows without bound; with β ≠ 1, what the
    loss adds of it (β·KL)."""
    lines = []
    for v in (1.0, 0.1, 0.01, 0.001, 1e-6):
        kl = explain.kl_vs_std(z_mean_j, np.array([v]))[0]
        lines.append(f"z_std = {v:<7g} → KL = {kl:.2f} nats"
                     + ("" if beta == 1 else f", β·KL = {beta * kl:.2f} in the loss"))
    return "\n".join(lines)


def kl_curve_figure(enc: Encoding, dim: int) -> go.Figure:
    """KL of dimension `dim` against its z_std (z_mean fixed), with the learned z_std starred."""
    z_mean, z_std, kl = enc.z_mean[dim], enc.z_std[dim], enc.kl[dim]
    s = np.geomspace(0.005, 3.0, 300)
    fig = go.Figure(go.Scatter(x=s, y=explain.kl_vs_std(z_mean, s), mode="lines", name="KL",
                               line=dict(color="#9467bd")))
    star = dict(size=13, symbol="star", color="gold", line=dict(color="black", width=1.5))
    fig.add_trace(go.Scatter(x=[z_std], y=[kl], mode="markers", name="learned z_std", marker=star))
    fig.update_xaxes(type="log", title=f"z_std of dimension {dim} (z_mean fixed at {z_mean:.3f})")
    fig.update_yaxes(title="KL (nats)")
    pin_margins(fig, top=30)
    fig.update_layout(height=320)
    return fig


FLAT_NATS = 0.01  # a loss that changes by less than this over the whole range is flat: no minimum to speak of


def collapse_question(beta: float) -> str:
    """The follow-up's title: the question only holds where a KL term stops the collapse."""
    if beta == 0:
        return "Does z_std collapse to zero without a KL term? Reconstruction alone"
    return "Why doesn't z_std collapse to zero? Reconstruction against KL"


def spread_figure(curve: dict) -> go.Figure:
    """Reconstruction, KL and their sum against the factor z_std is scaled by; the sum's minimum and the
    learned z_std (factor 1) marked."""
    f, beta = curve["factor"], curve["beta"]
    kl_name = "KL" if beta == 1 else f"β·KL (β = {beta_text(beta)})"
    total_name = "sum = −ELBO" if beta == 1 else f"loss = reconstruction + {beta_text(beta)}·KL"
    fig = go.Figure()
    for y, name, color, width in ((curve["reconstruction"], "reconstruction (expected)", "#1f77b4", 2),
                                  (beta * curve["kl"], kl_name, "#9467bd", 2),
                                  (curve["total"], total_name, "#111111", 3.5)):
        line = dict(color=color, width=width)
        fig.add_trace(go.Scatter(x=f, y=y, mode="lines", name=name, line=line))
    best, learned = curve["best"], curve["learned"]
    if np.ptp(curve["total"]) >= FLAT_NATS:  # a flat loss (β = 0, a sharp decoder) has no minimum to mark
        fig.add_trace(go.Scatter(x=[f[best]], y=[curve["total"][best]], mode="markers",
                                 name=f"minimum of the loss (× {f[best]:.2f})",
                                 marker=dict(size=13, symbol="diamond", color="#d62728",
                                             line=dict(color="black", width=1))))
    star = dict(size=15, symbol="star", color="gold", line=dict(color="black", width=1.5))
    fig.add_trace(go.Scatter(x=[f[learned]], y=[curve["total"][learned]], mode="markers",
                             name="learned z_std (× 1)", marker=star))
    fig.update_xaxes(type="log", title="z_std × factor, all dimensions (1: the learned z_std; z_mean fixed)")
    fig.update_yaxes(title="nats")
    pin_margins(fig, top=30)
    fig.update_layout(height=380, legend=dict(orientation="h", y=-0.25))
    return fig


def spread_summary(curve: dict, enc: Encoding, noun: str = "digit") -> str:
    """The chart in words: where the model's loss is lowest against where training put z_std, and what a
    minimum at the edge of the range means."""
    f, best, learned, beta = curve["factor"], curve["best"], curve["learned"], curve["beta"]
    total, rec = curve["total"], curve["reconstruction"]
    gap = total[learned] - total[best]
    what = "the loss (β = 0: the reconstruction alone)" if beta == 0 else (
        "the sum" if beta == 1 else f"the loss, reconstruction + {beta_text(beta)}·KL,")
    below = f"{gap:.2f} nats below" if gap >= 0.01 else "within 0.01 nats of"
    where = ("exactly the learned z_std, within this grid's steps of × 1.2" if best == learned else
             f"z_std × {f[best]:.2f} (mean z_std {f[best] * enc.z_std.mean():.3g} against the learned "
             f"{enc.z_std.mean():.3g}), {below} the learned one's")
    if np.ptp(total) < FLAT_NATS:  # no minimum to speak of: the figure marks none either
        why = (" No KL term: nothing stops z_std from shrinking, and the reconstruction does not care."
               if beta == 0 else "")
        return (f"For this input {what} is flat: it changes by only {np.ptp(total):.3f} nats across this "
                f"whole range, so no spread is lowest.{why} Reconstruction is averaged over {curve['n_eps']} "
                "fixed draws of ε.")
    text = [f"For this input {what} is lowest at {where}."]
    edge = {0: "narrowest", len(f) - 1: "widest"}.get(best)
    if edge:
        text.append(f"That is the {edge} spread drawn (× {f[best]:.2f}), the edge of this range: the loss is "
                    f"still falling there as the cloud {'narrows' if best == 0 else 'widens'}.")
    flat = f"across this whole range the reconstruction changes by only {np.ptp(rec):.2f} nats"
    kl = "the KL" if beta == 1 else "β·KL"
    if beta == 0:
        text.append(f"No KL term: nothing stops z_std from shrinking. And {flat}, so where its lowest point "
                    "falls is down to chance.")
    elif edge == "narrowest":
        text.append(f"Within this range the reconstruction gains more from a narrower cloud than {kl} "
                    "charges; the KL's −log z_std grows without bound, so the loss turns up further in, "
                    "above zero.")
    elif edge == "widest":
        text.append(f"Within this range the pull of {kl} (β = {beta_text(beta)}) towards z_std = 1 outweighs "
                    "what the wider cloud costs in reconstruction.")
    else:
        wider = rec[-1] - rec[learned]
        text.append(f"Narrower, {kl} climbs (−log z_std); wider, " + (
            f"the decodes spill into other {noun}s and the reconstruction climbs ({wider:.1f} nats more at "
            f"× {f[-1]:.0f})." if wider > 0.5 else f"the reconstruction hardly changes ({flat})."))
    if best != learned and beta != 0:
        text.append("The encoder sets z_std for every input with one set of weights, trained on all of them, "
                    "so it need not hit each input's own minimum.")
    text.append(f"Reconstruction is averaged over {curve['n_eps']} fixed draws of ε.")
    return " ".join(text)


def question(label: str, key: str, answer: Callable[[Input], None], about: Input,
             expanded: bool = False) -> None:
    """A follow-up question as an expander whose answer is built only while it is open (opening it reruns
    the page): closed answers cost the page load nothing, neither their decodes nor their charts."""
    box = st.expander(label, expanded=expanded, key=key, on_change="rerun")
    if box.open:
        with box:
            answer(about)


def why_log_variance(about: Input) -> None:
    """Why the head is read as a log-variance: any real number is a valid one."""
    z_log_var = about.enc.z_log_var
    st.markdown(
        "A Dense layer outputs **any real number**, negative ones included. If that number were the "
        "variance or the std, every negative output would be an impossible value (and the network "
        "would have to be forced to avoid them). Read as a **log-variance**, every real number is "
        "fine: `exp` makes the variance positive, and tiny variances like 0.0001 are ordinary "
        "outputs (log 0.0001 ≈ −9.2) instead of numbers squeezed against zero.")
    st.markdown("This input's raw `z_log_var` outputs, read the way the model reads them (columns 2–3) "
                "and the two other ways (columns 4–5):")
    st.dataframe(parametrisation_table(z_log_var), width="stretch")
    neg = int((z_log_var <= 0).sum())
    if neg:
        st.caption(f"For this input {neg} of {z_log_var.size} raw outputs are ≤ 0: as a variance or a std "
                   "they would be impossible; as a log-variance they simply mean a std below 1.")
    else:
        st.caption("For this input every raw output happens to be positive, but nothing in a Dense layer "
                   "guarantees that; a log-variance head never needs the guarantee.")


def why_half(about: Input) -> None:
    """Why exp(0.5 · z_log_var): the 0.5 makes it a std."""
    st.markdown(r"Because $\exp(\tfrac12\log\sigma^2) = (\sigma^2)^{1/2} = \sigma$: the 0.5 turns the "
                "log-variance into a standard deviation, and ε must be scaled by the std, not the "
                "variance, for z to have variance σ². Dimension 0 of this input:")
    st.code(half_code(about.enc.z_log_var), language=None)


def what_epsilon_is_for(about: Input) -> None:
    """ε makes z a draw whose randomness sits outside the heads, so that gradients reach them."""
    enc = about.enc
    st.markdown(
        "Not “noise to stir up the output”. `z = z_mean + z_std · ε` with ε ~ N(0, 1) **is a draw from "
        "N(z_mean, z_std²)**, written so that all the randomness sits in ε and z depends smoothly on "
        "both heads. That is the *reparameterization trick*: the gradient of the loss reaches the heads "
        "through ∂z/∂z_mean = 1 and ∂z/∂z_log_var = 0.5 · z_std · ε. Sampling z directly with "
        "`np.random.normal(z_mean, z_std)` would give the same distribution but no gradient.")
    seed = int(st.number_input("Seed for ε", 0, 10_000, 7, key="how_eps_seed"))
    eps = np.random.default_rng(seed).standard_normal((1, enc.z_mean.size))
    m = about.magnify
    z_same = np.repeat(explain.reparameterize(enc.z_mean, enc.z_log_var + 2.0 * np.log(m), eps), 4, axis=0)
    z_diff, _ = explain.sample_cloud(enc.z_mean, enc.z_log_var + 2.0 * np.log(m), 4, seed=seed + 1)
    st.code(gradient_code(enc, eps[0]), language=None)
    if m != 1:
        st.caption(f"The strips below use z_std × {m:g} (the page's magnifier), for seeing only.")
    a, b = st.columns(2)
    texts = ("**Same ε four times** → the same z, the same image: nothing random is left.",
             "**Four different ε** → four draws from this input's cloud.")
    for col, z, text in zip((a, b), (z_same, z_diff), texts):
        col.markdown(text)
        for cell, img, zi in zip(col.columns(4), about.model.decode(z), z):
            thumbnail(cell, img, 3, alt=alt_text.decoded(zi))


def what_makes_the_heads(about: Input) -> None:
    """Only the loss makes the heads a mean and a spread: reconstruction against β·KL, in this input's nats
    (β and the stages: this model's own)."""
    model, x, enc = about.model, about.x, about.enc
    facts = facts_of(model)
    if facts.beta == 0:
        kl_line = ("- this model has **no KL term** (β = 0): nothing pulls its clouds towards N(0, 1), so "
                   "the reconstruction alone shapes them.\n\n"
                   "With nothing to pull against, z_std shrinks as far as the reconstruction likes (this "
                   f"input's: {enc.z_std.mean():.3g} on average); the head that sets the cloud's centre is "
                   "what we call z_mean, the other its log-variance.")
    else:
        kl_line = (f"- the **KL** term, weighed by β = {beta_text(facts.beta)}, pulls every cloud towards "
                   "N(0, I): z_mean towards 0, z_std towards 1.\n\n"
                   "Training settles the tug-of-war; the head that sets the cloud's centre is what we then "
                   "call z_mean, the other its log-variance.")
    stage = stage_sentence(facts)
    st.markdown(
        f"Only the loss, **{loss_formula(facts)}**:\n"
        "- the **reconstruction** term wants the decoder to redraw this image from *any* z in its cloud: "
        f"it pushes z_mean to a spot that decodes to this {nouns.noun(model)} and z_std small, so the cloud "
        f"does not spill into other {nouns.things(model)};\n{kl_line} "
        "“Why doesn't z_std collapse to zero?” below draws the loss against this input's spread."
        + (f"\n\n{stage}" if stage else ""))
    replay_link()
    elbo = explain.per_image_elbo(x, model.decode(enc.z_mean[None])[0], enc.z_mean, enc.z_log_var)
    rec_samples = float(np.mean([
        explain.per_image_elbo(x, d, enc.z_mean, enc.z_log_var)["reconstruction_loss"]
        for d in model.decode(about.samples[:32])]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Reconstruction at z_mean", f"{elbo['reconstruction_loss']:.1f} nats")
    m2.metric("Reconstruction (samples)", f"{rec_samples:.1f} nats",
              help="Averaged over 32 sampled z: the term training optimises, estimated by sampling.")
    m3.metric("KL (all dims)", f"{elbo['kl_loss']:.2f} nats")
    if facts.beta == 1:
        m4.metric("Negative ELBO (at z_mean)", f"{elbo['neg_elbo']:.1f} nats")
    else:
        m4.metric(f"Loss at z_mean: reconstruction + {beta_text(facts.beta)}·KL",
                  f"{elbo['reconstruction_loss'] + facts.beta * elbo['kl_loss']:.1f} nats",
                  help=f"The negative ELBO (β = 1) would be {elbo['neg_elbo']:.1f} nats.")
    st.markdown("**This input's KL per dimension**")
    widgets.kl_table(st, np.asarray(elbo["kl_per_dim"]), enc.z_mean, enc.z_std)


def why_no_collapse(about: Input) -> None:
    """Why z_std stays above 0: reconstruction against KL as this input's spread is scaled, then the KL's
    −log σ, which grows without bound, on one dimension's curve."""
    enc = about.enc
    st.markdown("**The tug of war, for this input.** Scale every dimension's z_std by one factor, keep "
                "z_mean, and add up this model's loss, reconstruction + β·KL:")
    curve = cache.spread_curve(about.handle, about.x)
    st.plotly_chart(spread_figure(curve), width="stretch", key="how_spread_curve")
    st.caption(spread_summary(curve, enc, nouns.noun(about.model)))
    st.markdown("**One dimension's KL alone**")
    dim = st.selectbox("Dimension", list(range(enc.z_mean.size)), format_func=lambda d: f"z[{d}]",
                       key="how_dim")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(kl_curve_figure(enc, dim), width="stretch", key="how_kl_curve")
    beta = facts_of(about.model).beta
    if beta == 0:
        c2.markdown(
            "The reconstruction term alone would shrink z_std to 0 (a point is easiest to decode). The KL "
            r"contains $-\log\sigma$, which **grows without bound as σ → 0**, but this model's loss "
            "leaves the KL out (β = 0). No KL term: nothing stops z_std from shrinking. The KL it leaves "
            "out:")
    else:
        c2.markdown(
            "The reconstruction term alone would shrink z_std to 0 (a point is easiest to decode). "
            r"But the KL contains $-\log\sigma$, which **grows without bound as σ → 0**, and this model's "
            f"loss adds it weighed by β = {beta_text(beta)}:")
    c2.code(collapse_code(enc.z_mean[dim], beta), language="text")
    c2.markdown(learned_note(curve, enc, dim, beta))


def learned_note(curve: dict, enc: Encoding, dim: int, beta: float) -> str:
    """Where this input's learned z_std sits, in words that follow the loss curve above and β."""
    here = f"This input's learned z_std here is **{enc.z_std[dim]:.3f}**"
    if beta == 0:
        return f"{here}: the KL it would cost ({enc.kl[dim]:.3f} nats) never entered training."
    if curve["best"] == curve["learned"]:
        return (f"{here} (KL {enc.kl[dim]:.3f} nats), at the minimum of the loss above: where shrinking the "
                "cloud further costs more β·KL than it buys in reconstruction.")
    return (f"{here} (KL {enc.kl[dim]:.3f} nats). The loss above is lowest at z_std × "
            f"{curve['factor'][curve['best']]:.2f} instead: one set of weights sets z_std for every input at "
            "once.")
