"""How it works and the replay's texts, run on every shipped model, say nothing that model's numbers deny:
the loss shows its β, the tug-of-war's minimum is the curve's, a β = 0 model is never told that a KL term
pulls or costs, and a second-stage model is never said to be trained from scratch."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.support.bundles import REPO
from tests.support.pages import open_page

SHIPPED = sorted(p.name for p in (REPO / "models").iterdir() if (p / "bundle.json").is_file())
WITH_REPLAY = [name for name in SHIPPED if (REPO / "models" / name / "replay.npz").is_file()]
# What a β = 0 page must never say: the KL term at work in its training.
KL_AT_WORK = re.compile(r"pulls every cloud|costs more (β·)?KL|KL climbs|charges this input|"
                        r"settles the tug-of-war", re.I)


def _facts(name: str):
    """What the shipped model's own files say (not facts_of, the function the pages' words come from): β from
    its card.json, two stages where its card or its training_config.json names the first stage's decoder."""
    from types import SimpleNamespace

    folder = REPO / "models" / name
    card = json.loads((folder / "card.json").read_text())
    recipe = folder / "training_config.json"
    second = bool(card.get("decoder_from")) or (
        recipe.is_file() and bool(json.loads(recipe.read_text()).get("decoder_from")))
    return SimpleNamespace(beta=float(card["beta"]), stages=2 if second else 1)


def _texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "latex", "code") for e in at.get(kind)]
    parts += [m.label for m in at.metric]
    return "\n".join(str(p) for p in parts)


def _chart(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    return json.loads(chart.proto.spec)


def _values(v) -> np.ndarray:
    """A Plotly JSON array: a list, or a base64 typed array."""
    import base64

    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]).astype(np.float64)
    return np.asarray(v, np.float64)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_how_it_works_follows_the_models_beta_curve_and_stages(name):
    facts = _facts(name)
    b = f"{facts.beta:g}"
    at = open_page("pages/how_it_works.py", str((REPO / "models" / name).resolve()))
    for q in ("heads", "collapse"):
        at.session_state[f"how_q_{q}"] = True
    at.run()
    assert not at.exception, at.exception
    text = _texts(at)

    # Every statement of the loss shows this model's β.
    assert f"reconstruction + β·KL with β = {b}" in text
    assert rf"\beta = {b}" in text  # the formula beside the KL table
    assert not re.search(r"(?<!ELBO = )reconstruction \+ KL", text.replace("−ELBO = reconstruction + KL", ""))

    # The tug of war: the loss drawn is reconstruction + β·KL, its marked minimum is the curve's, and the
    # sentence beside it names that minimum.
    traces = _chart(at, "how_spread_curve")["data"]
    rec, kl_part, loss = (_values(t["y"]) for t in traces[:3])
    np.testing.assert_allclose(loss, rec + kl_part, rtol=1e-9)
    factors = _values(traces[0]["x"])
    best = int(np.argmin(loss))
    if np.ptp(loss) < 0.01:  # flat (β = 0's sharp decoder): no minimum marked, and the sentence says flat
        assert not any(str(tr.get("name", "")).startswith("minimum") for tr in traces)
        assert any("is flat" in c.value and "no spread is lowest" in c.value for c in at.caption)
        _check_beta_and_stages(text, facts, kl_part, b)
        return
    assert _values(traces[3]["x"])[0] == pytest.approx(factors[best])  # the diamond
    summary = next(c.value for c in at.caption if "is lowest at" in c.value)
    assert ("exactly the learned z_std" in summary) == (abs(np.log(factors[best])) < 1e-9)
    if abs(np.log(factors[best])) > 1e-9:
        assert f"z_std × {factors[best]:.2f}" in summary
    if best in (0, len(factors) - 1):
        assert "the edge of this range" in summary

    _check_beta_and_stages(text, facts, kl_part, b)


def _check_beta_and_stages(text: str, facts, kl_part: np.ndarray, b: str) -> None:
    """What How it works says of the KL term follows β, and of its origin follows the stages."""
    if facts.beta == 0:
        assert kl_part.max() == 0.0
        assert "No KL term: nothing stops z_std from shrinking" in text
        assert not KL_AT_WORK.search(text), KL_AT_WORK.search(text).group()
    else:
        np.testing.assert_array_less(0.0, kl_part)
        assert f"weighed by β = {b}" in text

    # How it came to be.
    if facts.stages == 2:
        assert "two stages" in text and "from scratch" not in text
    else:
        assert "trained from scratch" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_REPLAY)
def test_the_replays_words_follow_the_model_and_its_first_snapshot(name):
    from vae.bundles.bundle import load_replay

    facts = _facts(name)
    replay = load_replay(REPO / "models" / name)
    at = open_page("pages/latent_map.py", str((REPO / "models" / name).resolve()))
    at.toggle(key="replay_on").set_value(True).run()
    assert not at.exception, at.exception
    intro = next(m.value for m in at.markdown if "untrained Dense layers" in m.value)
    z_std = np.exp(0.5 * replay["z_log_var"][0].astype(np.float64))
    assert f"z_std is {z_std.min():.2f}–{z_std.max():.2f}" in intro
    if facts.beta == 0:
        assert "no KL term (β = 0)" in intro and not KL_AT_WORK.search(intro)
    else:
        assert "pulls every cloud back towards N(0, I)" in intro
        assert (f"weighed by β = {facts.beta:g}" in intro) == (facts.beta != 1)
    assert ("second stage" in intro) == (facts.stages == 2)
    # The loss panel names what each curve is; a β other than 1 adds the loss the model trained on.
    names = [t.get("name") for t in _chart(at, "replay_player")["data"] if t.get("xaxis") == "x2"]
    trained = [n for n in names if n and n.startswith("the loss")]
    assert trained == ([] if facts.beta == 1 else [f"the loss: reconstruction + {facts.beta:g}·KL (β = "
                                                   f"{facts.beta:g})"])


