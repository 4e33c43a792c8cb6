"""The Latent map's selection events and a shared link's model, as a real browser sends them (AppTest)."""

from __future__ import annotations

import pytest

from tests.test_app_pages import _app, _page, _select_on_map


@pytest.mark.parametrize("customdata, expected", [
    ({"0": 42.0, "1": 0.5, "2": -1.0}, 42),  # a typed-array row, as Chromium sends it
    ([42, 0.5], 42), (42.0, 42), ([], None), (None, None), ({"1": 3.0}, None), ("x", None), (-1, None),
    (float("nan"), None),
])
def test_point_test_index_reads_every_form_of_customdata(customdata, expected):
    import app_services as svc

    assert svc.point_test_index({"customdata": customdata}) == expected


def test_a_click_whose_customdata_is_a_typed_array_row_shows_that_image():
    at = _page(_app(), "pages/latent_map.py")
    _select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "x": 1.0, "y": 2.0,
                                    "customdata": {"0": 42.0, "1": 0.1, "2": 0.2}}], "point_indices": [3]})
    assert at.session_state["sel_index"] == 42
    assert any("Test image #42" in m.value for m in at.markdown)


def test_a_forged_index_past_the_test_set_is_ignored():
    at = _page(_app(), "pages/latent_map.py")
    _select_on_map(at, {"points": [{"curve_number": 0, "point_index": 0, "customdata": [10_000_000]}]})
    assert at.session_state["sel_index"] is None if "sel_index" in at.session_state else True
    assert not any("Test image #" in m.value for m in at.markdown)


@pytest.mark.parametrize("link", ["models/does-not-exist", "/etc", "[Login](http://evil.example)"])
def test_a_bad_model_link_says_so_and_shows_the_default(link):
    at = _app(model=link)
    warning = " ".join(w.value for w in at.warning)
    assert "not one of this server's models" in warning and "default model is shown" in warning
    assert "](http" not in warning  # a visitor's Markdown is shown as text, not as a link
    assert "latent_dim 2" in " ".join(c.value for c in at.caption)
    # That it stays on the next pages is checked in a real browser (tests/e2e/test_links_browser.py):
    # AppTest's switch_page drops what app.py draws above the page.


def test_a_good_model_link_shows_no_notice():
    at = _app(model="models/mnist-16d")
    assert not at.warning
    assert "latent_dim 16" in " ".join(c.value for c in at.caption)
