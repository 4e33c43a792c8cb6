"""Compare's sections: two models side by side on the same test digits, inputs and prior draws."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from explorer import alt_text, cache, compare_facts, explain, icons, models, nouns
from explorer import geometry as geo
from explorer import pictures as pics
from explorer.figures import latent_figure
from explorer.models import Entry, Handle
from explorer.training_facts import facts_in
from vae.bundles.bundle import CARD_JSON, read_json

COMPARE_KEY = "compare"  # the link's ?compare=<id>: the right-hand model
LEGEND_ROWS_PX = 90  # under each map: its legend's rows (10 labels and 3 more, in a half-width column)
N_POINTS = 2000  # test digits drawn on both maps: the same ones
N_RINGS = 150
N_PRIOR = 8
LEFT_KEY = "left"  # the link's ?left=<id>: the left-hand model (without it, the current model)
PAIR_KEY = "compare_pair"  # the (left, right) ids this visitor last picked here, kept across pages
# The pair Compare opens on, left then right: the one name for it (README, tests and the intro follow it).
# β = 0 against β = 1 shows what the KL term itself does, the one thing a VAE adds to an autoencoder: the
# two share one recipe (10 epochs, batch 128, one stage), and without the term the clouds shrink to points
# (mean z_std 0.002 against 0.076) and the codes spread far past the prior (its 2σ circle holds 39 % of the
# test digits against 79 %), for a slightly better reconstruction (148.4 against 151.2 nats). β = 1 against
# β = 5 only turns the same knob further, and its maps differ far less to the eye.
DEFAULT_PAIR = ("mnist-2d-beta0", "mnist-2d-beta1")
INTRO = ("Two models, the same test images: their metrics, their maps, the same inputs reconstructed and the "
         "same draws from the prior decoded. Pick any two; the row under the pickers says how their recipes "
         "differ.")


def intro() -> None:
    st.title(icons.title("compare", "Compare two models"))
    st.markdown(INTRO + default_pair_sentence(models.model_ids()))


def default_pair_sentence(ids: dict[str, str]) -> str:
    """Which pair the page opens on, with their β from their cards (nothing when they are not here)."""
    if not all(i in ids for i in DEFAULT_PAIR):
        return ""
    a, b = (facts_in(ids[i]).beta for i in DEFAULT_PAIR)
    return (f" Unless a link names them, it opens on the shipped pair **β = {a:g} on the left and β = {b:g} "
            "on the right**, trained with one recipe but for β: what the KL term does to the clouds, the "
            "map and the prior's draws.")


def pick_models(handle: Handle) -> tuple[Handle, Handle]:
    """(left, right): from the link (?compare=<right>, ?left=<left>, else the current model on the left),
    else this visitor's last pick here, else the shipped β pair (DEFAULT_PAIR). `handle`: the current model's;
    each other model gets its own handle, resolved once here."""
    catalogue = {e.id: e for e in models.entries()}
    ids = {i: e.path for i, e in catalogue.items()}
    labels = {i: lab for lab, i in models.model_choices().items()}
    current_id = handle.id
    asked = st.query_params.get(COMPARE_KEY)
    if asked and asked not in ids:
        st.warning(f"This link's second model, “{models.plain_text(asked)}”, is not one of the models you "
                   "can open here; another is shown.")
    left_id, right_id = default_pair(current_id, ids, asked, st.query_params.get(LEFT_KEY),
                                     st.session_state.get(PAIR_KEY))
    c1, c2 = st.columns(2)
    options = list(ids)
    name = lambda i: labels.get(i, i)  # noqa: E731  (the pickers show names, not ids)
    left = c1.selectbox("Left", options, format_func=name, key="compare_left", index=options.index(left_id))
    right = c2.selectbox("Right", options, index=options.index(right_id), format_func=name,
                         key="compare_right")
    if (left, right) != (left_id, right_id):  # the visitor picked: kept for their next visit here
        st.session_state[PAIR_KEY] = (left, right)
    for key, value in ((LEFT_KEY, left), (COMPARE_KEY, right)):  # the pair is part of the link
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    known = {current_id: handle}
    for i in (left, right):
        if i not in known:
            known[i] = _handle_or_current(catalogue[i], handle)
    return known[left], known[right]


def _handle_or_current(entry: Entry, current: Handle) -> Handle:
    """Another model's handle; for one that cannot be loaded (a shared bundle with damaged files), a word
    and the current model in its place, so that the page still compares something."""
    try:
        return models.handle_of(entry.path, entry)
    except Exception as exc:  # a damaged bundle (bad ONNX, unreadable file) must not break the page
        # The reason goes to the server's log: its text can name server paths.
        print(f"Latent Explorer: model {entry.path} could not be loaded: {exc!r}", file=sys.stderr)
        st.warning(f"The model “{models.plain_text(entry.name)}” could not be loaded (its files are damaged "
                   "or incomplete), so the current model is shown in its place.", icon=icons.WARNING)
        return current


def default_pair(current_id: str | None, ids: dict[str, str], asked: str | None = None,
                 asked_left: str | None = None, picked: tuple[str, str] | None = None) -> tuple[str, str]:
    """The (left, right) ids to open on: a link's ?compare= (right) with its ?left= or else the current model;
    else the visitor's last pick; else the shipped β pair in order (DEFAULT_PAIR); else the current model
    and a partner for it."""
    if asked in ids:
        return (asked_left if asked_left in ids else current_id if current_id in ids else asked), asked
    if picked and all(i in ids for i in picked):
        return picked[0], picked[1]
    if all(i in ids for i in DEFAULT_PAIR):
        return DEFAULT_PAIR
    left = current_id if current_id in ids else next(iter(ids))
    return left, default_partner(left, ids)


def default_partner(left_id: str | None, ids: dict[str, str]) -> str:
    """The model to compare with when the link names none and the shipped β pair is not here: a model of the
    same dataset and latent_dim, else any other."""
    others = [i for i in ids if i != left_id] or list(ids)

    def likeness(i: str) -> tuple[bool, bool]:
        card, mine = read_json(Path(ids[i]) / CARD_JSON, {}), read_json(
            Path(ids.get(left_id, ids[i])) / CARD_JSON, {})
        return (card.get("dataset") == mine.get("dataset"), card.get("latent_dim") == mine.get("latent_dim"))

    return max(others, key=likeness)


def what_differs(left: Handle, right: Handle) -> None:
    """The two recipes side by side, and a sentence on whatever differs besides the thing compared."""
    recipes = [compare_facts.recipe(h.served) for h in (left, right)]
    st.dataframe(compare_facts.recipe_table(_names(left, right), recipes), width="stretch")
    level, text = compare_facts.differs_sentence(compare_facts.differences(*recipes))
    getattr(st, level)(text)


def _names(left: Handle, right: Handle) -> list[str]:
    """The models' names as a table shows them: plain text, no Markdown escapes (a table prints them as
    they are)."""
    return [" ".join(h.served.name.split()) for h in (left, right)]


def metrics(left: Handle, right: Handle) -> None:
    """The two cards' test numbers in one table."""
    rows = []
    for h in (left, right):
        m, card = h.served.metrics or {}, h.served.card
        test = card.get("test_metrics", m)
        rows.append({  # (β, latent_dim and epochs are in the recipes' table above)
            "negative ELBO": test.get("neg_elbo"), "reconstruction": test.get("reconstruction_loss"),
            "KL": test.get("kl_loss"), "active units": test.get("active_units"),
            "mean z_std": _mean_std(h)})
    st.dataframe(pd.DataFrame(rows, index=compare_facts.table_index(_names(left, right))), width="stretch")
    st.caption("Losses in nats per image on the test split: the negative ELBO is reconstruction + KL; each "
               "model trained on reconstruction + β·KL with its own β. Mean z_std: the average spread of the "
               "encoder's clouds (the prior's is 1).")


