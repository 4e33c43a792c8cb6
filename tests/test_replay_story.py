"""The replay player's words (explorer.replay_story, explorer.sections.replay_notes): the gradients that part
the heads, read from the replay's numbers; a replay that is not of training from scratch says so."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

from explorer.replay_story import (
    GRADIENT_KEYS,
    NOT_RECORDED,
    gradient_rows,
    gradients_missing,
    heads_story,
    stage_note,
    vector,
)
from tests.support.pages import open_page
from vae.bundles.bundle import DEFAULT_MODEL, SHIPPED_DIR


def with_gradients(frames: int = 5, n: int = 20, m: int = 10, beta: float = 1.0, seed: int = 0) -> dict:
    """A replay whose gradients follow the maths: reconstruction g at z, g·½·z_std·ε at z_log_var; the KL
    part β·z_mean and β·½(exp(z_log_var) − 1)."""
    rng = np.random.default_rng(seed)
    z_mean = rng.normal(0, 1, (frames, n, 2)).astype(np.float16)
    z_log_var = rng.normal(0, 0.5, (frames, n, 2)).astype(np.float16)
    epsilon = rng.normal(0, 1, (n, 2)).astype(np.float32)
    g = rng.normal(0, 5, (frames, m, 2)).astype(np.float32)
    zm, zlv = z_mean[:, :m].astype(np.float64), z_log_var[:, :m].astype(np.float64)
    return {"step": np.arange(frames) * 3, "epoch": np.arange(frames) / 4, "labels": np.arange(n) % 10,
            "indices": np.arange(n), "z_mean": z_mean, "z_log_var": z_log_var, "epsilon": epsilon,
            "kl_weight": np.full(frames, beta, np.float32), "grad_reconstruction_z_mean": g,
            "grad_reconstruction_z_log_var": (g * 0.5 * np.exp(0.5 * zlv) * epsilon[:m]).astype(np.float32),
            "grad_kl_z_mean": (beta * zm).astype(np.float32),
            "grad_kl_z_log_var": (beta * 0.5 * (np.exp(zlv) - 1)).astype(np.float32)}


def vectors(text: str) -> list[tuple[float, ...]]:
    """Every "(a, b)" in a sentence, as numbers."""
    return [tuple(float(v.replace("−", "-")) for v in group.split(", "))
            for group in re.findall(r"\(([−\d.e+, ]+)\)", text)]


def close(shown: tuple[float, ...], value, rel: float = 0.01) -> bool:
    return np.allclose(shown, np.asarray(value, np.float64), rtol=rel, atol=0.006)


def test_the_two_sentences_read_the_numbers():
    replay = with_gradients()
    i = 3
    first, second = heads_story(replay, i, beta=1.0)
    z_mean, z_log_var = (replay[k][:, i].astype(np.float64) for k in ("z_mean", "z_log_var"))
    g, g_log_var = replay["grad_reconstruction_z_mean"][0, i], replay["grad_reconstruction_z_log_var"][0, i]
    # z_mean, z_log_var; g; g·½·z_std·ε = its factors and the product; the KL parts.
    shown = vectors(first)
    expected = [z_mean[0], z_log_var[0], g, g, np.exp(0.5 * z_log_var[0]), replay["epsilon"][i], g_log_var,
                replay["grad_kl_z_mean"][0, i], replay["grad_kl_z_log_var"][0, i]]
    assert len(shown) == len(expected)
    assert all(close(s, e) for s, e in zip(shown, expected)), (shown, expected)
    # A learner's check: g·½·z_std·ε from the shown factors gives the shown product (to their rounding).
    product = np.array(shown[3]) * 0.5 * np.array(shown[4]) * np.array(shown[5])
    assert np.allclose(product, shown[6], rtol=0.02, atol=0.002)
    assert "are not" in first and "the KL term (weight 1)" in first
    moved = vectors(second)
    assert close(moved[0], z_mean[1] - z_mean[0]) and close(moved[1], z_log_var[1] - z_log_var[0])
    assert close(moved[2], z_mean[-1]) and close(moved[3], z_log_var[-1])
    assert "part from the first update" in second and "by step 3 " in second and "at step 12 " in second


def test_the_sentences_follow_beta_and_what_the_gradients_are():
    no_kl = with_gradients(beta=0.0)
    assert "the KL term sends both nothing (β = 0)" in heads_story(no_kl, 0, beta=0.0)[0]
    warming = with_gradients(beta=2.0)
    warming["kl_weight"][0] = 0.0
    warming["grad_kl_z_mean"][0] = warming["grad_kl_z_log_var"][0] = 0.0
    assert "its weight is 0 at step 0, the start of its warm-up" in heads_story(warming, 0, beta=2.0)[0]
    alike = with_gradients()
    for key in ("grad_reconstruction_z_log_var", "grad_kl_z_log_var"):
        alike[key] = alike[key.replace("z_log_var", "z_mean")].copy()
    alike["z_log_var"] = alike["z_mean"].copy()
    first, second = heads_story(alike, 0, beta=1.0)
    assert "are nearly the same" in first and "move alike at the first update" in second


def test_old_replays_and_unrecorded_digits_say_why_there_are_no_gradients():
    old = {k: v for k, v in with_gradients().items() if k not in (*GRADIENT_KEYS, "kl_weight", "epsilon")}
    assert heads_story(old, 0) == [] and gradients_missing(old, 0) == NOT_RECORDED
    replay = with_gradients(m=10)
    assert gradients_missing(replay, 9) is None
    assert "first 10 digits" in gradients_missing(replay, 10) and heads_story(replay, 10) == []


def test_the_table_puts_the_gradients_beside_the_heads():
    replay = with_gradients(frames=30)
    rows = gradient_rows(replay, 2)
    assert [r["step"] for r in rows[:4]] == ["0", "3", "6", "9"] and rows[-1]["step"] == "87"
    assert list(rows[0])[:3] == ["step", "z_mean", "z_log_var"]
    assert rows[0]["z_mean"] == vector(replay["z_mean"][0, 2])
    assert close(vectors(rows[-1]["weighted KL → z_log_var"])[0], replay["grad_kl_z_log_var"][-1, 2])


def test_a_second_stage_says_so():
    # (stage_note now takes the model's TrainingFacts, the one source of its stages, and its card's epochs)
    from explorer.training_facts import TrainingFacts, facts_of
    from vae.bundles.serving import ServedModel

    card = json.loads((DEFAULT_MODEL / "card.json").read_text())
    note = stage_note(facts_of(ServedModel(DEFAULT_MODEL)), card["epochs"], str)
    assert note.startswith("**This replay is not of training from scratch.**")
    assert "“MNIST, 2-D latent: stage 1 (encoder and decoder)”, trained for 45 epochs" in note
    assert "trained for 20 epochs for the decoder" in note
    assert stage_note(TrainingFacts(1.0), 3, str) is None
    assert "the decoder of an earlier model" in stage_note(TrainingFacts(1.0, stages=2), None, str)


def test_a_second_stage_recorded_only_in_training_config_gets_the_notice_and_the_frozen_decoder(
        tiny_bundle, tmp_path):
    """A bundle whose card does not say decoder_from but whose training_config.json does: the player still
    says it is a second stage, and its grid is marked as a frozen decoder (both read the card alone)."""
    from vae.bundles.bundle import CARD_JSON, TRAINING_CONFIG, read_json, read_training_config, write_json

    second = tmp_path / "second"
    shutil.copytree(tiny_bundle, second, copy_function=os.link)
    recipe = read_training_config(tiny_bundle).to_dict() | {"decoder_from": str(tiny_bundle)}
    (second / TRAINING_CONFIG).unlink()  # hard-linked: replaced, not written through
    write_json(second / TRAINING_CONFIG, recipe)
    assert "decoder_from" not in read_json(second / CARD_JSON)
    at = open_page("pages/latent_map.py", str(second))
    at.toggle(key="replay_on").set_value(True).run()
    assert not at.exception, at.exception
    assert any("not of training from scratch" in i.value for i in at.info)
    [chart] = [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]
    assert "trained before, frozen" in chart.proto.spec


def test_the_default_models_player_offers_the_course_models_replay_in_one_click():
    if not (SHIPPED_DIR / "mnist-2d-course" / "replay.npz").is_file():
        pytest.skip("the shipped course model (models/mnist-2d-course) is not here")
    at = open_page("pages/latent_map.py")
    at.toggle(key="replay_on").set_value(True).run()
    assert any("not of training from scratch" in i.value for i in at.info)
    at.button(key="replay_course").click().run()
    assert not at.exception, at.exception
    assert at.session_state["model_path"] == str((SHIPPED_DIR / "mnist-2d-course").resolve())
    assert at.toggle(key="replay_on").value  # its replay is on, from scratch: no such note
    assert not any("not of training from scratch" in i.value for i in at.info)
    [chart] = [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]
    assert "frozen" not in chart.proto.spec


def test_the_page_shows_the_followed_digits_gradients_and_old_replays_still_play(tiny_bundle, tmp_path):
    at = open_page("pages/latent_map.py", str(tiny_bundle))
    at.toggle(key="replay_on").set_value(True).run()
    replay = dict(np.load(tiny_bundle / "replay.npz"))
    follow = at.selectbox(key="replay_follow").value
    [table] = at.dataframe
    assert table.value["z_mean"].iloc[0] == vector(replay["z_mean"][0, follow])
    story = heads_story(replay, follow, 1.0)
    shown = [m.value for m in at.markdown]
    assert len(story) == 2 and all(s in shown for s in story)
    # A replay recorded before the gradients were: it plays, and says they were not recorded.
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old, copy_function=os.link)
    (old / "replay.npz").unlink()
    np.savez_compressed(old / "replay.npz", **{k: v for k, v in replay.items()
                                              if k not in (*GRADIENT_KEYS, "kl_weight", "epsilon")})
    at = open_page("pages/latent_map.py", str(old))
    at.toggle(key="replay_on").set_value(True).run()
    assert not at.exception
    assert [c for c in at.get("plotly_chart") if "frames" in json.loads(c.proto.spec)]
    assert NOT_RECORDED in [c.value for c in at.caption] and not at.dataframe
