"""The How-it-works page's sections: the encoder's two heads, explained with this model's live numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from explorer import cache, models, widgets
from explorer import explain as E
from explorer import pictures as pics
from explorer.explain import Encoding, encode  # noqa: F401  (the page calls how.encode)
from explorer.figures import pin_margins
from live_decoder import live_decoder, live_decoder_error
from vae.bundles.serving import ServedModel

CLOUD_COLORS = ["#111111", "#d62728"]

SRC_TEST, SRC_GALLERY = "A test digit", "A real digit (this model's gallery)"
SRC_YOURS, SRC_RANDOM = "Your drawing / upload", "The decode of a random z"
REPLAY_PAGE = "pages/latent_map.py"
MAGNIFY_KEY = "how_magnify"


@dataclass(frozen=True)
class RealDigits:
    """The real digits the page can offer: the whole test split if it is on this machine (images float,
    labels), else the bundle's gallery (cache.gallery: images uint8, labels, indices into the split)."""

    test: tuple[np.ndarray, np.ndarray] | None
    gallery: dict | None

    @property
    def any(self) -> bool:
        return self.test is not None or self.gallery is not None


# ----------------------------------------------------------------------------- pure computations


def can_map(model: ServedModel) -> bool:
    """Whether a cloud can be placed on a map: above 2-D the map is a PCA of the reference encodings."""
    return model.latent_dim == 2 or model.reference is not None


def input_options(has_test: bool, has_gallery: bool, has_current_input: bool) -> list[str]:
    """The input sources on offer: real digits (the test set if it is here, else the bundle's gallery), the
    Encode page's drawing or upload if there is one; the decode of a random z only when there is neither."""
    real = [SRC_TEST] if has_test else [SRC_GALLERY] if has_gallery else []
    yours = [SRC_YOURS] if has_current_input else []
    return real + yours + ([] if real or yours else [SRC_RANDOM])


def default_source(options: list[str], slot: str) -> int:
    """Coming from the Encode page, the first input defaults to what was encoded there."""
    return options.index(SRC_YOURS) if slot == "a" and SRC_YOURS in options else 0


def dim_index(n: int) -> pd.Index:
    """The row labels z[0], z[1], ... of the per-dimension tables."""
    return pd.Index([f"z[{i}]" for i in range(n)], name="dim")


def live_head_code(enc: Encoding, epsilon: np.ndarray) -> str:
    """The course's head as comments, each line followed by what it produced for this input."""
    return ("# z_mean = Dense(latent_dim)(x)\n"
            f"z_mean    = {E.fmt_vec(enc.z_mean)}\n"
            "# z_log_var = Dense(latent_dim)(x)   <- the course's \"sigma\": in fact a LOG-VARIANCE\n"
            f"z_log_var = {E.fmt_vec(enc.z_log_var)}\n"
            "# z = z_mean + exp(0.5 * z_log_var) * epsilon, step by step:\n"
            f"z_std     = {E.fmt_vec(enc.z_std)}   # exp(0.5 * z_log_var)\n"
            f"epsilon   = {E.fmt_vec(epsilon)}   # one draw from N(0, 1)\n"
            f"z         = {E.fmt_vec(E.reparameterize(enc.z_mean, enc.z_log_var, epsilon))}"
            "   # z_mean + z_std * epsilon")


def card_sigma_note(card: dict) -> str | None:
    """What the model card says about the 'sigma' head (an imported model's card records the heads' roles).
    The names and the card's words are the model author's: shown as plain text."""
    heads = card.get("heads")
    if isinstance(heads, dict) and heads.get("z_log_var"):
        lv_name, mean_name = (models.plain_text(str(heads.get(k, "?")), 200) for k in ("z_log_var", "z_mean"))
        how = models.plain_text(str(heads.get("roles_from") or "the encoder's outputs"), 200)
        text = (f"This model was imported. Its head **{lv_name}** was identified (source: {how}) as the "
                f"log-variance z_log_var, and **{mean_name}** as z_mean")
        if "sigma" in str(heads["z_log_var"]).lower():
            text += (" — so here too the head called “sigma” is a log-variance: "
                     f"it enters z as exp(0.5·{lv_name})")
        text += "."
        if card.get("roles"):
            text += f"\n\nFrom the model card: {models.plain_text(str(card['roles']), 600)}"
        return text
    quotes = [models.plain_text(str(card[k]), 600) for k in ("description", "notes", "roles")
              if "sigma" in str(card.get(k, "")).lower()]
    return "From this model's card: " + " ".join(quotes) if quotes else None


