"""The How-it-works page's sections: the encoder's two heads, explained with this model's live numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from explorer import alt_text, cache, explain, icons, models, nouns, widgets
from explorer import pictures as pics
from explorer.explain import Encoding, encode  # noqa: F401  (the page calls how.encode)
from explorer.models import Handle
from explorer.sections.live_pad import live_pad
from explorer.training_facts import TrainingFacts, beta_phrase, facts_of, loss_latex  # noqa: F401  (the page calls how.facts_of)
from vae.bundles.bundle import read_training_config
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
            f"z_mean    = {explain.fmt_vec(enc.z_mean)}\n"
            "# z_log_var = Dense(latent_dim)(x)   <- the course's \"sigma\": in fact a LOG-VARIANCE\n"
            f"z_log_var = {explain.fmt_vec(enc.z_log_var)}\n"
            "# z = z_mean + exp(0.5 * z_log_var) * epsilon, step by step:\n"
            f"z_std     = {explain.fmt_vec(enc.z_std)}   # exp(0.5 * z_log_var)\n"
            f"epsilon   = {explain.fmt_vec(epsilon)}   # one draw from N(0, 1)\n"
            f"z         = {explain.fmt_vec(explain.reparameterize(enc.z_mean, enc.z_log_var, epsilon))}"
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
            "samples": explain.magnified(enc.z_mean, samples, magnify), "color": color}


def cloud_table(enc: Encoding, samples: np.ndarray, magnify: float = 1.0) -> pd.DataFrame:
    """The heads' outputs beside the mean and std of the samples drawn from them (magnified: × magnify)."""
    shown = explain.magnified(enc.z_mean, samples, magnify)
    columns = {"z_mean": enc.z_mean, "cloud mean": shown.mean(0), "z_std": enc.z_std}
    if magnify != 1:
        columns[f"z_std × {magnify:g}"] = magnify * enc.z_std
    columns["cloud std"] = shown.std(0)
    return pd.DataFrame(columns, index=dim_index(enc.z_mean.size))


# ----------------------------------------------------------------------------- sections: the input


def real_digits(handle: Handle) -> RealDigits:
    """The test split the reference encodings come from if it is on this machine, else the gallery."""
    images = cache.reference_images(handle)
    if images is not None:
        return RealDigits((images, handle.served.reference["labels"]), None)
    return RealDigits(None, cache.gallery(handle))


def default_digit(labels: np.ndarray, slot: str) -> int:
    """Input 1 defaults to the first digit, input 2 to the first of another label: two different digits."""
    return 0 if slot == "a" else explain.first_of_another_label(labels, 0)


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
    row = explain.gallery_row(labels, label, k - 1)
    x = np.asarray(gallery["images"][row], np.float32) / 255.0
    return x, f"a real {models.label_name(model, label)}, test image #{int(gallery['indices'][row])}"


def pick_input(handle: Handle, digits: RealDigits, slot: str,
               container: DeltaGenerator) -> tuple[np.ndarray, str]:
    """Let the learner choose an input in `container`; returns (the model's image in [0, 1], description)."""
    model = handle.served
    options = input_options(digits.test is not None, digits.gallery is not None,
                            explain.CURRENT_INPUT_KEY in st.session_state)
    noun = nouns.noun(model)  # the options keep their values (SRC_*); a model of other images shows its noun
    source = container.radio("Input", options, index=default_source(options, slot), key=f"how_source_{slot}",
                             horizontal=True, format_func=lambda option: option.replace("digit", noun))
    if slot == "a" and SRC_YOURS not in options:
        container.page_link("pages/encode.py", label=f"Draw or upload your own {noun} on Encode: it then "
                            "appears here as an input", icon=icons.PAGES["encode"])
    if source == SRC_TEST:
        images, labels = digits.test
        i = int(container.number_input(f"Test image index (0–{len(images) - 1})", 0, len(images) - 1,
                                       default_digit(labels, slot), key=f"how_index_{slot}"))
        return np.asarray(images[i], np.float32), f"test image #{i} ({models.label_name(model, labels[i])})"
    if source == SRC_GALLERY:
        return pick_gallery_digit(model, digits.gallery, slot, container)
    if source == SRC_YOURS:
        x = explain.as_input(st.session_state[explain.CURRENT_INPUT_KEY], model)
        # A file's name is the visitor's text: shown as text.
        return x, models.plain_text(st.session_state.get(explain.CURRENT_INPUT_NAME_KEY, "your input"))
    container.caption(f"This model carries no real {noun}s and its dataset is not on this machine.")
    seed = int(container.number_input("Seed for the random z", 0, 10_000, 0 if slot == "a" else 1,
                                      key=f"how_seed_{slot}"))
    z = np.random.default_rng(seed).standard_normal((1, model.latent_dim))
    return model.decode(z)[0].astype(np.float32), f"decode of a random z (seed {seed})"


