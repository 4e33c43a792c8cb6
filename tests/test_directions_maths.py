"""Attribute directions and interpolation paths on known cases (vae.model directions and interpolate)."""

import numpy as np
import pytest

from vae.model import directions as dirs
from vae.model import interpolate


def test_direction_between_two_gaussian_groups_is_the_difference_of_their_means():
    rng = np.random.default_rng(0)
    shift = np.array([3.0, -1.0, 0.5, 0.0])
    a = rng.standard_normal((5000, 4))
    b = rng.standard_normal((5000, 4)) + shift
    v = dirs.group_direction(a, b)
    np.testing.assert_allclose(v, shift, atol=0.06)  # 4 σ / √5000 ≈ 0.06 per mean, two means
    np.testing.assert_allclose(a.mean(0) + v, b.mean(0))  # k = 1 carries one mean onto the other
    with pytest.raises(ValueError):
        dirs.group_direction(a[:0], b)


def test_regression_recovers_a_synthetic_linear_attribute():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4000, 3))
    w = np.array([2.0, 0.0, -1.0])
    y = z @ w + 5.0
    coef, r2, spread = dirs.attribute_fit(z, y)
    np.testing.assert_allclose(coef, w, atol=1e-9)
    assert r2 == pytest.approx(1.0)
    d = dirs.attribute_direction(z, y, "thing")
    # Adding the direction once raises the attribute by one of its standard deviations.
    assert float(d.vector @ w) == pytest.approx(spread)
    np.testing.assert_allclose(d.vector / np.linalg.norm(d.vector), w / np.linalg.norm(w), atol=1e-12)


def test_noise_lowers_held_out_r2_and_pure_noise_has_none():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4000, 2))
    noisy = z[:, 0] + rng.standard_normal(4000)  # half the variance explained
    assert dirs.attribute_fit(z, noisy)[1] == pytest.approx(0.5, abs=0.06)
    assert dirs.attribute_fit(z, rng.standard_normal(4000))[1] < 0.02


def test_held_out_rows_are_kept_out_and_fixed():
    fit, held = dirs.held_out_split(100)
    assert len(held) == 20 and not set(fit) & set(held) and len(fit) + len(held) == 100
    np.testing.assert_array_equal(held, dirs.held_out_split(100)[1])


def test_image_attributes_on_drawn_shapes():
    img = np.zeros((3, 28, 28), np.float32)
    img[0, 4:24, 13:15] = 1.0  # an upright bar: 2 wide, 20 high, no slant
    for r in range(4, 24):  # a bar leaning right: its top is right of its bottom
        c = 20 - (r - 4) // 2
        img[1, r, c:c + 2] = 1.0
    att = dirs.image_attributes(img)
    assert att["width"][0] == 2 and att["height"][0] == 20
    assert att["slant"][0] == pytest.approx(0.0)
    assert att["slant"][1] == pytest.approx(0.5, abs=0.05)  # one column per two rows
    assert att["ink"][0] == pytest.approx(40 / 784)
    assert att["width"][2] == 0 and att["ink"][2] == 0 and att["slant"][2] == 0  # an empty image
    assert set(att) == set(dirs.ATTRIBUTES)


def test_along_walks_from_minus_k_to_plus_k():
    z = np.array([1.0, 2.0])
    walk = dirs.along(z, np.array([1.0, 0.0]), 2.0, 5)
    np.testing.assert_allclose(walk[:, 0], [-1, 0, 1, 2, 3])
    np.testing.assert_allclose(walk[2], z)


@pytest.mark.parametrize("kind", interpolate.PATHS)
def test_both_paths_start_and_end_at_the_endpoints(kind):
    a, b = np.array([1.0, 0.0, 2.0]), np.array([-0.5, 3.0, 1.0])
    p = interpolate.path(a, b, 7, kind)
    assert p.shape == (7, 3)
    np.testing.assert_allclose(p[0], a, atol=1e-12)
    np.testing.assert_allclose(p[-1], b, atol=1e-12)


def test_slerp_keeps_the_norm_between_codes_of_one_norm_and_linear_does_not():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    arc = interpolate.spherical(a, b, 9)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 2.0)
    np.testing.assert_allclose(arc[4], [np.sqrt(2), np.sqrt(2)])
    line = interpolate.linear(a, b, 9)
    assert np.linalg.norm(line[4]) == pytest.approx(np.sqrt(2))  # the line cuts through the middle


def test_slerp_falls_back_to_the_line_where_there_is_no_arc():
    a = np.array([1.0, 1.0])
    np.testing.assert_allclose(interpolate.spherical(a, 3 * a, 5), interpolate.linear(a, 3 * a, 5))
    zero = np.zeros(2)
    np.testing.assert_allclose(interpolate.spherical(zero, a, 5), interpolate.linear(zero, a, 5))
    with pytest.raises(ValueError):
        interpolate.path(a, a, 1)
    with pytest.raises(ValueError):
        interpolate.path(a, a, 3, "curly")
