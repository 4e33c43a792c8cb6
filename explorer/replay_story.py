"""The replay player's words, from the replay's numbers: how its training began, and why the heads part."""

# The gradients are those vae.model.replay records: for the subset's first images, the gradient of each
# one's own loss that reaches its z_mean and z_log_var, split into the reconstruction part and the KL part
# (times the KL weight at that step). With z = z_mean + z_std·ε, the reconstruction part reaching z_mean is
# the gradient at z, g, and the part reaching z_log_var is g·½·z_std·ε; the KL part is β·z_mean and
# β·½(exp(z_log_var) − 1). The sentences show those products with their factors, so that a learner can check
# them against the table.

from __future__ import annotations

import numpy as np

from explorer.training_facts import TrainingFacts

GRADIENT_KEYS = ("grad_reconstruction_z_mean", "grad_reconstruction_z_log_var", "grad_kl_z_mean",
                 "grad_kl_z_log_var")
SHOWN_DIMS = 4  # a vector shows its first four dimensions
TABLE_ROWS = 8

NOT_RECORDED = ("This replay was recorded before the recorder kept the gradients that reach the two heads, "
                "so they cannot be shown here. Models trained from now on record them.")


def stage_note(facts: TrainingFacts, epochs: int | None, name_of, things: str = "digits") -> str | None:
    """Why this replay is not of training from scratch (None when it is): a second stage (`facts`: the
    model's, `epochs`: its card's). `name_of` makes a model's name safe to show (Markdown)."""
    if facts.stages != 2:
        return None
    source = facts.first_stage or {}
    before = (f"“{name_of(source['name'])}”" if source.get("name") else "an earlier model")
    if source.get("epochs"):
        before += f", trained for {source['epochs']} epochs"
    epochs = f" for {epochs} epochs" if epochs else ""
    return ("**This replay is not of training from scratch.** It is this model's second stage: a new encoder "
            f"trained{epochs} for the decoder of {before}, which stayed frozen. That is why the grid shows "
            f"{things} from step 0: only the encoder learns here.")


def has_gradients(replay: dict) -> bool:
    return all(key in replay for key in GRADIENT_KEYS)


def vector(values, spec: str = ".2f") -> str:
    """(0.12, −3.40, …): the first SHOWN_DIMS values in the format `spec`, with true minus signs."""
    values = np.asarray(values, np.float64).reshape(-1)
    shown = ", ".join(_signed(f"{v:{spec}}") for v in values[:SHOWN_DIMS])
    return f"({shown}{', …' if values.size > SHOWN_DIMS else ''})"


def _signed(text: str) -> str:
    """A true minus sign, and none on a value that rounds to zero ("−0.00")."""
    return text.lstrip("-") if float(text) == 0 else text.replace("-", "−")


GRADIENT = ".3g"  # gradients span orders of magnitude: three significant digits


def heads_at(replay: dict, k: int, i: int) -> dict[str, np.ndarray]:
    """Digit i's two heads' outputs at snapshot k, and the gradients reaching them."""
    out = {"z_mean": replay["z_mean"][k, i].astype(np.float64),
           "z_log_var": replay["z_log_var"][k, i].astype(np.float64)}
    out.update({key: replay[key][k, i].astype(np.float64) for key in GRADIENT_KEYS})
    out["z_std"] = np.exp(0.5 * out["z_log_var"])
    out["to_z_mean"] = out["grad_reconstruction_z_mean"] + out["grad_kl_z_mean"]
    out["to_z_log_var"] = out["grad_reconstruction_z_log_var"] + out["grad_kl_z_log_var"]
    return out