def thumbnail(container: DeltaGenerator, image: np.ndarray, scale: int, caption: str | None = None, *,
              alt: str) -> None:
    """A digit as an inline PNG, as wide as its column, with `alt` saying what it shows."""
    container.image(pics.inline_png(pics.to_png(image, scale)), caption=caption, width="stretch", alt=alt)


# ----------------------------------------------------------------------------- sections: the page


def the_question() -> None:
    """The course's encoder head, and the answer to "where is the mean computed?"."""
    st.markdown("The question this page answers, about the encoder head the course wrote:")
    # Code on the pages is plain (language=None): Streamlit's fixed syntax colours for comments and numbers
    # are 3.5:1 and 2.5:1 on the code background, below WCAG AA's 4.5:1.
    st.code(explain.COURSE_HEAD_CODE, language=None)
    st.info(
        "**“Where is the mean computed?” — Nowhere.** `z_mean` and `z_log_var` are not statistics "
        "(an average, a spread) computed from the pixels. They are simply the **outputs of two Dense "
        "layers** that read the same features `x`. Nothing in the layers says “mean” or “variance”: "
        "they *become* a mean and a (log-)variance because of how `z` is built from them and because "
        "the loss rewards that. Every input gets its own pair, computed fresh by the network.")
    replay_link()


def glossary(facts: TrainingFacts) -> None:
    """The page's words in one line, the loss with this model's β (`facts`: the model's)."""
    st.caption(explain.glossary(beta_phrase(facts)))


def replay_link() -> None:
    """The way to the Latent map's replay of training, where the heads are seen becoming what they are."""
    st.page_link(REPLAY_PAGE, icon=icons.PLAY,
                 label="Watch these two heads become a mean and a spread: Latent map, “Watch it learn”")


def head_beside_live_numbers(handle: Handle, x: np.ndarray, desc: str, enc: Encoding) -> None:
    """The input beside the course's code with this input's numbers, and why "sigma" is a log-variance."""
    c_img, c_live = st.columns([1, 4])
    thumbnail(c_img, x, 5, desc, alt="the input: " + alt_text.plain(desc))
    c_live.markdown("**The course's code (as comments), and what each line produced for this input**")
    # A fixed ε, so that the example z does not change on every rerun.
    c_live.code(live_head_code(enc, np.random.default_rng(0).standard_normal(enc.z_mean.size)),
                language=None)
    st.markdown(
        "The course named the second head `sigma`, but it is **not** σ (a standard deviation): the code "
        "uses it as `exp(0.5 * sigma)`, which is only the standard deviation if `sigma` is "
        "**log σ², the log-variance**. That is why this app calls it `z_log_var`.")
    note = card_sigma_note(handle.served.card)
    if note:
        st.info(note)


