"""The array helpers behind the Latent map and Decoder: planes and their inverse, ellipses to scale, grid
ranges from the data, z as text and CSV, strips of images."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import geometry as geo
from explorer import pictures as pics


def test_pca_inverse_round_trips_on_the_plane():
    rng = np.random.default_rng(0)
    comps = np.linalg.qr(rng.normal(size=(5, 2)))[0].T  # (2, 5), orthonormal rows
    mean = rng.normal(size=5)
    xy = rng.normal(size=(7, 2))
    z = geo.plane_to_z(xy, components=comps, mean=mean)
    assert geo.pca_project(z, comps, mean) == pytest.approx(xy)


def test_two_dims_plane_keeps_the_others_at_base():
    z = geo.plane_to_z(np.array([[1.0, 2.0]]), base=np.zeros(4), dims=(2, 0))
    assert z.tolist() == [[2.0, 0.0, 1.0, 0.0]]


def test_ellipses_are_to_scale():
    x, y = geo.ellipse_paths(np.array([[1.0, -1.0]]), geo.dims_cov(np.array([[0.5, 2.0]]), 0, 1))
    assert np.nanmax(x) - np.nanmin(x) == pytest.approx(1.0, rel=1e-3)  # 2 * z_std along x
    assert np.nanmax(y) - np.nanmin(y) == pytest.approx(4.0, rel=1e-3)
    # projection by an identity-like PCA gives the same ellipse
    cov = geo.projected_cov(np.array([[0.5, 2.0]]), np.eye(2))
    assert cov[0] == pytest.approx(np.diag([0.25, 4.0]))


def test_grid_ranges_come_from_the_data():
    z = np.random.default_rng(0).normal(3.0, 0.1, size=(1000, 2))
    r = geo.data_ranges(z)
    assert (r[:, 0] > 2.5).all() and (r[:, 1] < 3.5).all()
    pts = geo.grid_points(r[0], r[1], 3)
    assert pts[0, 1] > pts[-1, 1] and pts[0, 0] < pts[-1, 0]  # top-left first
    assert pics.compose_grid(np.ones((9, 28, 28)), 3, 3).shape == (84, 84)


def test_z_text_and_csv():
    assert geo.parse_z(geo.format_z([0.1234, -2.0]), 2) == pytest.approx([0.123, -2.0])
    assert geo.parse_z("1,2", 3) is None and geo.parse_z("a,b", 2) is None and geo.parse_z("1,nan", 2) is None
    csv = geo.latent_csv(np.zeros((2, 2)), np.zeros((2, 2)), np.array([0, 1])).decode().splitlines()
    assert csv[0] == "index,label,z_mean_0,z_mean_1,z_std_0,z_std_1"
    assert csv[2].startswith("1,1,0,0,1,1")
    strip = pics.strip(np.ones((4, 28, 28)))
    assert strip.shape == (28, 4 * 28 + 3 * 2)