def gradient_rows(replay: dict, i: int, rows: int = TABLE_ROWS) -> list[dict[str, str]]:
    """The table beside the player: digit i's heads' outputs and the gradients reaching them, at the first
    snapshots (where the heads part) and a few later ones up to the last."""
    n = len(replay["step"])
    picks = sorted(set(range(min(4, n))) | set(np.linspace(0, n - 1, max(rows - 3, 2)).round().astype(int)))
    table = []
    for k in picks[:rows]:
        h = heads_at(replay, k, i)
        table.append({"step": f"{int(replay['step'][k]):,}", "z_mean": vector(h["z_mean"]),
                      "z_log_var": vector(h["z_log_var"]),
                      "reconstruction → z_mean": vector(h["grad_reconstruction_z_mean"], GRADIENT),
                      "reconstruction → z_log_var": vector(h["grad_reconstruction_z_log_var"], GRADIENT),
                      "weighted KL → z_mean": vector(h["grad_kl_z_mean"], GRADIENT),
                      "weighted KL → z_log_var": vector(h["grad_kl_z_log_var"], GRADIENT)})
    return table


def _kl_clause(weight: float, h: dict, beta: float | None) -> str:
    if weight == 0:
        why = "β = 0" if beta == 0 else "its weight is 0 at step 0, the start of its warm-up"
        return f"the KL term sends both nothing ({why})"
    w = f"{weight:.3g}"
    return (f"the KL term (weight {w}) sends z_mean {w}·z_mean = {vector(h['grad_kl_z_mean'], GRADIENT)} and "
            f"z_log_var {w}·½(exp(z_log_var) − 1) = {vector(h['grad_kl_z_log_var'], GRADIENT)}")


def heads_story(replay: dict, i: int, beta: float | None = None) -> list[str]:
    """Two sentences on digit i, from the replay's numbers: the gradients reaching the two heads differ from
    step 0, and so the heads part. Empty if this digit's gradients were not recorded."""
    if not has_gradients(replay) or i >= replay["grad_reconstruction_z_mean"].shape[1]:
        return []
    h0 = heads_at(replay, 0, i)
    weight = float(replay["kl_weight"][0]) if "kl_weight" in replay else (beta or 0.0)
    epsilon = replay["epsilon"][i]
    same = np.allclose(h0["to_z_mean"], h0["to_z_log_var"], rtol=0.05, atol=1e-3)
    first = (
        f"At step 0 the two heads are alike, two untrained Dense layers reading the same features "
        f"(z_mean {vector(h0['z_mean'])}, z_log_var {vector(h0['z_log_var'])}), but the gradients that reach "
        f"them {'are nearly the same' if same else 'are not'}: the reconstruction term sends z_mean "
        f"g = {vector(h0['grad_reconstruction_z_mean'], GRADIENT)} and z_log_var g·½·z_std·ε = "
        f"{vector(h0['grad_reconstruction_z_mean'], GRADIENT)}·½·{vector(h0['z_std'], '.3f')}·"
        f"{vector(epsilon, '.3g')} = {vector(h0['grad_reconstruction_z_log_var'], GRADIENT)}, and "
        f"{_kl_clause(weight, h0, beta)}.")
    if len(replay["step"]) < 2:
        return [first]
    h1, last = heads_at(replay, 1, i), heads_at(replay, -1, i)
    moved_mean, moved_log_var = h1["z_mean"] - h0["z_mean"], h1["z_log_var"] - h0["z_log_var"]
    parted = not np.allclose(moved_mean, moved_log_var, rtol=0.05, atol=1e-3)
    second = (
        f"{'Different gradients make different updates, so' if not same else 'Even so,'} the heads "
        f"{'part from the first update' if parted else 'move alike at the first update'}: by step "
        f"{int(replay['step'][1]):,} z_mean has moved by {vector(moved_mean, '.3f')} and z_log_var by "
        f"{vector(moved_log_var, '.3f')}, and at step {int(replay['step'][-1]):,} z_mean is "
        f"{vector(last['z_mean'])} while z_log_var is {vector(last['z_log_var'])} "
        f"(z_std {vector(last['z_std'], '.3f')}).")
    return [first, second]


def gradients_missing(replay: dict, i: int, noun: str = "digit") -> str | None:
    """Why digit i's gradients are not shown, if they are not."""
    if not has_gradients(replay):
        return NOT_RECORDED
    recorded = replay["grad_reconstruction_z_mean"].shape[1]
    if i >= recorded:
        return (f"The gradients reaching the heads are recorded for the list's first {recorded:,} {noun}s; "
                "follow one of those to see them.")
    return None
