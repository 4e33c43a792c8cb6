"""The Latent map's t-SNE: every point placed, neighbours kept, computed once per model and kept on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer import tsne

REPO = Path(__file__).resolve().parent.parent


def clusters(n: int = 1200, dims: int = 16, k: int = 6, seed: int = 0) -> np.ndarray:
    """k well-apart Gaussian clusters in `dims` dimensions, like a trained model's z_mean by label."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, dims))
    return (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, dims))).astype(np.float32)


def test_every_point_gets_a_place_and_neighbours_stay_neighbours():
    from sklearn.manifold import trustworthiness

    z = clusters()
    fractions = []
    result = tsne.embed(z, n_sample=400, on_progress=fractions.append)
    assert result["xy"].shape == (1200, 2) and np.isfinite(result["xy"]).all()
    assert len(result["sample"]) == 400 and len(np.unique(result["sample"])) == 400
    assert trustworthiness(z, result["xy"], n_neighbors=10) > 0.9
    sampled = result["sample"]
    assert trustworthiness(z[sampled], result["xy"][sampled], n_neighbors=10) > 0.9
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0  # the bar moves to the end


def test_a_point_like_a_sampled_one_is_placed_beside_it():
    z = clusters(n=800)
    z[600:] = z[:200] + 1e-3  # the last 200 are (almost) copies of the first 200
    result = tsne.embed(z, n_sample=400, seed=1)
    xy, sample = result["xy"], set(result["sample"].tolist())
    pairs = [(i, 600 + i) for i in range(200) if i in sample and 600 + i not in sample]
    assert len(pairs) >= 10
    spread = np.ptp(xy, axis=0).max()
    for a, b in pairs:
        assert np.linalg.norm(xy[a] - xy[b]) < 0.05 * spread, (a, b)


def test_time_left_follows_the_rate_so_far():
    assert tsne.seconds_left(100.0, 0.0, now=101.0) is None  # no rate yet: no number
    assert tsne.seconds_left(100.0, 0.25, now=110.0) == pytest.approx(30.0)


def test_cache_folder_is_vae_home_never_the_source_tree(monkeypatch, tmp_path):
    from explorer.models import handle_of

    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    model = handle_of(REPO / "models" / "mnist-16d")
    folder = tmp_path / "home" / "cache"
    assert tsne.cache_file(model).parent == folder and folder.is_dir()
    monkeypatch.delenv("VAE_HOME")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    user_data = tmp_path / "user" / ".local" / "share"
    assert tsne.cache_file(model).parent == user_data / "latent-explorer" / "cache"


def test_the_disk_cache_is_used_on_a_second_call(monkeypatch, tmp_path):
    """A restart (a new process: nothing in memory) reads the file; a re-saved model computes afresh."""
    from dataclasses import replace

    from explorer.models import handle_of

    monkeypatch.setenv("VAE_HOME", str(tmp_path))
    calls = []

    def quick(z, **kwargs):
        calls.append(len(z))
        return {"xy": np.asarray(z, np.float32)[:, :2] * 2, "sample": np.arange(0, len(z), 5)}

    monkeypatch.setattr(tsne, "embed", quick)
    model = handle_of(REPO / "models" / "mnist-16d")
    first = tsne.embedding(model)
    assert calls == [10_000] and first["xy"].shape == (10_000, 2)
    files = list((tmp_path / "cache").glob("tsne-*.npz"))
    assert len(files) == 1 and not list(REPO.glob("**/tsne-*.npz"))
    again = tsne.embedding(model)
    assert calls == [10_000]  # read back, not computed again
    np.testing.assert_array_equal(again["xy"], first["xy"])
    np.testing.assert_array_equal(again["sample"], first["sample"])
    tsne.embedding(replace(model, stamp=model.stamp + 1))  # the bundle saved again
    assert calls == [10_000, 10_000]


def test_an_unwritable_cache_folder_still_gives_the_view(monkeypatch, tmp_path):
    from explorer.models import handle_of

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("VAE_HOME", str(blocked))
    monkeypatch.setattr(tsne, "embed", lambda z, **kw: {"xy": np.zeros((len(z), 2), np.float32),
                                                      "sample": np.arange(10)})
    assert tsne.embedding(handle_of(REPO / "models" / "mnist-16d"))["xy"].shape == (10_000, 2)
