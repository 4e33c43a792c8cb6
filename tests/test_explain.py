"""explorer.explain: the numbers the Encode and How-it-works pages show."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from explorer import explain

MU = np.array([0.5, -1.0, 2.0])
LV = np.array([-2.0, 0.0, 1.0])


def test_z_std_is_exp_half_log_var():
    np.testing.assert_allclose(explain.z_std(LV), np.sqrt(np.exp(LV)))
    np.testing.assert_allclose(explain.z_std(np.log(np.array([4.0, 0.25]))), [2.0, 0.5])


def test_sample_cloud_shapes_and_moments():
    z, eps = explain.sample_cloud(MU, LV, 20000, seed=1)
    assert z.shape == eps.shape == (20000, 3)
    np.testing.assert_allclose(z, MU + explain.z_std(LV) * eps)
    np.testing.assert_allclose(z.mean(0), MU, atol=0.05)
    np.testing.assert_allclose(z.std(0), explain.z_std(LV), rtol=0.03)


def test_sample_cloud_is_reproducible_and_same_eps_same_z():
    z1, e1 = explain.sample_cloud(MU, LV, 5, seed=3)
    z2, e2 = explain.sample_cloud(MU, LV, 5, seed=3)
    np.testing.assert_array_equal(z1, z2)
    assert not np.allclose(explain.sample_cloud(MU, LV, 5, seed=4)[0], z1)
    # The randomness lives only in eps: the same eps gives the same z.
    np.testing.assert_allclose(explain.reparameterize(MU, LV, e1), z1)


def test_kl_per_dim_values():
    # Standard normal: zero. Known cases: mu=1, var=1 -> 0.5; mu=0, var=e -> 0.5 * (e - 2).
    np.testing.assert_allclose(explain.kl_per_dim(np.zeros(2), np.zeros(2)), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(explain.kl_per_dim(np.array([1.0]), np.array([0.0])), [0.5])
    np.testing.assert_allclose(explain.kl_per_dim(np.array([0.0]), np.array([1.0])), [0.5 * (np.e - 2.0)])
    rng = np.random.default_rng(0)
    assert (explain.kl_per_dim(rng.normal(size=50), rng.normal(size=50)) >= 0).all()


def test_kl_per_dim_matches_serving():
    from vae.model.posterior import per_image_elbo

    out = per_image_elbo(np.zeros((28, 28)), np.full((28, 28), 0.5), MU, LV)
    np.testing.assert_allclose(out["kl_per_dim"], explain.kl_per_dim(MU, LV))


def test_kl_vs_std_agrees_and_blows_up_at_zero():
    stds = np.array([1e-4, 0.1, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(explain.kl_vs_std(0.7, stds),
                               explain.kl_per_dim(np.full(5, 0.7), np.log(stds**2)))
    assert explain.kl_vs_std(0.0, np.array([1.0]))[0] == pytest.approx(0.0)
    assert explain.kl_vs_std(0.0, np.array([1e-8]))[0] > 15  # grows like -log(std) as std -> 0
    curve = explain.kl_vs_std(0.3, np.linspace(0.05, 3, 200))
    assert np.linspace(0.05, 3, 200)[curve.argmin()] == pytest.approx(1.0, abs=0.02)


def test_parametrisations():
    p = explain.parametrisations(np.array([-1.0, 0.0, 4.0]))
    np.testing.assert_allclose(p["std_if_log_variance"], np.exp(0.5 * np.array([-1.0, 0.0, 4.0])))
    np.testing.assert_allclose(p["variance_if_log_variance"], np.exp([-1.0, 0.0, 4.0]))
    assert np.isnan(p["std_if_variance"][:2]).all() and p["std_if_variance"][2] == pytest.approx(2.0)
    assert np.isnan(p["std_if_std"][:2]).all() and p["std_if_std"][2] == 4.0


def test_project_and_projected_cov():
    z = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(explain.project(z, None), z)
    np.testing.assert_allclose(explain.projected_cov(np.log([4.0, 9.0]), None), np.diag([4.0, 9.0]))
    pca = {"mean": np.array([1.0, 0.0, 0.0]), "components": np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])}
    np.testing.assert_allclose(explain.project(np.array([2.0, 1.0, 1.0]), pca), [[1.0, 1.4]])
    cov = explain.projected_cov(np.log([1.0, 4.0, 9.0]), pca)
    np.testing.assert_allclose(cov, [[1.0, 0.0], [0.0, 0.36 * 4 + 0.64 * 9]])
    # The projected covariance is the sample covariance of a projected cloud.
    z, _ = explain.sample_cloud(np.zeros(3), np.log([1.0, 4.0, 9.0]), 50000, seed=0)
    np.testing.assert_allclose(np.cov(explain.project(z, pca).T), cov, rtol=0.05, atol=0.05)


def test_ellipse_radii():
    pts = explain.ellipse(np.array([1.0, -1.0]), np.diag([4.0, 1.0]), n_sd=2.0)
    assert pts.shape == (73, 2)
    np.testing.assert_allclose(pts[0], pts[-1])
    d = pts - [1.0, -1.0]
    np.testing.assert_allclose((d[:, 0] / 4.0) ** 2 + (d[:, 1] / 2.0) ** 2, 1.0, atol=1e-9)


def test_record_json_and_csv():
    elbo = {"reconstruction_loss": 100.0, "kl_loss": 3.0, "neg_elbo": 103.0, "kl_per_dim": [1, 2]}
    nbrs = [{"index": 1, "label": 7}]
    rec = explain.encoding_record(MU, LV, source="x.png", model="m", elbo=elbo, neighbors=nbrs)
    back = json.loads(explain.record_json(rec))
    assert back["latent_dim"] == 3 and back["neg_elbo"] == 103.0 and back["neighbors"][0]["label"] == 7
    np.testing.assert_allclose(back["z_std"], explain.z_std(LV))
    rows = list(csv.reader(io.StringIO(explain.record_csv(rec))))
    assert rows[0] == ["dim", "z_mean", "z_log_var", "z_std", "kl"] and len(rows) == 4
    assert float(rows[2][1]) == -1.0


def test_fmt_vec():
    assert explain.fmt_vec(np.array([1.0, -0.5])) == "[1.000, -0.500]"
    assert "16 values" in explain.fmt_vec(np.zeros(16))