def what_you_expected(x: np.ndarray, enc: Encoding) -> None:
    """The statistic a learner expects "the mean" to be, beside z_mean: one number against learned ones."""
    d = enc.z_mean.size
    st.markdown("**What you might have expected, beside what the heads give.** A mean *computed* from the "
                "input would be one number per image, the same for any network. `z_mean` is "
                f"{d} number{'s' * (d != 1)} per image, and only training made them what they are:")
    st.code(explain.expected_code(x, enc), language=None)


def batch_shapes(handle: Handle) -> None:
    """z_mean, z_log_var and ε in a training batch, with this model's latent_dim and batch size."""
    model = handle.served
    known = getattr(read_training_config(model.path), "batch_size", None)
    batch = known or 128
    st.markdown(f"**In a training batch** of {batch} images ({'this model’s' if known else 'the course’s'} "
                "batch size): every row is one image's own pair of heads, and ε is drawn anew for every "
                "image, every dimension and every step.")
    st.code(explain.batch_shapes_code(model.latent_dim, batch), language=None)


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


def the_cloud(handle: Handle, enc: Encoding) -> tuple[np.ndarray, float]:
    """Samples z = z_mean + z_std·ε on the map and in a table beside the heads, magnified if asked; returns
    the true samples and the magnification."""
    model = handle.served
    st.header("The reparameterization: z is a draw from N(z_mean, z_std²)")
    n = st.slider("Number of samples z = z_mean + z_std·ε", 10, 3000, 500, step=10, key="how_n")
    magnify = magnifier(enc)
    samples, _ = explain.sample_cloud(enc.z_mean, enc.z_log_var, n, seed=1)
    c_map, c_tab = st.columns([1, 1])
    if can_map(model):
        zoom = c_map.toggle("Zoom in on the cloud", value=True, key="how_zoom",
                            help="Zoomed, the box spans 4 z_std either side of z_mean: a cloud much smaller "
                                 "than the map is a dot on the whole of it.")
        if model.latent_dim > 2:
            c_map.caption(f"{model.latent_dim}-D latent space shown through its first two principal "
                          "components.")
        elif model.latent_dim == 1:
            c_map.caption(f"1-D latent space: x is z; y only spreads the test {nouns.things(model)} out (a "
                          "random jitter). The cloud lies on the centre line, its 2·z_std ring a horizontal "
                          "bar.")
        # Half the page wide: the legend goes under the plot, so the plot keeps the width.
        this = [cloud("this input", enc, samples, CLOUD_COLORS[0], magnify)]
        picture = cache.cloud_picture(handle, this,
                                      zoom=zoom, width=480, height=560, legend_below=True)
        c_map.image(picture, width="stretch", alt=alt_text.clouds(this, magnify))
    else:
        c_map.info("This model stores no reference encodings, so the cloud cannot be placed on a map.")
    c_tab.markdown(f"The mean and std of these {n} samples (“cloud”) reproduce the two heads' outputs — "
                   "more closely the more samples you draw. That is all “mean” and “std” mean here: "
                   "the centre and width of the Gaussian the decoder is fed from.")
    table = cloud_table(enc, samples, magnify)  # (a column format, not a pandas Styler: ~5 ms a run less)
    c_tab.dataframe(table, width="stretch",
                    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns})
    cols = c_tab.columns(4)
    shown = explain.magnified(enc.z_mean, samples[:8], magnify)
    for i, img in enumerate(model.decode(shown)):
        thumbnail(cols[i % 4], img, 3, f"z #{i + 1}" + (f" (× {magnify:g})" if magnify != 1 else ""),
                  alt=f"sample {i + 1}: " + alt_text.decoded(shown[i]))
    return samples, magnify


def move_z(handle: Handle, z_mean: np.ndarray) -> None:
    """Drag z around this input's z_mean and watch the decoder's output change, decoded in the browser."""
    st.subheader("Move z yourself")
    st.markdown("The decoder only ever sees z. Start at this input's **z_mean** and drag: a step of one "
                "z_std barely changes the image, which is why a draw from N(z_mean, z_std²) still "
                "reconstructs this input.")
    sliders = np.asarray(cache.latent_ranges(handle)["sliders"], np.float64)
    error = live_pad(handle, np.clip(z_mean, sliders[:, 0], sliders[:, 1]), sliders, "how_live")
    if error:
        st.warning(f"Your browser could not run the decoder ({error}); "
                   "the Decoder page decodes on the server.")