def _mean_std(h: Handle) -> float | None:
    ref = h.served.reference
    return None if ref is None else float(np.exp(0.5 * ref["z_log_var"]).mean())


def maps(left: Handle, right: Handle) -> None:
    """The same test digits' z_mean (and z_std rings for some) on each model's map."""
    things = nouns.things(left.served, right.served)
    st.subheader(f"The same test {things} on both maps")
    n = _common_size(left, right)
    common = _sample(n)
    datasets = {h.served.card.get("dataset") for h in (left, right)}
    if len(datasets) > 1:
        st.warning("These two models were trained on different datasets: the same test indices are different "
                   "images, so compare the maps' shapes, not where an image lands.")
    for side, col, h in zip(("left", "right"), st.columns(2), (left, right)):
        with col:
            if h.served.reference is None:
                st.info("This model stores no reference encodings: no map to draw.")
                continue
            st.plotly_chart(_map_figure(h, n), key=f"compare_map_{side}",
                            config={"displayModeBar": False})
    st.caption(f"{len(common):,} test {things}, the same on both sides; rings: z_std (1σ) of {N_RINGS} of "
               f"them. Black numbers: the {N_PRIOR} draws from the prior decoded below, the same z for both "
               "models; dashed: the prior's 2σ circle, where 86 % of its draws land.")


