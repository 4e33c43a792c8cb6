"""What Compare says of two models, computed from them: how their recipes differ, where prior draws land."""

# Pure NumPy and pandas: no Streamlit. The page states nothing about a pair that these numbers do not show.

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import chi2

from explorer.training_facts import facts_of
from vae.bundles.serving import ServedModel

# The recipe, as the "what differs" row shows it: a field's name, and how to read it from a model.
RECIPE = ("β", "latent_dim", "epochs", "batch size", "stages", "preset", "encoder", "dataset",
          "training images")
STAGES = {1: "1 (from scratch)", 2: "2 (a new encoder for a frozen decoder)"}
# A draw lands in a gap when its nearest shown test digit is at least this many typical spacings away. On
# the shipped models the ratios are below 2.8 or above 3.5: the counts do not hang on the threshold's
# decimals.
GAP_SPACINGS = 3.0
PRIOR_MASS = 1 - np.exp(-2.0)  # the share of N(0, I) draws inside 2σ in 2-D (radius 2): about 86 %
FEW = 0.1  # a label "almost never drawn": under this share of its test digits lie where the draws land


def recipe(model: ServedModel) -> dict[str, object]:
    """One model's recipe, field by field (None where its bundle does not record one)."""
    card, config, facts = model.card or {}, model.config or {}, facts_of(model)
    n_train, preset = card.get("n_train"), card.get("preset") or config.get("preset")
    return {"β": facts.beta if facts.beta_known else None, "latent_dim": model.latent_dim,
            "epochs": card.get("epochs"), "batch size": card.get("batch_size"),
            "stages": STAGES.get(facts.stages), "preset": preset, "encoder": encoder(preset, card, config),
            "dataset": card.get("dataset"), "training images": f"{n_train:,}" if n_train else None}


def encoder(preset: str | None, card: dict, config: dict) -> str | None:
    """The encoder's name: the course preset has its own; a default-preset bundle that names none was saved
    before there was a choice, and is rebuilt with "wide" (ModelConfig's default)."""
    if preset == "course":
        return "the course's"
    return card.get("encoder") or config.get("encoder") or ("wide" if preset == "default" else None)


def recipe_table(names: list[str], recipes: list[dict]) -> pd.DataFrame:
    """The recipes as rows, one per model, named as the models are (plain text: a table shows it as is)."""
    rows = [{k: ("—" if r[k] is None else str(r[k]) if k != "β" else f"{r[k]:g}") for k in RECIPE}
            for r in recipes]
    return pd.DataFrame(rows, index=table_index(names))


def table_index(names: list[str]) -> pd.Index:
    """Rows named by the models' names (left, right), told apart where the two names are one."""
    if len(set(names)) < len(names):
        names = [f"{n} ({side})" for n, side in zip(names, ("left", "right"))]
    return pd.Index(names, name="model")


def differences(left: dict, right: dict) -> list[tuple[str, object, object]]:
    """(field, left value, right value) for every recipe field the two models differ in."""
    return [(k, left[k], right[k]) for k in RECIPE if left[k] != right[k]]


def _value(field: str, v) -> str:
    if v is None:
        return "not recorded"
    return f"{v:g}" if field == "β" else str(v).split(" (")[0] if field == "stages" else str(v)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def differs_sentence(diffs: list[tuple[str, object, object]]) -> tuple[str, str]:
    """("info" or "warning", a sentence): what the pair differs in, and whether that leaves β (the thing a
    comparison of two β is about) as the only cause of what the page shows."""
    said = [f"{k} ({_value(k, a)} against {_value(k, b)})" for k, a, b in diffs]
    if not diffs:
        return "info", "The two share one recipe: every field of it is the same."
    if diffs[0][0] == "β":
        if len(diffs) == 1:
            return "info", (f"They differ only in {said[0]}: one recipe otherwise, so every difference "
                            "below comes from β.")
        return "warning", (f"Besides {said[0]}, they also differ in {_listed(said[1:])}: not every "
                           "difference below comes from β.")
    if len(diffs) == 1:
        return "info", f"They differ only in {said[0]}: every difference below comes from it."
    return "warning", (f"They differ in {_listed(said)}: any difference below may come from any of these.")


def prior_draws(latent_dim: int, n: int, seed: int = 0) -> np.ndarray:
    """The same n draws z ~ N(0, I) for any model of this latent_dim (the page's strip and its points)."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def gap_ratios(shown: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, float]:
    """Each draw's distance to the nearest shown test z_mean, in units of the typical spacing (the median
    distance from a shown z_mean to its nearest neighbour), and that spacing; in the latent space itself."""
    shown = np.asarray(shown, np.float64)
    tree = cKDTree(shown)
    spacing = float(np.median(tree.query(shown, k=2)[0][:, 1]))
    distance = tree.query(np.asarray(draws, np.float64))[0]
    return distance / max(spacing, 1e-12), spacing


def prior_reach(z_mean: np.ndarray, labels: np.ndarray | None) -> tuple[float, list[int]]:
    """(share of test z_mean inside the region where 86 % of prior draws land, labels with under 10 % of
    their digits there): the digits a draw from N(0, I) can reach."""
    z_mean = np.asarray(z_mean, np.float64)
    radius2 = chi2.ppf(PRIOR_MASS, z_mean.shape[1])  # 4 in 2-D: the 2σ circle
    inside = (z_mean ** 2).sum(1) < radius2
    rare = [] if labels is None else [int(c) for c in np.unique(labels)
                                      if inside[np.asarray(labels) == c].mean() < FEW]
    return float(inside.mean()), rare


def prior_sentence(ratios: np.ndarray, reach: float, rare: list[str], latent_dim: int,
                   things: str = "digits") -> str:
    """What the map shows of one model's prior draws, in numbers: how many land in a gap (and which), and
    what share of the test digits the prior reaches."""
    gaps = [str(i + 1) for i in np.flatnonzero(ratios > GAP_SPACINGS)]
    where = "" if latent_dim == 2 else f", in the {latent_dim}-D latent space"
    radius = float(np.sqrt(chi2.ppf(PRIOR_MASS, latent_dim)))
    region = ("its 2σ circle (dashed)" if latent_dim == 2 else
              f"{radius:.2f} of the origin (in the {latent_dim}-D latent space)")
    within = "in" if latent_dim == 2 else "within"
    text = (f"**{len(gaps)} of {len(ratios)}** draws land in a gap (their nearest test {things[:-1]} "
            f"{GAP_SPACINGS:g} or more typical spacings away{where})"
            + (f": draw{'s' * (len(gaps) > 1)} {_listed(gaps)}. " if gaps else ". ")
            + f"{PRIOR_MASS:.0%} of N(0, I)'s draws land {within} {region}, which holds {reach:.0%} of "
            f"the test {things}' z_mean")
    if rare:
        text += (f", and almost none (under {FEW:.0%}) of those labelled {_listed(rare)}: draws rarely "
                 "decode to them")
    return text + "."