@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
def test_the_latent_maps_unit_notice_follows_beta(tmp_path, beta):
    """An idle unit of a β = 0 model is not kept at the prior by a KL term it does not have; a collapse under
    β = 0.5 is not cured by lowering β "below 1"."""
    from types import SimpleNamespace

    from explorer.notices import unit_activity_notice

    rng = np.random.default_rng(0)
    z_mean = np.stack([rng.normal(size=500), rng.normal(size=500), np.zeros(500)], 1)
    z_log_var = np.zeros((500, 3))
    for d, kind in ((3, "info"), (2, "warning")):
        model = SimpleNamespace(card={"beta": beta}, config={}, path=tmp_path,
                                reference={"z_mean": z_mean[:, 3 - d:], "z_log_var": z_log_var[:, 3 - d:]})
        if d == 2:  # one of two units idle: a warning
            model.reference["z_mean"] = np.stack([z_mean[:, 0], np.zeros(500)], 1)
        level, text = unit_activity_notice(model)
        assert level == kind
        if beta == 0:
            assert "no KL term" in text and not KL_AT_WORK.search(text)
            assert "keeps them at the prior" not in text
            assert "posterior collapse" not in text.replace("not posterior collapse", "")
        else:
            assert ("the KL term keeps them at the prior" in text) == (kind == "info")
        if kind == "warning" and beta > 0:
            assert f"below {beta:g}" in text and f"β = {beta:g}" in text


@pytest.mark.parametrize("name", ["mnist-2d", "mnist-2d-beta0"])
def test_home_says_what_loss_the_model_trained_on_and_how(name):
    facts = _facts(name)
    at = open_page("pages/home.py", str((REPO / "models" / name).resolve()))
    captions = " ".join(c.value for c in at.caption)
    assert f"This model was trained on reconstruction + β·KL with β = {facts.beta:g}" in captions
    assert ("two stages" in captions) == (facts.stages == 2)
    titles = [_chart(at, key)["layout"]["title"]["text"] for key in ("home-curve-loss",)]
    assert titles == ["Negative ELBO " + (
        "(the loss, β = 1)" if facts.beta == 1 else f"(trained on rec. + {facts.beta:g}·KL)")]


@pytest.mark.parametrize("beta,edge", [(0.0, 0), (0.0, -1), (1.0, 0), (5.0, -1)])
def test_a_minimum_at_the_edge_of_the_range_says_what_it_means(beta, edge):
    """The tug of war's sentence on made-up curves whose loss is lowest at either end of the range."""
    from explorer.explain import SPREAD_FACTORS, Encoding
    from explorer.sections.how_questions import spread_summary

    f = SPREAD_FACTORS
    rec = np.linspace(1.0, 2.0, len(f)) if edge == 0 else np.linspace(2.0, 1.0, len(f))
    kl = np.zeros(len(f)) if beta == 0 else 0.001 * np.ones(len(f))
    total = rec + beta * kl
    curve = {"factor": f, "reconstruction": rec, "kl": kl, "beta": beta, "total": total,
             "best": int(np.argmin(total)), "learned": int(np.argmin(np.abs(np.log(f)))), "n_eps": 16}
    enc = Encoding(np.zeros((28, 28), np.float32), np.zeros(2), np.full(2, np.log(0.01)))
    text = spread_summary(curve, enc)
    side = "narrowest" if edge == 0 else "widest"
    assert f"That is the {side} spread drawn (× {f[edge]:.2f}), the edge of this range" in text
    if beta == 0:
        assert "No KL term: nothing stops z_std from shrinking" in text and not KL_AT_WORK.search(text)
    elif edge == 0:
        assert "grows without bound" in text
    else:
        assert f"(β = {beta:g}) towards z_std = 1 outweighs" in text


def test_a_flat_loss_marks_no_minimum_and_says_so():
    """β = 0 with a sharp decoder: the loss changes by ~0.00 nats across the range, so a marked "minimum"
    (found in a browser at × 11.40) was noise; the figure marks none and the sentence says it is flat."""
    from explorer.explain import SPREAD_FACTORS, Encoding
    from explorer.sections.how_questions import spread_figure, spread_summary

    f = SPREAD_FACTORS
    rec = 148.0 + 0.001 * np.sin(np.arange(len(f)))  # flat but for noise, its argmin anywhere
    kl = np.zeros(len(f))
    curve = {"factor": f, "reconstruction": rec, "kl": kl, "beta": 0.0, "total": rec.copy(),
             "best": int(np.argmin(rec)), "learned": int(np.argmin(np.abs(np.log(f)))), "n_eps": 16}
    enc = Encoding(np.zeros((28, 28), np.float32), np.zeros(2), np.full(2, np.log(0.001)))
    names = [t.name for t in spread_figure(curve).data]
    assert not any(n.startswith("minimum") for n in names) and "learned z_std (× 1)" in names
    text = spread_summary(curve, enc)
    assert "is flat" in text and "no spread is lowest" in text and "lowest at" not in text
    assert "No KL term: nothing stops z_std from shrinking" in text