# One figure per model and test split size, shared by every session (st.plotly_chart only reads it):
# two maps of 2,000 points through Plotly's validators were most of a Compare view's server CPU.
@st.cache_resource(show_spinner=False, max_entries=8, hash_funcs=cache.BY_CACHE_KEY)
def _map_figure(h: Handle, n: int):
    """The model's map of the test digits both models share, of test splits of n (the same on both)."""
    rows = _sample(n)
    xy, plane = cache.map_plane(h)
    ref = h.served.reference
    std = np.exp(0.5 * ref["z_log_var"][rows[:N_RINGS]])
    if plane is not None and "components" in plane:
        cov = geo.projected_cov(std, plane["components"])
    else:  # 2-D (or the 1-D strip: its rings are bars across z0)
        cov = np.stack([np.diag([s[0] ** 2, (s[1] if len(s) > 1 else 0.0) ** 2]) for s in std])
    labels = ref.get("labels")
    titles = ("z0", "z1") if plane is None else ("PC 1", "PC 2") if "components" in plane else ("z0", "")
    draws = compare_facts.prior_draws(h.served.latent_dim, N_PRIOR)
    at = draws if plane is None else geo.pca_project(draws, plane["components"], plane["mean"])
    # The plot holds the draws too: one outside the test digits' range would otherwise not be seen.
    x_range, y_range = ((min(lo, float(v.min()) - 0.2), max(hi, float(v.max()) + 0.2))
                        for (lo, hi), v in zip(cache.plane_ranges(h), at.T))
    fig = latent_figure(xy[rows], rows, None if labels is None else labels[rows],
                        models.class_names(h.served), None, x_range, y_range, *titles,
                        ellipses=geo.ellipse_paths(xy[rows[:N_RINGS]], cov), height=460, showlegend=False)
    if h.served.latent_dim == 2:
        t = np.linspace(0, 2 * np.pi, 73)
        fig.add_scatter(x=2 * np.cos(t), y=2 * np.sin(t), mode="lines", name="prior's 2σ circle",
                        line=dict(color="black", width=1.5, dash="dash"), hoverinfo="skip")
    # mode "markers+text": numbered as the decoded strip is; not a test digit (they alone are "markers").
    fig.add_scatter(x=at[:, 0], y=at[:, 1], mode="markers+text", name="prior draws",
                    text=[str(i + 1) for i in range(len(at))], textposition="top right",
                    textfont=dict(size=13, color="black"), hovertemplate="prior draw %{text}<extra></extra>",
                    marker=dict(size=11, symbol="x", color="black", line=dict(width=1, color="white")))
    # Each map its own legend, under it in rows (beside it, a half-width column would leave no map): which
    # colour is which label, the rings, the circle and the draws. Only labels have markers worth a swatch.
    fig.update_layout(showlegend=True, height=460 + LEGEND_ROWS_PX,
                      margin=dict(b=50 + LEGEND_ROWS_PX),
                      legend=dict(orientation="h", x=0, xanchor="left", y=-0.12, yanchor="top",
                                  itemsizing="constant", font=dict(size=11)))
    return fig


