"""scripts/bench_photos.py's measures on cases worked out by hand: the nearest label (8 nearest, ties to the
smaller label, the original left out), agreement with the original's label, the whole spread and a quarter."""

from __future__ import annotations

import numpy as np
import pytest

from scripts import bench_photos


def test_whole_spread_is_the_root_of_the_summed_variances():
    """Var 1 in each of 16 dimensions: a spread of 4 (not 1, the per-dimension RMS); in 2-D, sqrt(2)."""
    z = np.array([[s1, s2] for s1 in (-1, 1) for s2 in (-1, 1)], np.float64)  # var 1 per axis
    assert bench_photos.whole_spread(z) == pytest.approx(np.sqrt(2))
    signs = np.array([[(-1) ** ((i >> d) & 1) for d in range(16)] for i in range(2 ** 16)], np.float64)
    assert bench_photos.whole_spread(signs) == pytest.approx(4.0)


def _line():
    """Ten reference encodings on a line: 0..4 labelled 3, 5..9 labelled 7."""
    ref = np.arange(10, dtype=np.float64)[:, None]
    return ref, np.array([3] * 5 + [7] * 5)


def test_nearest_label_is_the_majority_of_the_k_nearest():
    ref, labels = _line()
    z = np.array([[0.0], [9.0], [4.6]])
    assert bench_photos.nearest_labels(ref, labels, z, k=3).tolist() == [3, 7, 7]  # 4.6: 5, 4, 6 -> 7, 3, 7


def test_a_tie_goes_to_the_smaller_label_and_the_original_is_left_out():
    ref, labels = _line()
    z = np.array([[4.5], [4.5]])
    assert bench_photos.nearest_labels(ref, labels, z, k=2).tolist() == [3, 3]  # 4 and 5: one each
    # 3 nearest, leaving out the original itself: without 5, 4 3 6 -> 3; without 4, 5 3 6 -> 7.
    assert bench_photos.nearest_labels(ref, labels, z, np.array([5, 4]), k=3).tolist() == [3, 7]


def test_agreement_and_quarter_spread_on_a_known_case():
    z_orig = np.zeros((4, 2))
    z = np.array([[0.1, 0], [0, 0.3], [0.6, 0.8], [0, 0]])  # distances 0.1, 0.3, 1.0, 0
    got, want = np.array([1, 2, 3, 4]), np.array([1, 2, 0, 0])
    ok = np.array([True, True, True, False])  # the last was refused: a miss, however close
    out = bench_photos.scores(z, z_orig, got, want, spread=1.0, ok=ok)
    assert out["agree"] == 0.5  # rows 0 and 1
    assert out["quarter"] == 0.25  # row 0 only: 0.3 > 0.25, and the refused one does not count
    assert out["failed"] == 1
    assert out["median"] == pytest.approx(0.65)  # 0.1, 0.3, 1.0, inf
    assert bench_photos.scores(z, z_orig, got, want, spread=2.0)["quarter"] == 0.75  # 0.05, 0.15, 0.5, 0
