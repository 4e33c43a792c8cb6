"""Compare's words from numbers (explorer.compare_facts): recipe differences and where prior draws land."""

from __future__ import annotations

import numpy as np

from explorer import compare_facts


def _recipe(**changes) -> dict:
    base = {"β": 1.0, "latent_dim": 2, "epochs": 10, "batch size": 128, "stages": compare_facts.STAGES[1],
            "preset": "default", "encoder": "wide", "dataset": "mnist", "training images": "20,000"}
    return {**base, **changes}


def test_the_sentence_says_what_differs_besides_beta():
    same = compare_facts.differences(_recipe(), _recipe())
    assert compare_facts.differs_sentence(same) == ("info", "The two share one recipe: every field of it is "
                                                            "the same.")
    level, text = compare_facts.differs_sentence(compare_facts.differences(_recipe(), _recipe(**{"β": 5.0})))
    assert level == "info" and text.startswith("They differ only in β (1 against 5)")
    level, text = compare_facts.differs_sentence(compare_facts.differences(
        _recipe(), _recipe(**{"β": 0.0, "epochs": 20, "stages": compare_facts.STAGES[2]})))
    assert level == "warning"
    assert text == ("Besides β (1 against 0), they also differ in epochs (10 against 20) and stages (1 "
                    "against 2): not every difference below comes from β.")
    level, text = compare_facts.differs_sentence(compare_facts.differences(_recipe(), _recipe(epochs=20)))
    assert level == "info" and "only in epochs (10 against 20)" in text


def test_a_default_preset_bundle_without_an_encoder_name_has_the_wide_one():
    assert compare_facts.encoder("default", {}, {}) == "wide"
    assert compare_facts.encoder("default", {"encoder": "deep"}, {}) == "deep"
    assert compare_facts.encoder("course", {"encoder": "wide"}, {}) == "the course's"
    assert compare_facts.encoder("imported", {}, {}) is None


def test_gaps_count_draws_far_from_every_shown_point():
    grid = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)  # spacing 1
    draws = np.array([[4.2, 4.1], [20.0, 0.0], [4.5, 13.0]])
    ratios, spacing = compare_facts.gap_ratios(grid, draws)
    assert spacing == 1.0
    np.testing.assert_allclose(ratios, [np.hypot(0.2, 0.1), 11.0, np.hypot(0.5, 4.0)])
    text = compare_facts.prior_sentence(ratios, 0.5, ["1", "7"], 2)
    assert text.startswith("**2 of 3** draws land in a gap") and "draws 2 and 3" in text
    assert "holds 50% of the test digits' z_mean" in text and "labelled 1 and 7" in text


def test_the_prior_reaches_the_digits_inside_its_2_sigma_circle():
    z = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0], [0.0, -5.0]])
    reach, rare = compare_facts.prior_reach(z, np.array([0, 0, 1, 1]))
    assert reach == 0.5 and rare == [1]