def _common_size(left: Handle, right: Handle) -> int:
    """The test split's size both models' reference encodings have (the smaller), 0 without any."""
    sizes = [len(h.served.reference["z_mean"]) for h in (left, right) if h.served.reference is not None]
    return min(sizes) if sizes else 0


def _sample(n: int) -> np.ndarray:
    """The test digits drawn on both maps, of a test split of n: always the same ones."""
    return geo.sample_indices(n, N_POINTS) if n else np.arange(0)


def reconstructions(left: Handle, right: Handle) -> None:
    """The same inputs through both: each model decodes its own z_mean of them."""
    st.subheader("The same inputs, reconstructed")
    rows = _reconstruction_rows(left, right)
    if rows is None:
        st.info("Neither model carries a gallery of test images, so there are no inputs to compare.")
        return
    for name, png, alt in rows:
        st.caption(name)
        st.image(png, width="content", alt=alt)


# Cached (encodes, decodes and PNGs, the same on every view of this pair) like the figures above.
@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=cache.BY_CACHE_KEY)
def _reconstruction_rows(left: Handle, right: Handle) -> list[tuple[str, bytes, str]] | None:
    """(caption, strip PNG, alt text) of the inputs and each model's reconstructions; None without a
    gallery."""
    gallery = cache.gallery(left) or cache.gallery(right)
    if gallery is None:
        return None
    labels = gallery["labels"]
    pick = np.array([int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:10])
    x = gallery["images"][pick].astype(np.float32) / 255.0
    owner = (left if cache.gallery(left) else right).served  # whose gallery, so whose class names
    names = ", ".join(models.label_name(owner, c) for c in labels[pick])
    rows = [("input", x, alt_text.strip(len(pick), f"test images, one of each label: {names}"))]
    for h in (left, right):
        # Each model takes the inputs at its own size (a 28x28 digit model and a 32x32 colour one, say).
        z_mean, _ = h.served.encode(np.stack([explain.as_input(image, h.served) for image in x]))
        rows.append((models.plain_text(h.served.name, 60), h.served.decode(z_mean),
                     alt_text.strip(len(pick), "the same test images reconstructed by "
                                               + alt_text.plain(h.served.name))))
    return [(name, pics.to_png(pics.strip(images), 2), alt) for name, images, alt in rows]


def prior_draws(left: Handle, right: Handle) -> None:
    """The same draws z ~ N(0, I) decoded by both, and where they land on each map, in numbers."""
    st.subheader("Draws from the prior, decoded")
    common = _sample(_common_size(left, right))
    for h in (left, right):
        z = compare_facts.prior_draws(h.served.latent_dim, N_PRIOR)
        st.caption(f"{models.plain_text(h.served.name, 60)}: {N_PRIOR} draws z ~ N(0, I), numbered "
                   f"1–{N_PRIOR} from the left, as on its map above")
        st.image(_prior_strip(h), width="content",
                 alt=alt_text.strip(N_PRIOR, f"what {alt_text.plain(h.served.name)} decodes from draws "
                                             "z ~ N(0, I)"))
        ref = h.served.reference
        if ref is None:
            continue
        ratios, _ = compare_facts.gap_ratios(ref["z_mean"][common], z)
        reach, rare = compare_facts.prior_reach(ref["z_mean"], ref.get("labels"))
        names = [models.label_name(h.served, c) for c in rare]
        st.markdown(compare_facts.prior_sentence(ratios, reach, names, h.served.latent_dim,
                                                 nouns.things(h.served)))
    noun = nouns.noun(left.served, right.served)
    st.caption("A VAE's decoder is meant to turn any draw from the prior into a plausible image. A draw in "
               f"a gap lands where no test {noun}'s code is, so its decode is the decoder's guess; and a "
               f"prior that reaches only part of the map draws only the {noun}s there.")


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=cache.BY_CACHE_KEY)
def _prior_strip(h: Handle) -> bytes:
    """The model's decodes of the N_PRIOR draws z ~ N(0, I), as one strip PNG (cached, as above)."""
    z = compare_facts.prior_draws(h.served.latent_dim, N_PRIOR)
    return pics.to_png(pics.strip(h.served.decode(z)), 2)