def kl_per_dimension(enc: Encoding, facts: TrainingFacts) -> None:
    """This input's KL per dimension, beside the formula it comes from and the loss that weighs it by β."""
    st.header("The KL term, per dimension")
    kl = enc.kl
    c1, c2 = st.columns([3, 2])
    c1.markdown(f"**KL(N(z_mean, z_std²) ‖ N(0, 1)) per dimension** — total {kl.sum():.2f} nats")
    widgets.kl_table(c1, kl, enc.z_mean, enc.z_std, z_log_var=enc.z_log_var)
    c2.markdown("Per dimension, the KL is")
    c2.latex(r"\mathrm{KL}_j = -\tfrac12\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)")
    c2.markdown("It is zero only when z_mean = 0 and z_std = 1 (the prior N(0, 1)). This model's loss is")
    c2.latex(loss_latex(facts))
    c2.markdown(kl_weight_note(facts))


def kl_weight_note(facts: TrainingFacts) -> str:
    """What the loss does with the KL, by this model's β."""
    if facts.beta == 0:
        return ("With β = 0 the loss leaves the KL out: the table measures how far each cloud is from the "
                "prior, but training never saw these numbers.")
    return (f"Weighed by β = {facts.beta:g}, the KL charges this input for moving its cloud away from the "
            "centre and for making it narrower or wider than 1.")


# ----------------------------------------------------------------------------- sections: two inputs


@dataclass(frozen=True)
class Input:
    """What the follow-up answers are about: the model's handle, this input, its heads, its sampled cloud
    (true draws) and the page's magnification of z_std for pictures."""

    handle: Handle
    x: np.ndarray
    enc: Encoding
    samples: np.ndarray
    magnify: float = 1.0

    @property
    def model(self) -> ServedModel:
        return self.handle.served


def two_inputs(handle: Handle, digits: RealDigits, first: Input, desc: str) -> None:
    """A second input beside the first: same weights, different heads, and both clouds on one map."""
    model = handle.served
    st.header("Every input gets its own z_mean and z_std")
    st.markdown("Same network, same weights — different inputs, different clouds. Pick a second input:")
    pick_l, pick_r = st.columns(2)
    pick_l.markdown(f"**Input 1** is the one chosen above: {desc}.")
    pick_r.markdown("**Input 2**")
    x_b, desc_b = pick_input(handle, digits, "b", pick_r)
    enc_b = encode(model, x_b)
    pairs = zip(st.columns(2), (first.x, x_b), (desc, desc_b), (first.enc, enc_b))
    for k, (col, img, d, enc) in enumerate(pairs):
        ci, cc = col.columns([1, 3])
        thumbnail(ci, img, 3, d, alt=f"input {k + 1}: {alt_text.plain(d)}")
        cc.code(f"z_mean = {explain.fmt_vec(enc.z_mean)}\nz_std  = {explain.fmt_vec(enc.z_std)}",
                language=None)
    if can_map(model):
        # As many samples as the first cloud, so that the two clouds look alike but for their heads.
        samples_b, _ = explain.sample_cloud(enc_b.z_mean, enc_b.z_log_var, len(first.samples), seed=2)
        m = first.magnify
        both = [cloud("input 1", first.enc, first.samples, CLOUD_COLORS[0], m),
                cloud("input 2", enc_b, samples_b, CLOUD_COLORS[1], m)]
        st.image(cache.cloud_picture(handle, both, width=1100, height=460), width="stretch",
                 alt=alt_text.clouds(both, m))
        if m != 1:
            st.caption(f"Both clouds drawn with z_std × {m:g} (the magnifier above), for seeing only.")
