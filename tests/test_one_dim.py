"""A model with latent_dim 1 (the Train page and the CLI allow it): every page runs and shows a 1-D view.

Its map is a strip: x = z0, y a jitter (or the label's row) that means nothing; z_std is drawn as
horizontal bars, the decoded manifold is one row, and there is no PCA or t-SNE to choose.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from explorer import figures as figs
from explorer import geometry as geo
from tests.support.grid_picture import grid_of
from tests.support.pages import open_page, select_on_map
from tests.support.pictures import cloud_pictures, digit_png

PAGES = ["home", "latent_map", "decoder", "encode", "train", "how_it_works"]


def _reference(bundle) -> dict:
    with np.load(bundle / "reference.npz") as ref:
        return {k: ref[k] for k in ref.files}


def _chart(at, key: str) -> dict:
    """The Plotly figure of the chart with this key, as the browser receives it."""
    return json.loads(next(e for e in at.get("plotly_chart") if e.proto.id.endswith(key)).proto.spec)


def _values(data) -> np.ndarray:
    """A trace's array: a plain list, or Plotly's typed array ({dtype, bdata[, shape]})."""
    if not isinstance(data, dict):
        return np.asarray(data, np.float64)
    arr = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).astype(np.float64)
    shape = data.get("shape")
    return arr.reshape([int(s) for s in str(shape).split(",")]) if shape else arr


def _segments(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A NaN-separated polyline (ellipse_paths) split into its pieces."""
    cuts = np.flatnonzero(np.isnan(x))
    return [(x[a + 1:b], y[a + 1:b]) for a, b in zip(np.r_[-1, cuts], np.r_[cuts, len(x)]) if b > a + 1]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(tiny_1d_bundle, page):
    at = open_page(f"pages/{page}.py", str(tiny_1d_bundle))
    assert at.session_state["model_path"] == str(tiny_1d_bundle.resolve())  # still the 1-D model
    assert not at.error, [e.value for e in at.error]


def test_latent_map_is_a_strip_of_z0_with_z_std_bars(tiny_1d_bundle):
    ref = _reference(tiny_1d_bundle)
    at = open_page("pages/latent_map.py", str(tiny_1d_bundle))
    # no PCA / t-SNE to choose with one dimension (the grid's spacing is the page's one segmented control)
    assert [c.key for c in at.get("segmented_control")] == ["map_grid_spacing"]
    assert any("one latent dimension" in c.value for c in at.caption)
    fig = _chart(at, "map_chart")
    points = [t for t in fig["data"] if t["type"] == "scattergl"]
    x = np.concatenate([_values(t["x"]) for t in points])
    y = np.concatenate([_values(t["y"]) for t in points])
    index = np.concatenate([_values(t["customdata"])[:, 0] for t in points]).astype(int)
    assert len(x) == len(ref["z_mean"]) and sorted(index) == list(range(len(x)))  # one point per test image
    np.testing.assert_allclose(x, ref["z_mean"][index, 0], atol=1e-6)  # x is z0
    assert np.abs(y - ref["labels"][index]).max() <= 0.3  # y: the label's row, jittered
    assert fig["layout"]["yaxis"]["tickvals"] == sorted(set(ref["labels"].tolist()))

    bars = next(t for t in fig["data"] if t["name"] == "z_std (1σ)")
    rows = geo.sample_indices(len(x), 150, seed=1)
    pieces = _segments(_values(bars["x"]), _values(bars["y"]))
    assert len(pieces) == len(rows)
    for (bx, by), std in zip(pieces, geo.z_std(ref["z_log_var"][rows, 0])):
        assert np.ptp(by) < 1e-5  # horizontal: no spread along y to draw
        assert np.ptp(bx) / 2 == pytest.approx(std, rel=1e-3)


def test_latent_map_decodes_one_row(tiny_1d_bundle):

    at = open_page("pages/latent_map.py", str(tiny_1d_bundle))
    size, ticks = grid_of(at)
    assert size == (15 * 28 * 2, 28 * 2)  # the default 15 images, one row, 2x pixels
    assert ticks["x"] and not ticks["y"]  # the strip's y is no latent coordinate
    assert any(c.value.startswith("1×15 decoded points") for c in at.caption)
    at.number_input(key="map_idx").set_value(5).run()
    assert not at.exception and any("Test image #5" in m.value for m in at.markdown)
    z = _reference(tiny_1d_bundle)["z_mean"][:, 0]
    box = {"xref": "x", "yref": "y", "x": [float(z.min()), float(z.max())], "y": [-1, 4]}
    select_on_map(at, {"box": [box]})
    assert any("box decoded as a 1×10 grid" in c for img in at.image for c in img.captions)