def cloud(name: str, enc: Encoding, samples: np.ndarray, color: str, magnify: float = 1.0) -> dict:
    """One input's cloud, as the cloud pictures take it: `samples` are the true draws; under a
    magnification both they and the ring are drawn with z_std × magnify."""
    return {"name": name, "z_mean": enc.z_mean, "z_log_var": enc.z_log_var + 2.0 * np.log(magnify),
            "samples": E.magnified(enc.z_mean, samples, magnify), "color": color}


def cloud_table(enc: Encoding, samples: np.ndarray, magnify: float = 1.0) -> pd.DataFrame:
    """The heads' outputs beside the mean and std of the samples drawn from them (magnified: × magnify)."""
    shown = E.magnified(enc.z_mean, samples, magnify)
    columns = {"z_mean": enc.z_mean, "cloud mean": shown.mean(0), "z_std": enc.z_std}
    if magnify != 1:
        columns[f"z_std × {magnify:g}"] = magnify * enc.z_std
    columns["cloud std"] = shown.std(0)
    return pd.DataFrame(columns, index=dim_index(enc.z_mean.size))


def parametrisation_table(z_log_var: np.ndarray) -> pd.DataFrame:
    """The raw z_log_var outputs read as a log-variance, and the two other ways they could be read."""
    p = E.parametrisations(z_log_var)

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
            f"exp(0.5 * z_log_var[0])   = {E.z_std(first):.4f}   # the std\n"
            f"sqrt(exp(z_log_var[0]))   = {np.sqrt(np.exp(first)):.4f}   # the same number\n"
            f"exp(z_log_var[0])         = {np.exp(first):.4f}   # the variance: wrong to scale ε by")


def gradient_code(enc: Encoding, epsilon: np.ndarray) -> str:
    """ε and the two gradients of z that the reparameterization trick opens to the heads."""
    return (f"epsilon              = {E.fmt_vec(epsilon)}\n"
            f"dz/dz_mean           = {E.fmt_vec(np.ones(enc.z_mean.size))}\n"
            f"dz/dz_log_var        = 0.5 * z_std * epsilon = {E.fmt_vec(0.5 * enc.z_std * epsilon)}")


def collapse_code(z_mean_j: float) -> str:
    """The KL of one dimension as its z_std shrinks towards 0: it grows without bound."""
    return "\n".join(f"z_std = {v:<7g} → KL = {E.kl_vs_std(z_mean_j, np.array([v]))[0]:.2f} nats"
                     for v in (1.0, 0.1, 0.01, 0.001, 1e-6))


def kl_curve_figure(enc: Encoding, dim: int) -> go.Figure:
    """KL of dimension `dim` against its z_std (z_mean fixed), with the learned z_std starred."""
    z_mean, z_std, kl = enc.z_mean[dim], enc.z_std[dim], enc.kl[dim]
    s = np.geomspace(0.005, 3.0, 300)
    fig = go.Figure(go.Scatter(x=s, y=E.kl_vs_std(z_mean, s), mode="lines", name="KL",
                               line=dict(color="#9467bd")))
    star = dict(size=13, symbol="star", color="gold", line=dict(color="black", width=1.5))
    fig.add_trace(go.Scatter(x=[z_std], y=[kl], mode="markers", name="learned z_std", marker=star))
    fig.update_xaxes(type="log", title=f"z_std of dimension {dim} (z_mean fixed at {z_mean:.3f})")
    fig.update_yaxes(title="KL (nats)")
    pin_margins(fig, top=30)
    fig.update_layout(height=320)
    return fig


