"""How it works: the encoder head, z_mean / z_log_var / epsilon, explained with this model's live numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer import cache, models, widgets
from explorer import explain as E
from explorer import pictures as pics
from explorer.figures import pin_margins
from live_decoder import live_decoder, live_decoder_error

CLOUD_COLORS = ["#111111", "#d62728"]

SRC_TEST, SRC_YOURS, SRC_RANDOM = "A test digit", "Your drawing / upload", "The decode of a random z"


# ----------------------------------------------------------------------------- inputs


def _test_set(model):
    """(images, labels) of the test split the reference encodings come from, or None."""
    images = cache.reference_images(model)
    return None if images is None else (images, model.reference["labels"])


def _pick_input(model, test, slot: str, default_index: int, container) -> tuple[np.ndarray, str]:
    """Let the learner choose an input in `container`; returns (28x28 image in [0, 1], description)."""
    options = ([SRC_TEST] if test is not None else []) \
        + ([SRC_YOURS] if E.CURRENT_INPUT_KEY in st.session_state else []) + [SRC_RANDOM]
    # Coming from the Encode page, the first input defaults to what was encoded there.
    default = options.index(SRC_YOURS) if slot == "a" and SRC_YOURS in options else 0
    source = container.radio("Input", options, index=default, key=f"how_source_{slot}", horizontal=True)
    if source == SRC_TEST:
        images, labels = test
        i = int(container.number_input(f"Test image index (0–{len(images) - 1})", 0, len(images) - 1,
                                       default_index, key=f"how_index_{slot}"))
        return np.asarray(images[i], np.float32), f"test image #{i} ({models.label_name(model, labels[i])})"
    if source == SRC_YOURS:
        x = np.asarray(st.session_state[E.CURRENT_INPUT_KEY], np.float32).reshape(28, 28)
        return x, st.session_state.get(E.CURRENT_INPUT_NAME_KEY, "your input")
    seed = int(container.number_input("Seed for the random z", 0, 10_000, default_index,
                                      key=f"how_seed_{slot}"))
    z = np.random.default_rng(seed).standard_normal((1, model.latent_dim))
    return model.decode(z)[0].astype(np.float32), f"decode of a random z (seed {seed})"


# ----------------------------------------------------------------------------- the model card


def _card_sigma_note(card: dict) -> str | None:
    """What the model card says about the 'sigma' head (an imported model's card records the heads' roles)."""
    heads = card.get("heads")
    if isinstance(heads, dict) and heads.get("z_log_var"):
        lv_name, mean_name = heads["z_log_var"], heads.get("z_mean", "?")
        how = heads.get("roles_from") or "the encoder's outputs"
        text = (f"This model was imported. Its head `{lv_name}` was identified (source: {how}) as the "
                f"log-variance z_log_var, and `{mean_name}` as z_mean")
        if "sigma" in str(lv_name).lower():
            text += (" — so here too the head called “sigma” is a log-variance: "
                     f"it enters z as exp(0.5·{lv_name})")
        text += "."
        if card.get("roles"):
            text += f"\n\nFrom the model card: {card['roles']}"
        return text
    quotes = [str(card[k]) for k in ("description", "notes", "roles")
              if "sigma" in str(card.get(k, "")).lower()]
    return "From this model's card: " + " ".join(quotes) if quotes else None


# ----------------------------------------------------------------------------- page


def _live_section(model, path: str, mu: np.ndarray) -> None:
    """Drag z around this input's z_mean and watch the decoder's output change, decoded in the browser."""
    st.subheader("Move z yourself")
    st.markdown("The decoder only ever sees z. Start at this input's **z_mean** and drag: a step of one "
                "z_std barely changes the image, which is why a draw from N(z_mean, z_std²) still "
                "reconstructs this input.")
    stamp = models.stamp(path)
    sliders = np.asarray(cache.latent_ranges(path, stamp)["sliders"], np.float64)
    points, labels, plane = cache.live_decoder_inputs(model, path, stamp)
    z0 = np.clip(mu, sliders[:, 0], sliders[:, 1])
    live_decoder(cache.decoder_bytes(path, stamp), model.latent_dim, z0.tolist(),
                 [tuple(r) for r in sliders], points, labels, key="how_live", plane=plane)
    error = live_decoder_error("how_live")
    if error:
        st.warning(f"Your browser could not run the decoder ({error}); "
                   "the Decoder page decodes on the server.")


# ----------------------------------------------------------------------------- follow-up questions


def _question(label: str, key: str, body, ctx: dict, expanded: bool = False) -> None:
    """A follow-up question as an expander whose answer is built only while it is open (opening it reruns
    the page): closed answers cost the page load nothing, neither their decodes nor their charts."""
    box = st.expander(label, expanded=expanded, key=key, on_change="rerun")
    if box.open:
        with box:
            body(**ctx)


def _why_log_variance(*, lv, **_) -> None:
    p = E.parametrisations(lv)
    st.markdown(
        "A Dense layer outputs **any real number**, negative ones included. If that number were the "
        "variance or the std, every negative output would be an impossible value (and the network "
        "would have to be forced to avoid them). Read as a **log-variance**, every real number is "
        "fine: `exp` makes the variance positive, and tiny variances like 0.0001 are ordinary "
        "outputs (log 0.0001 ≈ −9.2) instead of numbers squeezed against zero.")
    def cells(v):  # strings, so that an impossible value reads as such (NaN would show as "None")
        return [f"{x:.4g}" if np.isfinite(x) else "impossible (≤ 0)" for x in v]

    tab = pd.DataFrame({
        "raw output": cells(p["raw"]),
        "var = exp(raw)": cells(p["variance_if_log_variance"]),
        "std = exp(raw/2)": cells(p["std_if_log_variance"]),
        "std if raw were a var (√raw)": cells(p["std_if_variance"]),
        "std if raw were a std": cells(p["std_if_std"]),
    }, index=pd.Index([f"z[{i}]" for i in range(lv.size)], name="dim"))
    st.markdown("This input's raw `z_log_var` outputs, read the way the model reads them (columns 2–3) "
                "and the two other ways (columns 4–5):")
    st.dataframe(tab, width="stretch")
    neg = int((lv <= 0).sum())
    if neg:
        st.caption(f"For this input {neg} of {lv.size} raw outputs are ≤ 0: as a variance or a std they "
                   "would be impossible; as a log-variance they simply mean a std below 1.")
    else:
        st.caption("For this input every raw output happens to be positive, but nothing in a Dense layer "
                   "guarantees that; a log-variance head never needs the guarantee.")


def _why_half(*, lv, std, **_) -> None:
    j = 0
    st.markdown(r"Because $\exp(\tfrac12\log\sigma^2) = (\sigma^2)^{1/2} = \sigma$: the 0.5 turns the "
                "log-variance into a standard deviation, and ε must be scaled by the std, not the "
                "variance, for z to have variance σ². Dimension 0 of this input:")
    st.code(
        f"z_log_var[0]              = {lv[j]:.4f}\n"
        f"0.5 * z_log_var[0]        = {0.5 * lv[j]:.4f}\n"
        f"exp(0.5 * z_log_var[0])   = {std[j]:.4f}   # the std\n"
        f"sqrt(exp(z_log_var[0]))   = {np.sqrt(np.exp(lv[j])):.4f}   # the same number\n"
        f"exp(z_log_var[0])         = {np.exp(lv[j]):.4f}   # the variance: wrong to scale ε by",
        language="python")


def _what_epsilon_is_for(*, model, mu, lv, std, **_) -> None:
    st.markdown(
        "Not “noise to stir up the output”. `z = z_mean + z_std · ε` with ε ~ N(0, 1) **is a draw from "
        "N(z_mean, z_std²)**, written so that all the randomness sits in ε and z depends smoothly on "
        "both heads. That is the *reparameterization trick*: the gradient of the loss reaches the heads "
        "through ∂z/∂z_mean = 1 and ∂z/∂z_log_var = 0.5 · z_std · ε. Sampling z directly with "
        "`np.random.normal(z_mean, z_std)` would give the same distribution but no gradient.")
    seed = int(st.number_input("Seed for ε", 0, 10_000, 7, key="how_eps_seed"))
    eps = np.random.default_rng(seed).standard_normal((1, mu.size))
    z_same = np.repeat(E.reparameterize(mu, lv, eps), 4, axis=0)
    z_diff, _ = E.sample_cloud(mu, lv, 4, seed=seed + 1)
    st.code(f"epsilon              = {E.fmt_vec(eps[0])}\n"
            f"dz/dz_mean           = {E.fmt_vec(np.ones(mu.size))}\n"
            f"dz/dz_log_var        = 0.5 * z_std * epsilon = {E.fmt_vec(0.5 * std * eps[0])}",
            language="python")
    a, b = st.columns(2)
    a.markdown("**Same ε four times** → the same z, the same image: nothing random is left.")
    for col, img in zip(a.columns(4), model.decode(z_same)):
        col.image(pics.inline_png(pics.to_png(img, 3)), width="stretch")
    b.markdown("**Four different ε** → four draws from this input's cloud.")
    for col, img in zip(b.columns(4), model.decode(z_diff)):
        col.image(pics.inline_png(pics.to_png(img, 3)), width="stretch")


def _what_makes_the_heads(*, model, x, mu, lv, elbo, samples, **_) -> None:
    st.markdown(
        "Only the loss, the **negative ELBO = reconstruction + KL**:\n"
        "- the **reconstruction** term wants the decoder to redraw this image from *any* z in its cloud: "
        "it pushes z_mean to a spot that decodes to this digit and z_std small, so the cloud does not "
        "spill into other digits;\n"
        "- the **KL** term pulls every cloud towards N(0, 1): z_mean towards 0, z_std towards 1.\n\n"
        "Training settles the tug-of-war; the head that sets the cloud's centre is what we then call "
        "z_mean, the other its log-variance.")
    rec_samples = float(np.mean([E.per_image_elbo(x, d, mu, lv)["reconstruction_loss"]
                                 for d in model.decode(samples[:32])]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Reconstruction at z_mean", f"{elbo['reconstruction_loss']:.1f} nats")
    m2.metric("Reconstruction (samples)", f"{rec_samples:.1f} nats",
              help="Averaged over 32 sampled z: the term training optimises, estimated by sampling.")
    m3.metric("KL (all dims)", f"{elbo['kl_loss']:.2f} nats")
    m4.metric("Negative ELBO (at z_mean)", f"{elbo['neg_elbo']:.1f} nats")
    st.markdown("**This input's KL per dimension**")
    widgets.kl_table(st, np.asarray(elbo["kl_per_dim"]), mu, E.z_std(lv))


def _why_no_collapse(*, mu, std, kl, **_) -> None:
    dim = st.selectbox("Dimension", list(range(mu.size)), format_func=lambda d: f"z[{d}]", key="how_dim")
    s = np.geomspace(0.005, 3.0, 300)
    curve = E.kl_vs_std(mu[dim], s)
    fig = go.Figure(go.Scatter(x=s, y=curve, mode="lines", name="KL", line=dict(color="#9467bd")))
    star = dict(size=13, symbol="star", color="gold", line=dict(color="black", width=1.5))
    fig.add_trace(go.Scatter(x=[std[dim]], y=[kl[dim]], mode="markers", name="learned z_std",
                             marker=star))
    fig.update_xaxes(type="log", title=f"z_std of dimension {dim} (z_mean fixed at {mu[dim]:.3f})")
    fig.update_yaxes(title="KL (nats)")
    pin_margins(fig, top=30)
    fig.update_layout(height=320)
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(fig, width="stretch", key="how_kl_curve")
    c2.markdown(
        "The reconstruction term alone would shrink z_std to 0 (a point is easiest to decode). "
        r"But the KL contains $-\log\sigma$, which **grows without bound as σ → 0**:")
    c2.code("\n".join(f"z_std = {v:<7g} → KL = {E.kl_vs_std(mu[dim], np.array([v]))[0]:.2f} nats"
                      for v in (1.0, 0.1, 0.01, 0.001, 1e-6)), language="text")
    c2.markdown(f"This input's learned z_std here is **{std[dim]:.3f}** (KL {kl[dim]:.3f} nats): "
                "the point where shrinking the cloud further costs more KL than it buys in "
                "reconstruction.")


def main() -> None:
    st.title("How it works: the encoder's two heads")
    model = models.current_model()
    path = models.current_model_path()
    test = _test_set(model)
    can_map = model.latent_dim == 2 or model.reference is not None  # above 2-D the map is a PCA of it

    st.markdown("The question this page answers, about the encoder head the course wrote:")
    st.code(E.COURSE_HEAD_CODE, language="python")
    st.info(
        "**“Where is the mean computed?” — Nowhere.** `z_mean` and `z_log_var` are not statistics "
        "(an average, a spread) computed from the pixels. They are simply the **outputs of two Dense "
        "layers** that read the same features `x`. Nothing in the layers says “mean” or “variance”: "
        "they *become* a mean and a (log-)variance because of how `z` is built from them and because "
        "the loss rewards that. Every input gets its own pair, computed fresh by the network.")

    st.header("This input, live")
    pick = st.container()
    x, desc = _pick_input(model, test, "a", 0, pick)
    z_mean, z_log_var = model.encode(x[None])
    mu, lv = z_mean[0].astype(np.float64), z_log_var[0].astype(np.float64)
    std = E.z_std(lv)
    eps1 = np.random.default_rng(0).standard_normal(mu.size)
    z1 = E.reparameterize(mu, lv, eps1)

    c_img, c_live = st.columns([1, 4])
    c_img.image(pics.inline_png(pics.to_png(x, 5)), caption=desc, width="stretch")
    c_live.markdown("**The course's code (as comments), and what each line produced for this input**")
    c_live.code(
        "# z_mean = Dense(latent_dim)(x)\n"
        f"z_mean    = {E.fmt_vec(mu)}\n"
        "# z_log_var = Dense(latent_dim)(x)   <- the course's \"sigma\": in fact a LOG-VARIANCE\n"
        f"z_log_var = {E.fmt_vec(lv)}\n"
        "# z = z_mean + exp(0.5 * z_log_var) * epsilon, step by step:\n"
        f"z_std     = {E.fmt_vec(std)}   # exp(0.5 * z_log_var)\n"
        f"epsilon   = {E.fmt_vec(eps1)}   # one draw from N(0, 1)\n"
        f"z         = {E.fmt_vec(z1)}   # z_mean + z_std * epsilon",
        language="python")
    st.markdown(
        "The course named the second head `sigma`, but it is **not** σ (a standard deviation): the code "
        "uses it as `exp(0.5 * sigma)`, which is only the standard deviation if `sigma` is "
        "**log σ², the log-variance**. That is why this app calls it `z_log_var`.")
    note = _card_sigma_note(model.card)
    if note:
        st.info(note)

    # ------------------------------------------------------------------ the cloud
    st.header("The reparameterization: z is a draw from N(z_mean, z_std²)")
    n = st.slider("Number of samples z = z_mean + z_std·ε", 10, 3000, 500, step=10, key="how_n")
    samples, eps = E.sample_cloud(mu, lv, n, seed=1)
    c_map, c_tab = st.columns([1, 1])
    if can_map:
        zoom = c_map.toggle("Zoom in on the cloud", value=True, key="how_zoom",
                            help="A well-trained encoder gives each input a small cloud: on the whole map it "
                                 "is a dot. Zoomed, the box spans 4 z_std either side of z_mean.")
        if model.latent_dim > 2:
            c_map.caption(f"{model.latent_dim}-D latent space shown through its first two principal "
                          "components.")
        elif model.latent_dim == 1:
            c_map.caption("1-D latent space: x is z; y only spreads the test digits out (a random jitter). "
                          "The cloud lies on the centre line, its 2·z_std ring a horizontal bar.")
        cloud = {"name": "this input", "z_mean": mu, "z_log_var": lv, "samples": samples,
                 "color": CLOUD_COLORS[0]}
        # Half the page wide: the legend goes under the plot, so the plot keeps the width.
        picture = cache.cloud_picture(model, path, [cloud], zoom=zoom, width=480, height=560,
                                      legend_below=True)
        c_map.image(picture, width="stretch")
    else:
        c_map.info("This model stores no reference encodings, so the cloud cannot be placed on a map.")
    comp = pd.DataFrame({"z_mean": mu, "cloud mean": samples.mean(0),
                         "z_std": std, "cloud std": samples.std(0)},
                        index=pd.Index([f"z[{i}]" for i in range(mu.size)], name="dim"))
    c_tab.markdown(f"The mean and std of these {n} samples (“cloud”) reproduce the two heads' outputs — "
                   "more closely the more samples you draw. That is all “mean” and “std” mean here: "
                   "the centre and width of the Gaussian the decoder is fed from.")
    c_tab.dataframe(comp.style.format("{:.3f}"), width="stretch")
    dec = model.decode(samples[:8])
    cols = c_tab.columns(4)
    for i in range(min(8, len(dec))):
        cols[i % 4].image(pics.inline_png(pics.to_png(dec[i], 3)), caption=f"z #{i + 1}", width="stretch")

    _live_section(model, path, mu)

    st.header("The KL term, per dimension")
    kl = E.kl_per_dim(mu, lv)
    c1, c2 = st.columns([3, 2])
    c1.markdown(f"**KL(N(z_mean, z_std²) ‖ N(0, 1)) per dimension** — total {kl.sum():.2f} nats")
    widgets.kl_table(c1, kl, mu, std, z_log_var=lv)
    c2.markdown("Per dimension, the KL term of the loss is")
    c2.latex(r"\mathrm{KL}_j = -\tfrac12\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)")
    c2.markdown("It is zero only when z_mean = 0 and z_std = 1 (the prior N(0, 1)). It charges this input "
                "for moving its cloud away from the centre and for making it narrower or wider than 1.")

    # ------------------------------------------------------------------ follow-ups
    st.header("Follow-up questions")
    x_prob = model.decode(mu[None])[0]
    elbo = E.per_image_elbo(x, x_prob, mu, lv)

    ctx = dict(model=model, x=x, mu=mu, lv=lv, std=std, kl=kl, elbo=elbo, samples=samples)
    _question("Why a log-variance, rather than a variance or a std?", "how_q_log_var", _why_log_variance, ctx,
              expanded=True)
    _question("Why the 0.5 in exp(0.5 · z_log_var)?", "how_q_half", _why_half, ctx)
    _question("What is ε really for?", "how_q_epsilon", _what_epsilon_is_for, ctx)
    _question("What makes the two heads become a mean and a spread?", "how_q_heads", _what_makes_the_heads,
              ctx)
    _question("Why doesn't z_std collapse to zero?", "how_q_collapse", _why_no_collapse, ctx)

    # ------------------------------------------------------------------ two inputs
    st.header("Every input gets its own z_mean and z_std")
    st.markdown("Same network, same weights — different inputs, different clouds. Pick a second input:")
    pick_l, pick_r = st.columns(2)
    pick_l.markdown(f"**Input 1** is the one chosen above: {desc}.")
    pick_r.markdown("**Input 2**")
    x_b, desc_b = _pick_input(model, test, "b", 1, pick_r)
    zb_mean, zb_log_var = model.encode(x_b[None])
    mu_b, lv_b = zb_mean[0].astype(np.float64), zb_log_var[0].astype(np.float64)
    for col, img, d, m, logvar in zip(st.columns(2), (x, x_b), (desc, desc_b), (mu, mu_b), (lv, lv_b)):
        ci, cc = col.columns([1, 3])
        ci.image(pics.inline_png(pics.to_png(img, 3)), caption=d, width="stretch")
        cc.code(f"z_mean = {E.fmt_vec(m)}\nz_std  = {E.fmt_vec(E.z_std(logvar))}", language="python")
    if can_map:
        s_b, _ = E.sample_cloud(mu_b, lv_b, n, seed=2)
        st.image(cache.cloud_picture(model, path, [
            {"name": "input 1", "z_mean": mu, "z_log_var": lv, "samples": samples, "color": CLOUD_COLORS[0]},
            {"name": "input 2", "z_mean": mu_b, "z_log_var": lv_b, "samples": s_b, "color": CLOUD_COLORS[1]}],
            width=1100, height=460), width="stretch")


main()
