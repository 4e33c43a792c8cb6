"""The Latent map's selection events and a shared link's model, as a real browser sends them (AppTest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.support.pages import app_at, on_page, open_page, select_on_map


@pytest.mark.parametrize("customdata, expected", [
    ({"0": 42.0, "1": 0.5, "2": -1.0}, 42),  # a typed-array row, as Chromium sends it
    ([42, 0.5], 42), (42.0, 42), ([], None), (None, None), ({"1": 3.0}, None), ("x", None), (-1, None),
    (float("nan"), None),
])
def test_point_test_index_reads_every_form_of_customdata(customdata, expected):
    from explorer import widgets

    assert widgets.point_test_index({"customdata": customdata}) == expected


def test_a_click_whose_customdata_is_a_typed_array_row_shows_that_image():
    at = on_page(app_at(), "pages/latent_map.py")
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "x": 1.0, "y": 2.0,
                                    "customdata": {"0": 42.0, "1": 0.1, "2": 0.2}}], "point_indices": [3]})
    assert at.session_state["sel_index"] == 42
    assert any("Test image #42" in m.value for m in at.markdown)


def test_one_selection_at_a_time_a_box_clears_the_point_and_a_point_the_box():
    """Issue 23: after a box-select the index box kept the clicked point's number and its ✕ stayed on the
    map while the side panel showed the box."""
    at = on_page(app_at(), "pages/latent_map.py")
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "customdata": [42]}],
                        "point_indices": [3]})
    assert at.number_input(key="map_idx").value == 42 and _has_marker(at)
    select_on_map(at, {"box": [{"xref": "x", "yref": "y", "x": [-1.0, 0.5], "y": [-1.0, 0.5]}]})
    assert any(m.value.startswith("**Box**") for m in at.markdown)
    assert at.session_state["sel_index"] is None and at.number_input(key="map_idx").value is None
    assert not _has_marker(at) and not any("Test image #" in m.value for m in at.markdown)
    select_on_map(at, {"points": [{"curve_number": 2, "point_index": 1, "customdata": [7]}],
                        "point_indices": [1]})
    assert at.session_state["map_box"] is None and _has_marker(at)
    assert not any(m.value.startswith("**Box**") for m in at.markdown)
    select_on_map(at, {"box": [{"xref": "x", "yref": "y", "x": [-1.0, 0.5], "y": [-1.0, 0.5]}]})
    at.number_input(key="map_idx").set_value(5).run()  # a number typed in the index box: a point too
    assert at.session_state["map_box"] is None and any("Test image #5" in m.value for m in at.markdown)


def _has_marker(at) -> bool:
    """Whether the map draws the selected point's ✕ (figures.latent_figure's "selected" trace)."""
    import json

    chart = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("map_chart"))
    return any(t.get("name") == "selected" for t in json.loads(chart.proto.spec)["data"])


def test_a_forged_index_past_the_test_set_is_ignored():
    at = on_page(app_at(), "pages/latent_map.py")
    select_on_map(at, {"points": [{"curve_number": 0, "point_index": 0, "customdata": [10_000_000]}]})
    assert "sel_index" not in at.session_state or at.session_state["sel_index"] is None
    assert not any("Test image #" in m.value for m in at.markdown)


@pytest.mark.parametrize("link", ["models/does-not-exist", "/etc", "[Login](http://evil.example)"])
def test_a_bad_model_link_says_so_and_shows_the_default(link):
    at = app_at(model=link)
    warning = " ".join(w.value for w in at.warning)
    assert "not one of this server's models" in warning and "default model is shown" in warning
    assert "](http" not in warning  # a visitor's Markdown is shown as text, not as a link
    assert "latent_dim 2" in " ".join(c.value for c in at.caption)
    # That it stays on the next pages is checked in a real browser (tests/e2e/test_links_browser.py):
    # AppTest's switch_page drops what app.py draws above the page.


def test_a_good_model_link_shows_no_notice():
    at = app_at(model="models/mnist-16d")
    assert not at.warning
    assert "latent_dim 16" in " ".join(c.value for c in at.caption)


def _with_reference(bundle: Path, dst: Path, z_mean: np.ndarray, z_log_var: np.ndarray) -> str:
    """A copy of a bundle whose reference encodings are the given ones (a stand-in for a model trained
    briefly, whose encoder has not learned to use a unit)."""
    shutil.copytree(bundle, dst)
    ref = dict(np.load(bundle / "reference.npz"))
    n = len(ref["labels"])
    np.savez(dst / "reference.npz", **{**ref, "z_mean": z_mean[:n].astype(np.float32),
                                       "z_log_var": z_log_var[:n].astype(np.float32)})
    return str(dst)


def _map_figure(at) -> dict:
    import json

    return json.loads(next(e for e in at.get("plotly_chart") if e.proto.id.endswith("map_chart")).proto.spec)


def test_a_collapsed_unit_is_explained_and_the_map_fits_the_data(tiny_bundle, tmp_path):
    rng = np.random.default_rng(0)
    n = len(np.load(tiny_bundle / "reference.npz")["labels"])
    z_mean = np.column_stack([rng.normal(0, 0.03, n), rng.normal(3, 1.0, n)])  # z0 unused, z1 used
    z_log_var = np.column_stack([np.full(n, 1.2), np.full(n, -2.0)])
    bundle = _with_reference(tiny_bundle, tmp_path / "collapsed", z_mean, z_log_var)
    at = open_page("pages/latent_map.py", bundle)
    warning = " ".join(w.value for w in at.warning)
    assert "Only 1 of 2 latent units is active" in warning and "z0" in warning
    assert "more epochs" in warning and "β" in warning  # what to try
    fig = _map_figure(at)
    assert "scaleanchor" not in fig["layout"]["yaxis"]  # each axis fits its own data: no thin sliver
    x0, x1 = fig["layout"]["xaxis"]["range"]
    assert x1 - x0 < 0.5  # the x axis spans z0's own small spread
    assert any(c.value.startswith("Not to scale: z1 spreads") for c in at.caption)


def test_models_using_every_unit_say_nothing_and_keep_the_map_to_scale():
    at = on_page(app_at(), "pages/latent_map.py")
    assert not at.warning and not any("latent units" in i.value for i in at.info)
    fig = _map_figure(at)
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"


def test_a_16d_model_with_spare_units_gets_a_word_not_a_warning():
    at = on_page(app_at(model="models/mnist-16d"), "pages/latent_map.py")
    assert not at.warning
    info = " ".join(i.value for i in at.info)
    assert "14 of 16 latent units are active" in info and "more epochs" not in info


def test_without_the_dataset_the_map_says_how_to_point_the_server_at_it(monkeypatch, tmp_path):
    from explorer import cache
    from vae.inputs import data

    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))  # an empty folder: no IDX files
    monkeypatch.setattr(data, "DEBIAN_DIRS", {})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    cache.test_images.clear()
    try:
        from vae.bundles.bundle import DEFAULT_MODEL, load_gallery

        gallery = load_gallery(DEFAULT_MODEL)
        outside = next(i for i in range(100) if i not in set(gallery["indices"].tolist()))
        at = on_page(app_at(), "pages/latent_map.py")
        at.number_input(key="map_idx").set_value(outside).run()
        # Not this image, and said so: the nearest real digit the bundle carries, and how to get the rest.
        assert any(c.startswith("not this image") for img in at.image for c in img.captions)
        assert any("test set is not on this server" in c.value and "VAE_DATA_DIR=" in c.value
                   and "streamlit run app.py" in c.value for c in at.caption)
        at.number_input(key="map_idx").set_value(int(gallery["indices"][0])).run()
        assert "input (from the model's gallery)" in [c for img in at.image for c in img.captions]
    finally:
        cache.test_images.clear()


def test_the_unit_notice_is_worked_out_once_per_model_not_on_every_run(monkeypatch):
    """The inactive-units notice reads every reference code: it used to be recomputed on each rerun (each
    click and widget change on the map)."""
    from explorer import notices

    calls = []
    real = notices.unit_activity

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(notices, "unit_activity", counted)
    at = open_page("pages/latent_map.py")
    first = len(calls)
    at.run()
    at.run()
    assert not at.exception and len(calls) == first <= 1, calls