def test_decoder_has_one_slider_that_moves_the_image(tiny_1d_bundle):
    at = open_page("pages/decoder.py", str(tiny_1d_bundle))
    assert [s.label for s in at.slider] == ["z0"]
    image = at.image[0].value  # the decoded picture, inline (a data: URL)
    slider = at.slider[0]
    new = slider.min + 0.95 * (slider.max - slider.min)
    slider.set_value(new).run()
    assert not at.exception, at.exception
    assert at.session_state["dec_z"] == pytest.approx([new])
    assert at.image[0].value != image
    assert any("Where z is" in c.value and "jitter" in c.value for c in at.caption)
    next(b for b in at.button if "Start from digit" in b.label).click().run()
    assert not at.exception
    first = float(_reference(tiny_1d_bundle)["z_mean"][0, 0])
    assert at.session_state["dec_z"] == pytest.approx([first], abs=1e-5)


def test_encode_places_the_upload_on_the_strip(tiny_1d_bundle):
    from vae.bundles.serving import ServedModel
    from vae.inputs.preprocess import preprocess_bytes

    at = open_page("pages/encode.py", str(tiny_1d_bundle))
    png = digit_png()
    at.file_uploader(key="encode_upload").upload("seven.png", png, "image/png")
    at.run()
    assert not at.exception, at.exception
    z_mean, z_log_var = ServedModel(tiny_1d_bundle).encode(preprocess_bytes(png).image[None])
    fig = _chart(at, "encode_map")
    star = next(t for t in fig["data"] if t["name"] == "z_mean (yours)")
    assert _values(star["x"])[0] == pytest.approx(float(z_mean[0, 0]), abs=1e-5)
    assert _values(star["y"])[0] == 0.0  # on the strip's centre line
    ring = next(t for t in fig["data"] if t["name"] == "1·z_std (yours)")
    assert np.ptp(_values(ring["y"])) < 1e-9  # a horizontal bar
    assert np.ptp(_values(ring["x"])) / 2 == pytest.approx(float(np.exp(0.5 * z_log_var[0, 0])), rel=1e-6)
    assert fig["layout"]["yaxis"]["title"]["text"] == "random jitter (no meaning)"
    at.toggle(key="encode_zoom").set_value(True).run()
    assert not at.exception, at.exception


def test_how_it_works_draws_the_clouds_on_the_strip(tiny_1d_bundle):
    at = open_page("pages/how_it_works.py", str(tiny_1d_bundle))
    for q in ("half", "epsilon", "heads", "collapse"):
        at.session_state[f"how_q_{q}"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="how_dim").options == ["z[0]"]
    one, two = cloud_pictures(at)
    assert "z_mean (this input)" in one and "z_mean (input 2)" in two
    assert "random jitter (no meaning)" in one and "PC 1" not in one
    at.toggle(key="how_zoom").set_value(False).run()
    assert not at.exception, at.exception


def test_strip_plane_goes_to_z0_and_back():
    z0 = np.array([-1.0, 0.5, 2.0])
    plane = geo.strip_plane(z0, np.array([0, 3, 3]), jitter=0.3)
    assert plane["xy"][:, 0].tolist() == z0.tolist()
    assert np.abs(plane["xy"][:, 1] - [0, 3, 3]).max() <= 0.3
    assert geo.pca_project(z0[:, None], plane["components"], plane["mean"]).tolist() == [
        [-1.0, 0.0], [0.5, 0.0], [2.0, 0.0]]
    back = geo.plane_to_z(plane["xy"], components=plane["components"], mean=plane["mean"])
    assert back.shape == (3, 1) and back[:, 0].tolist() == z0.tolist()  # y dropped
    cov = geo.projected_cov(np.array([[0.5]]), plane["components"])[0]
    assert cov.tolist() == [[0.25, 0.0], [0.0, 0.0]]  # a bar along x, nothing along y
    assert figs.latent_axis_titles(geo.strip_plane(z0))[1] == "random jitter (no meaning)"