def spread_figure(curve: dict) -> go.Figure:
    """Reconstruction, KL and their sum against the factor z_std is scaled by; the sum's minimum and the
    learned z_std (factor 1) marked."""
    f = curve["factor"]
    fig = go.Figure()
    for key, name, color, width in (("reconstruction", "reconstruction (expected)", "#1f77b4", 2),
                                    ("kl", "KL", "#9467bd", 2), ("total", "sum = −ELBO", "#111111", 3.5)):
        line = dict(color=color, width=width)
        fig.add_trace(go.Scatter(x=f, y=curve[key], mode="lines", name=name, line=line))
    best, learned = curve["best"], curve["learned"]
    fig.add_trace(go.Scatter(x=[f[best]], y=[curve["total"][best]], mode="markers",
                             name=f"minimum of the sum (× {f[best]:.2f})",
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


def spread_summary(curve: dict, enc: Encoding) -> str:
    """The chart in words: where the sum is lowest against where training put z_std."""
    f, best, learned = curve["factor"], curve["best"], curve["learned"]
    gap = curve["total"][learned] - curve["total"][best]
    where = ("exactly the learned z_std, within this grid's steps of × 1.2" if best == learned else
             f"z_std × {f[best]:.2f} (mean z_std {f[best] * enc.z_std.mean():.3g} against the learned "
             f"{enc.z_std.mean():.3g}), {gap:.2f} nats below the learned one's")
    return (f"For this input the sum is lowest at {where}. Narrower, the KL climbs (−log z_std); wider, the "
            "decodes spill into other digits and the reconstruction climbs. The encoder sets z_std for every "
            "input with one set of weights, trained on all of them, so it need not hit each input's own "
            f"minimum. Reconstruction is averaged over {curve['n_eps']} fixed draws of ε.")


# ----------------------------------------------------------------------------- sections: the input


def real_digits(model: ServedModel) -> RealDigits:
    """The test split the reference encodings come from if it is on this machine, else the gallery."""
    handle = models.handle(model.path)
    images = cache.reference_images(handle)
    if images is not None:
        return RealDigits((images, model.reference["labels"]), None)
    return RealDigits(None, cache.gallery(handle))


def default_digit(labels: np.ndarray, slot: str) -> int:
    """Input 1 defaults to the first digit, input 2 to the first of another label: two different digits."""
    return 0 if slot == "a" else E.first_of_another_label(labels, 0)


def pick_gallery_digit(model: ServedModel, gallery: dict, slot: str,
                       container: DeltaGenerator) -> tuple[np.ndarray, str]:
    """A real digit from the bundle's gallery, by label and which one of that label."""
    labels = np.asarray(gallery["labels"])
    kinds = sorted(int(v) for v in np.unique(labels))
    first = int(labels[default_digit(labels, slot)])
    c_label, c_k = container.columns(2)
    label = c_label.selectbox("Label", kinds, index=kinds.index(first), key=f"how_gal_label_{slot}",
                              format_func=lambda v: models.label_name(model, v))
    most = int(np.bincount(labels).max())
    k = int(c_k.number_input(f"Which one (1–{most})", 1, most, 1, key=f"how_gal_k_{slot}"))
    row = E.gallery_row(labels, label, k - 1)
    x = np.asarray(gallery["images"][row], np.float32) / 255.0
    return x, f"a real {models.label_name(model, label)}, test image #{int(gallery['indices'][row])}"


def pick_input(model: ServedModel, digits: RealDigits, slot: str,
               container: DeltaGenerator) -> tuple[np.ndarray, str]:
    """Let the learner choose an input in `container`; returns (28x28 image in [0, 1], description)."""
    options = input_options(digits.test is not None, digits.gallery is not None,
                            E.CURRENT_INPUT_KEY in st.session_state)
    source = container.radio("Input", options, index=default_source(options, slot), key=f"how_source_{slot}",
                             horizontal=True)
    if slot == "a" and SRC_YOURS not in options:
        container.page_link("pages/encode.py", label="Draw or upload your own digit on Encode: it then "
                            "appears here as an input", icon="✍️")
    if source == SRC_TEST:
        images, labels = digits.test
        i = int(container.number_input(f"Test image index (0–{len(images) - 1})", 0, len(images) - 1,
                                       default_digit(labels, slot), key=f"how_index_{slot}"))
        return np.asarray(images[i], np.float32), f"test image #{i} ({models.label_name(model, labels[i])})"
    if source == SRC_GALLERY:
        return pick_gallery_digit(model, digits.gallery, slot, container)
    if source == SRC_YOURS:
        x = np.asarray(st.session_state[E.CURRENT_INPUT_KEY], np.float32).reshape(28, 28)
        # A file's name is the visitor's text: shown as text.
        return x, models.plain_text(st.session_state.get(E.CURRENT_INPUT_NAME_KEY, "your input"))
    container.caption("This model carries no real digits and its dataset is not on this machine.")
    seed = int(container.number_input("Seed for the random z", 0, 10_000, 0 if slot == "a" else 1,
                                      key=f"how_seed_{slot}"))
    z = np.random.default_rng(seed).standard_normal((1, model.latent_dim))
    return model.decode(z)[0].astype(np.float32), f"decode of a random z (seed {seed})"


def thumbnail(container: DeltaGenerator, image: np.ndarray, scale: int, caption: str | None = None) -> None:
    """A digit as an inline PNG, as wide as its column."""
    container.image(pics.inline_png(pics.to_png(image, scale)), caption=caption, width="stretch")


# ----------------------------------------------------------------------------- sections: the page


def the_question() -> None:
    """The course's encoder head, and the answer to "where is the mean computed?"."""
    st.markdown("The question this page answers, about the encoder head the course wrote:")
    st.code(E.COURSE_HEAD_CODE, language="python")
    st.info(
        "**“Where is the mean computed?” — Nowhere.** `z_mean` and `z_log_var` are not statistics "
        "(an average, a spread) computed from the pixels. They are simply the **outputs of two Dense "
        "layers** that read the same features `x`. Nothing in the layers says “mean” or “variance”: "
        "they *become* a mean and a (log-)variance because of how `z` is built from them and because "
        "the loss rewards that. Every input gets its own pair, computed fresh by the network.")
    replay_link()
    st.caption(E.GLOSSARY)


def replay_link() -> None:
    """The way to the Latent map's replay of training, where the heads are seen becoming what they are."""
    st.page_link(REPLAY_PAGE, icon="▶️",
                 label="Watch these two heads become a mean and a spread: Latent map, “Watch it learn”")


def head_beside_live_numbers(model: ServedModel, x: np.ndarray, desc: str, enc: Encoding) -> None:
    """The input beside the course's code with this input's numbers, and why "sigma" is a log-variance."""
    c_img, c_live = st.columns([1, 4])
    thumbnail(c_img, x, 5, desc)
    c_live.markdown("**The course's code (as comments), and what each line produced for this input**")
    # A fixed ε, so that the example z does not change on every rerun.
    c_live.code(live_head_code(enc, np.random.default_rng(0).standard_normal(enc.z_mean.size)),
                language="python")
    st.markdown(
        "The course named the second head `sigma`, but it is **not** σ (a standard deviation): the code "
        "uses it as `exp(0.5 * sigma)`, which is only the standard deviation if `sigma` is "
        "**log σ², the log-variance**. That is why this app calls it `z_log_var`.")
    note = card_sigma_note(model.card)
    if note:
        st.info(note)


def what_you_expected(x: np.ndarray, enc: Encoding) -> None:
    """The statistic a learner expects "the mean" to be, beside z_mean: one number against learned ones."""
    d = enc.z_mean.size
    st.markdown("**What you might have expected, beside what the heads give.** A mean *computed* from the "
                "input would be one number per image, the same for any network. `z_mean` is "
                f"{d} number{'s' * (d != 1)} per image, and only training made them what they are:")
    st.code(E.expected_code(x, enc), language="python")


def batch_shapes(model: ServedModel) -> None:
    """z_mean, z_log_var and ε in a training batch, with this model's latent_dim and batch size."""
    from vae.bundles.bundle import read_training_config

    known = getattr(read_training_config(model.path), "batch_size", None)
    batch = known or 128
    st.markdown(f"**In a training batch** of {batch} images ({'this model’s' if known else 'the course’s'} "
                "batch size): every row is one image's own pair of heads, and ε is drawn anew for every "
                "image, every dimension and every step.")
    st.code(E.batch_shapes_code(model.latent_dim, batch), language="python")


def magnifier(enc: Encoding) -> float:
    """The "magnify z_std" control: for seeing the draws, never what the model does."""
    m = float(st.slider("Magnify z_std (for seeing only)", 1, 20, 1, key=MAGNIFY_KEY,
                        help="Multiplies z_std in the pictures of draws on this page: the cloud, its ring, "
                             "its decodes and the ε strips. The model itself always uses z_std × 1."))
    lo, hi = enc.z_std.min(), enc.z_std.max()
    if m == 1:
        st.caption(f"This input's z_std is {lo:.3g}–{hi:.3g}: draws this close to z_mean decode to images "
                   "that look alike. Magnify z_std to see what a draw does.")
    else:
        st.warning(f"**Magnified × {m:g}, for your eyes only.** The draws below use z_std × {m:g} "
                   f"({m * lo:.3g}–{m * hi:.3g} instead of {lo:.3g}–{hi:.3g}). The model never does this: it "
                   "trains and generates with z_std itself.")
    return m


def the_cloud(model: ServedModel, path: str, enc: Encoding) -> tuple[np.ndarray, float]:
    """Samples z = z_mean + z_std·ε on the map and in a table beside the heads, magnified if asked; returns
    the true samples and the magnification."""
    st.header("The reparameterization: z is a draw from N(z_mean, z_std²)")
    n = st.slider("Number of samples z = z_mean + z_std·ε", 10, 3000, 500, step=10, key="how_n")
    magnify = magnifier(enc)
    samples, _ = E.sample_cloud(enc.z_mean, enc.z_log_var, n, seed=1)
    c_map, c_tab = st.columns([1, 1])
    if can_map(model):
        zoom = c_map.toggle("Zoom in on the cloud", value=True, key="how_zoom",
                            help="A well-trained encoder gives each input a small cloud: on the whole map it "
                                 "is a dot. Zoomed, the box spans 4 z_std either side of z_mean.")
        if model.latent_dim > 2:
            c_map.caption(f"{model.latent_dim}-D latent space shown through its first two principal "
                          "components.")
        elif model.latent_dim == 1:
            c_map.caption("1-D latent space: x is z; y only spreads the test digits out (a random jitter). "
                          "The cloud lies on the centre line, its 2·z_std ring a horizontal bar.")
        # Half the page wide: the legend goes under the plot, so the plot keeps the width.
        this = [cloud("this input", enc, samples, CLOUD_COLORS[0], magnify)]
        picture = cache.cloud_picture(models.handle(path), this,
                                      zoom=zoom, width=480, height=560, legend_below=True)
        c_map.image(picture, width="stretch")
    else:
        c_map.info("This model stores no reference encodings, so the cloud cannot be placed on a map.")
    c_tab.markdown(f"The mean and std of these {n} samples (“cloud”) reproduce the two heads' outputs — "
                   "more closely the more samples you draw. That is all “mean” and “std” mean here: "
                   "the centre and width of the Gaussian the decoder is fed from.")
    c_tab.dataframe(cloud_table(enc, samples, magnify).style.format("{:.3f}"), width="stretch")
    cols = c_tab.columns(4)
    for i, img in enumerate(model.decode(E.magnified(enc.z_mean, samples[:8], magnify))):
        thumbnail(cols[i % 4], img, 3, f"z #{i + 1}" + (f" (× {magnify:g})" if magnify != 1 else ""))
    return samples, magnify


def move_z(model: ServedModel, path: str, z_mean: np.ndarray) -> None:
    """Drag z around this input's z_mean and watch the decoder's output change, decoded in the browser."""
    st.subheader("Move z yourself")
    st.markdown("The decoder only ever sees z. Start at this input's **z_mean** and drag: a step of one "
                "z_std barely changes the image, which is why a draw from N(z_mean, z_std²) still "
                "reconstructs this input.")
    handle = models.handle(path)
    sliders = np.asarray(cache.latent_ranges(handle)["sliders"], np.float64)
    points, labels, plane = cache.live_decoder_inputs(handle)
    z0 = np.clip(z_mean, sliders[:, 0], sliders[:, 1])
    live_decoder(cache.decoder_bytes(handle), model.latent_dim, z0.tolist(),
                 [tuple(r) for r in sliders], points, labels, key="how_live", plane=plane)
    error = live_decoder_error("how_live")
    if error:
        st.warning(f"Your browser could not run the decoder ({error}); "
                   "the Decoder page decodes on the server.")


def kl_per_dimension(enc: Encoding) -> None:
    """This input's KL per dimension, beside the formula it comes from."""
    st.header("The KL term, per dimension")
    kl = enc.kl
    c1, c2 = st.columns([3, 2])
    c1.markdown(f"**KL(N(z_mean, z_std²) ‖ N(0, 1)) per dimension** — total {kl.sum():.2f} nats")
    widgets.kl_table(c1, kl, enc.z_mean, enc.z_std, z_log_var=enc.z_log_var)
    c2.markdown("Per dimension, the KL term of the loss is")
    c2.latex(r"\mathrm{KL}_j = -\tfrac12\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)")
    c2.markdown("It is zero only when z_mean = 0 and z_std = 1 (the prior N(0, 1)). It charges this input "
                "for moving its cloud away from the centre and for making it narrower or wider than 1.")


# ----------------------------------------------------------------------------- sections: follow-up questions


@dataclass(frozen=True)
class Input:
    """What the follow-up answers are about: the model, this input, its heads, its sampled cloud (true
    draws) and the page's magnification of z_std for pictures."""

    model: ServedModel
    x: np.ndarray
    enc: Encoding
    samples: np.ndarray
    magnify: float = 1.0


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
    st.code(half_code(about.enc.z_log_var), language="python")


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
    z_same = np.repeat(E.reparameterize(enc.z_mean, enc.z_log_var + 2.0 * np.log(m), eps), 4, axis=0)
    z_diff, _ = E.sample_cloud(enc.z_mean, enc.z_log_var + 2.0 * np.log(m), 4, seed=seed + 1)
    st.code(gradient_code(enc, eps[0]), language="python")
    if m != 1:
        st.caption(f"The strips below use z_std × {m:g} (the page's magnifier), for seeing only.")
    a, b = st.columns(2)
    texts = ("**Same ε four times** → the same z, the same image: nothing random is left.",
             "**Four different ε** → four draws from this input's cloud.")
    for col, z, text in zip((a, b), (z_same, z_diff), texts):
        col.markdown(text)
        for cell, img in zip(col.columns(4), about.model.decode(z)):
            thumbnail(cell, img, 3)


def what_makes_the_heads(about: Input) -> None:
    """Only the loss makes the heads a mean and a spread: reconstruction against KL, in this input's nats."""
    model, x, enc = about.model, about.x, about.enc
    st.markdown(
        "Only the loss, the **negative ELBO = reconstruction + KL**:\n"
        "- the **reconstruction** term wants the decoder to redraw this image from *any* z in its cloud: "
        "it pushes z_mean to a spot that decodes to this digit and z_std small, so the cloud does not "
        "spill into other digits;\n"
        "- the **KL** term pulls every cloud towards N(0, 1): z_mean towards 0, z_std towards 1.\n\n"
        "Training settles the tug-of-war; the head that sets the cloud's centre is what we then call "
        "z_mean, the other its log-variance. “Why doesn't z_std collapse to zero?” below draws both terms "
        "against this input's spread.")
    replay_link()
    elbo = E.per_image_elbo(x, model.decode(enc.z_mean[None])[0], enc.z_mean, enc.z_log_var)
    rec_samples = float(np.mean([E.per_image_elbo(x, d, enc.z_mean, enc.z_log_var)["reconstruction_loss"]
                                 for d in model.decode(about.samples[:32])]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Reconstruction at z_mean", f"{elbo['reconstruction_loss']:.1f} nats")
    m2.metric("Reconstruction (samples)", f"{rec_samples:.1f} nats",
              help="Averaged over 32 sampled z: the term training optimises, estimated by sampling.")
    m3.metric("KL (all dims)", f"{elbo['kl_loss']:.2f} nats")
    m4.metric("Negative ELBO (at z_mean)", f"{elbo['neg_elbo']:.1f} nats")
    st.markdown("**This input's KL per dimension**")
    widgets.kl_table(st, np.asarray(elbo["kl_per_dim"]), enc.z_mean, enc.z_std)


def why_no_collapse(about: Input) -> None:
    """Why z_std stays above 0: reconstruction against KL as this input's spread is scaled, then the KL's
    −log σ, which grows without bound, on one dimension's curve."""
    enc = about.enc
    st.markdown("**The tug of war, for this input.** Scale every dimension's z_std by one factor, keep "
                "z_mean, and add up what each term charges:")
    curve = cache.spread_curve(models.handle(about.model.path), about.x)
    st.plotly_chart(spread_figure(curve), width="stretch", key="how_spread_curve")
    st.caption(spread_summary(curve, enc))
    st.markdown("**One dimension's KL alone**")
    dim = st.selectbox("Dimension", list(range(enc.z_mean.size)), format_func=lambda d: f"z[{d}]",
                       key="how_dim")
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(kl_curve_figure(enc, dim), width="stretch", key="how_kl_curve")
    c2.markdown(
        "The reconstruction term alone would shrink z_std to 0 (a point is easiest to decode). "
        r"But the KL contains $-\log\sigma$, which **grows without bound as σ → 0**:")
    c2.code(collapse_code(enc.z_mean[dim]), language="text")
    c2.markdown(f"This input's learned z_std here is **{enc.z_std[dim]:.3f}** (KL {enc.kl[dim]:.3f} nats): "
                "the point where shrinking the cloud further costs more KL than it buys in "
                "reconstruction.")


# ----------------------------------------------------------------------------- sections: two inputs


def two_inputs(model: ServedModel, path: str, digits: RealDigits, first: Input, desc: str) -> None:
    """A second input beside the first: same weights, different heads, and both clouds on one map."""
    st.header("Every input gets its own z_mean and z_std")
    st.markdown("Same network, same weights — different inputs, different clouds. Pick a second input:")
    pick_l, pick_r = st.columns(2)
    pick_l.markdown(f"**Input 1** is the one chosen above: {desc}.")
    pick_r.markdown("**Input 2**")
    x_b, desc_b = pick_input(model, digits, "b", pick_r)
    enc_b = encode(model, x_b)
    for col, img, d, enc in zip(st.columns(2), (first.x, x_b), (desc, desc_b), (first.enc, enc_b)):
        ci, cc = col.columns([1, 3])
        thumbnail(ci, img, 3, d)
        cc.code(f"z_mean = {E.fmt_vec(enc.z_mean)}\nz_std  = {E.fmt_vec(enc.z_std)}", language="python")
    if can_map(model):
        # As many samples as the first cloud, so that the two clouds look alike but for their heads.
        samples_b, _ = E.sample_cloud(enc_b.z_mean, enc_b.z_log_var, len(first.samples), seed=2)
        m = first.magnify
        st.image(cache.cloud_picture(models.handle(path), [
            cloud("input 1", first.enc, first.samples, CLOUD_COLORS[0], m),
            cloud("input 2", enc_b, samples_b, CLOUD_COLORS[1], m)], width=1100, height=460), width="stretch")
        if m != 1:
            st.caption(f"Both clouds drawn with z_std × {m:g} (the magnifier above), for seeing only.")
