"""Home, Latent map and Decoder pages (Streamlit AppTest), and the array helpers behind them."""

from __future__ import annotations

import io

import numpy as np
import pytest

from explorer import geometry as geo
from explorer import pictures as pics
from tests.support.bundles import REPO
from tests.support.grid_picture import grid_of
from tests.support.pages import app_at, on_page, select_on_map
from tests.support.widget_states import rerun_with

MODEL_16D = "models/mnist-16d"


# --- pages ---

def test_pages_run():
    """(That they import no TensorFlow is checked in a fresh process: tests/test_no_tensorflow.py.)"""
    at = app_at()
    assert "latent_dim 2" in " ".join(c.value for c in at.caption)
    assert at.selectbox(key="home_model").value
    on_page(at, "pages/latent_map.py")
    from explorer.sections.latent_map import NO_REFERENCE

    # The shipped model has reference encodings: a map, not a notice.
    assert NO_REFERENCE not in [i.value for i in at.info] and at.get("plotly_chart")
    on_page(at, "pages/decoder.py")
    assert len(at.slider) == 2


def _server_decodes(at) -> list:
    """The server's images of decoder(z) on the Decoder page."""
    return [i for i in at.get("image") if i.proto.imgs[0].caption.startswith("decoder(z)")]


def test_decoder_slider_changes_image_and_link():
    at = on_page(app_at(), "pages/decoder.py")
    at.toggle(key="dec_live_on").set_value(False).run()  # the server's image, not the browser's
    url0, z0 = _server_decodes(at)[0].value, at.session_state["dec_z"]
    lo, hi = at.slider[0].min, at.slider[0].max
    new = lo + 0.9 * (hi - lo) if z0[0] < (lo + hi) / 2 else lo + 0.1 * (hi - lo)
    at.slider[0].set_value(new).run()
    assert not at.exception
    assert at.session_state["dec_z"][0] == pytest.approx(new)
    assert _server_decodes(at)[0].value != url0
    assert geo.parse_z(at.query_params["z"], 2)[0] == pytest.approx(new, abs=1e-3)


def test_decoder_random_and_reset():
    at = on_page(app_at(), "pages/decoder.py")
    z0 = at.session_state["dec_z"]
    next(b for b in at.button if "Random" in b.label).click().run()
    assert not at.exception and at.session_state["dec_z"] != z0
    next(b for b in at.button if "Reset" in b.label).click().run()
    assert at.session_state["dec_z"] == pytest.approx(z0, abs=1e-6)


def _start_from(at, index: int) -> None:
    """Pick test digit `index` in whichever picker the Decoder shows (the test split's index box with the test
    set on this machine, the bundle's gallery without it) and press "Start from digit"."""
    if any(n.key == "dec_idx" for n in at.number_input):
        at.number_input(key="dec_idx").set_value(index).run()
    else:
        at.selectbox(key="dec_gallery").set_value(index).run()
    next(b for b in at.button if f"Start from digit #{index}" in b.label).click().run()
    assert not at.exception, at.exception


def test_decoder_start_from_digit_goes_to_its_z_mean():
    at = on_page(app_at(), "pages/decoder.py")
    gallery_index = int(np.load(REPO / "models" / "mnist-2d" / "gallery.npz")["indices"][5])
    _start_from(at, gallery_index)  # in the gallery, so either picker offers it
    ref = np.load(REPO / "models" / "mnist-2d" / "reference.npz")["z_mean"][gallery_index]
    assert at.session_state["dec_z"] == pytest.approx(ref.tolist(), abs=1e-5)


def test_decoder_without_the_test_set_starts_from_a_gallery_digit(monkeypatch):
    from explorer import cache

    monkeypatch.setattr(cache, "reference_images", lambda handle: None)  # as on a machine without MNIST
    at = on_page(app_at(), "pages/decoder.py")
    assert not any(n.key == "dec_idx" for n in at.number_input)
    gallery_index = int(np.load(REPO / "models" / "mnist-2d" / "gallery.npz")["indices"][5])
    _start_from(at, gallery_index)
    ref = np.load(REPO / "models" / "mnist-2d" / "reference.npz")["z_mean"][gallery_index]
    assert at.session_state["dec_z"] == pytest.approx(ref.tolist(), abs=1e-5)


def test_decoder_honours_link_z():
    at = on_page(app_at(z="0.5,2.5"), "pages/decoder.py")
    assert at.session_state["dec_z"] == pytest.approx([0.5, 2.5])
    assert [s.value for s in at.slider] == pytest.approx([0.5, 2.5])
    # A malformed z is ignored with a warning, never a traceback.
    at = on_page(app_at(z="1,2,oops"), "pages/decoder.py")
    assert at.warning and len(at.session_state["dec_z"]) == 2


def _rerun_with_widget_states(at, monkeypatch, drop=(), add=()) -> None:
    """Rerun as if the browser sent no state for the widget ids in `drop`, and the WidgetState protos in
    `add` (AppTest cannot hold back a widget's state, nor drive a custom component)."""
    rerun_with(at, add=add, drop=drop)


def test_decoder_sends_its_sliders_values_on_every_run(monkeypatch):
    """Issue 14, defect 2: a browser's first session reruns at once (the pixel-ratio report in the sidebar),
    often before it has drawn the first run's sliders, so that rerun brings no state for them. It must still
    send the sliders' values, or the browser shows their default (the minimum) beside the image of z."""
    at = on_page(app_at(), "pages/decoder.py")
    z = at.session_state["dec_z"]
    _rerun_with_widget_states(at, monkeypatch, drop={s.proto.id for s in at.slider})
    assert [s.proto.set_value for s in at.slider] == [True, True]
    assert [s.proto.value[0] for s in at.slider] == pytest.approx(z)
    assert at.session_state["dec_z"] == pytest.approx(z)


def test_decoder_live_release_moves_the_sliders_and_the_live_decoder_follows_them(monkeypatch):
    """A release on the in-browser decoder moves the server sliders and the link, and every z the server
    shows is sent back to the in-browser decoder (issue 14, defect 3), releases at the same spot included."""
    import json

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    at = on_page(app_at(), "pages/decoder.py")

    def live_args() -> dict:
        (live,) = at.get("component_instance")
        return json.loads(live.proto.json_args)

    def release(z: list[float], seq: int) -> None:
        (live,) = at.get("component_instance")
        value = {"z": z, "source": "pad", "seq": seq, "error": None, "model_id": live_args()["model_id"]}
        state = WidgetState(id=live.proto.id, json_value=json.dumps(value))
        _rerun_with_widget_states(at, monkeypatch, add=[state])

    spot = [0.5, -0.5]
    release(spot, 1)
    assert at.session_state["dec_z"] == pytest.approx(spot)
    assert [s.value for s in at.slider] == pytest.approx(spot)
    assert geo.parse_z(at.query_params["z"], 2) == pytest.approx(spot)
    assert live_args()["z"] == pytest.approx(spot)
    at.slider[0].set_value(1.0).run()
    assert live_args()["z"] == pytest.approx([1.0, -0.5])
    release(spot, 2)  # the same spot again: z goes back there
    assert at.session_state["dec_z"] == pytest.approx(spot) and live_args()["z"] == pytest.approx(spot)


def test_decoder_shows_one_decoded_image_the_browsers_when_it_runs_else_the_servers(monkeypatch):
    """While the in-browser decoder runs, its image is the only one (the server's came after it, the same z
    drawn twice); switched off, or failed in this browser, the server's image takes its place."""
    import json

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    at = on_page(app_at(), "pages/decoder.py")
    assert len(at.get("component_instance")) == 1 and not _server_decodes(at)
    (live,) = at.get("component_instance")
    model_id = json.loads(live.proto.json_args)["model_id"]
    failed = {"z": None, "error": "WebAssembly is off", "model_id": model_id}
    state = WidgetState(id=live.proto.id, json_value=json.dumps(failed))
    _rerun_with_widget_states(at, monkeypatch, add=[state])
    assert len(_server_decodes(at)) == 1 and "WebAssembly is off" in at.warning[0].value
    at = on_page(app_at(), "pages/decoder.py")
    at.toggle(key="dec_live_on").set_value(False).run()
    assert not at.get("component_instance") and len(_server_decodes(at)) == 1


def test_choosing_16d_on_home_holds_on_every_page():
    at = app_at()
    label = next(o for o in at.selectbox(key="home_model").options if "16" in o)
    at.selectbox(key="home_model").select(label).run()
    assert not at.exception
    assert at.query_params["model"] == "mnist-16d"  # the model's id
    assert "latent_dim 16" in " ".join(c.value for c in at.caption)
    on_page(at, "pages/decoder.py")
    assert len(at.slider) == 16
    on_page(at, "pages/latent_map.py")
    assert at.segmented_control(key="map_view").value == "PCA"
    assert any("PCA" in c.value for c in at.caption)
    at.number_input(key="map_idx").set_value(7).run()
    assert not at.exception
    assert any("Test image #7" in m.value for m in at.markdown)
    # The two-dims view (the one with z_std rings per axis) runs too.
    at.segmented_control(key="map_view").set_value("Two latent dims").run()
    assert not at.exception


def test_link_with_model_shows_its_sidebar():
    at = app_at(model=MODEL_16D)
    assert "latent_dim 16" in " ".join(c.value for c in at.sidebar.caption)


def test_latent_map_selection_shows_image_and_reconstruction():
    at = on_page(app_at(), "pages/latent_map.py")
    n_images = len(at.image)
    at.number_input(key="map_idx").set_value(5).run()
    assert not at.exception
    assert any("Test image #5" in m.value for m in at.markdown)
    # reconstruction always; the input too if the dataset is on this machine, else a notice
    assert len(at.image) >= n_images + 1
    assert len(at.image) == n_images + 2 or any("not on this server" in i.value for i in at.info)
    at.select_slider(key="map_grid_n").set_value(6).run()
    assert not at.exception


def _grid(at) -> tuple[tuple[int, int], dict]:
    """The Latent map's decoded grid: its picture's size, and its axes' tick labels (the cells' z)."""
    return grid_of(at)


def test_latent_map_decoded_grid_travels_inline_and_follows_the_grid_size():
    at = on_page(app_at(), "pages/latent_map.py")
    size, _ = _grid(at)
    assert max(size) == 15 * 28 * 2  # the default: 15 images along the longer side, 2x pixels
    at.select_slider(key="map_grid_n").set_value(6).run()
    assert not at.exception and max(_grid(at)[0]) == 6 * 28 * 2


def _tick_values(ticks: list[str]) -> np.ndarray:
    return np.array([float(t) for t in ticks])


def test_latent_map_grid_is_spaced_by_the_data_and_labelled_with_z():
    """Defect: an evenly spaced grid put half the test set in a few central cells. By default each column
    and row now holds the same share of the data, and the axes say the actual z of each cell."""
    at = on_page(app_at(), "pages/latent_map.py")
    (width, height), fig = _grid(at)
    z_mean = np.load(REPO / "models" / "mnist-2d" / "reference.npz")["z_mean"]
    cols, rows = width // 56, height // 56
    xs = _tick_values(fig["x"])
    ys = _tick_values(fig["y"])
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) < 0)  # left to right, top to bottom
    # Every column holds about the same share of the test set: counts between cell centres are even.
    expected = geo.grid_axis(z_mean[:, 0], cols, "quantiles")
    step = max(1, int(np.ceil(44 / min(56, 640 // cols))))
    np.testing.assert_allclose(xs, np.round(expected[::step], 2), atol=0.006)
    between = np.histogram(z_mean[:, 0], bins=expected)[0]
    assert between.max() / between.min() < 1.5, between
    # The central 1.5 x 1.5 box, half the data, gets about half the cells (an even grid gave it a few).
    centre = (np.abs(expected) < 0.75).sum()
    assert centre >= 0.3 * cols, (centre, cols)
    at.segmented_control(key="map_grid_spacing").set_value("prior").run()
    (_, fig) = _grid(at)
    prior = _tick_values(fig["x"])
    assert prior[0] < 0 < prior[-1] and prior[0] == pytest.approx(-prior[-1], abs=0.011)  # Φ⁻¹ is symmetric
    at.segmented_control(key="map_grid_spacing").set_value("even").run()
    even = _tick_values(_grid(at)[1]["x"])
    assert np.ptp(np.diff(even)) < 0.02  # equal steps (to the 2 decimals shown)
    assert rows >= 3


def test_bundle_without_reference_gets_notices(no_reference_bundle, monkeypatch):
    from jobservice import user_models

    monkeypatch.setenv("VAE_USER_MODELS", str(no_reference_bundle.parent))  # a visitor's model, by id
    user_models.set_owner(no_reference_bundle, "v-classmate")
    user_models.set_shared(no_reference_bundle, "v-classmate", True)  # a classmate shared it
    at = app_at(model=f"user/{no_reference_bundle.name}")
    on_page(at, "pages/latent_map.py")
    assert any("no reference encodings" in i.value for i in at.info)
    on_page(at, "pages/decoder.py")
    assert len(at.slider) == 2 and at.image


def test_models_are_picked_and_linked_by_id_never_by_path(no_reference_bundle):
    """Home has no box for a folder, the link names a model by its id, and a link naming a real bundle
    folder by its path (one outside the server's model folders) is refused."""
    at = app_at()
    assert not at.text_input  # no server path is typed in the browser
    label = next(o for o in at.selectbox(key="home_model").options if o.startswith("MNIST, 16-D"))
    at.selectbox(key="home_model").set_value(label).run()
    assert at.query_params["model"] == "mnist-16d"
    assert "latent_dim 16" in " ".join(c.value for c in at.caption)
    at = app_at(model=str(no_reference_bundle))  # a complete bundle, but named by its path
    assert any("not one of this server's models" in w.value for w in at.warning)
    assert "latent_dim 2" in " ".join(c.value for c in at.caption)
    assert at.session_state["model_path"] != str(no_reference_bundle)


def test_latent_map_point_and_box_selection_events():
    at = on_page(app_at(), "pages/latent_map.py")
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "x": 1.0, "y": 2.0,
                                    "customdata": [42]}], "point_indices": [3]})
    assert at.session_state["sel_index"] == 42
    assert any("Test image #42" in m.value for m in at.markdown)
    ranges = geo.data_ranges(np.load(REPO / "models" / "mnist-2d" / "reference.npz")["z_mean"])
    (x0, x1), (y0, y1) = ranges
    box = {"xref": "x", "yref": "y", "x": [x0, (x0 + x1) / 2], "y": [y0, (y0 + y1) / 2]}
    select_on_map(at, {"box": [box]})
    assert any(m.value.startswith("**Box**") for m in at.markdown)
    assert any("box decoded" in c for img in at.image for c in img.captions)
    next(b for b in at.button if b.label == "Clear the box").click().run()
    assert not at.exception and not any(m.value.startswith("**Box**") for m in at.markdown)


def test_latent_map_tsne_view_says_it_has_no_inverse(monkeypatch, tmp_path):
    """The t-SNE branch of the page (t-SNE itself is stood in for by a quick projection)."""
    from explorer import tsne

    def quick_tsne(z, on_progress=None, **kwargs):
        on_progress(1.0)
        return {"xy": z[:, :2] * 3.0, "sample": geo.sample_indices(len(z), 500)}

    monkeypatch.setenv("VAE_HOME", str(tmp_path))
    monkeypatch.setattr(tsne, "embed", quick_tsne)
    at = on_page(app_at(model=MODEL_16D), "pages/latent_map.py")
    at.segmented_control(key="map_view").set_value("t-SNE").run()
    assert not at.exception
    assert any("no inverse" in c.value for c in at.caption)
    assert any("t-SNE of 500 test images drawn at random; the other 9,500 are added" in c.value
               for c in at.caption)
    assert list((tmp_path / "cache").glob("tsne-*.npz"))  # kept for the next visitor and the next start
    assert any("no inverse" in i.value for i in at.info)  # the decoded grid is replaced by a notice
    at.number_input(key="map_idx").set_value(int(geo.sample_indices(10000, 500)[0])).run()
    assert not at.exception


def test_map_thumbnail_marks_z_where_it_is():

    from PIL import Image

    xy = np.array([[-1.0, -1.0], [1.0, 1.0]])
    thumb = pics.map_thumbnail(xy, np.array([0, 3]), (-2, 2), (-2, 2), size=101)
    assert thumb.shape == (101, 101, 3)
    # Label colours at the data points: (1, 1) is up and to the right, as on a plot.
    assert tuple(thumb[25, 75]) == tuple(int(pics.PALETTE[3][i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(thumb[75, 25]) == tuple(int(pics.PALETTE[0][i:i + 2], 16) for i in (1, 3, 5))

    def cross_at(point) -> tuple[int, int]:
        png = pics.mark_thumbnail(thumb, point, (-2, 2), (-2, 2))
        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        rows, cols = np.nonzero(img < 10)  # the black cross
        return int(np.median(rows)), int(np.median(cols))

    assert cross_at((0.0, 1.0)) == (25, 50)
    r, c = cross_at((50.0, -50.0))  # far outside: drawn on the bottom-right edge, still visible
    assert r >= 90 and c >= 90


@pytest.mark.parametrize("cookie, ratio", [(None, 2), ("1", 1), ("1.25", 1.25), ("2", 2), ("3", 2),
                                           ("0.5", 1), ("nan", 2), ("inf", 2), ("abc", 2), ("", 2)])
def test_webgl_pixel_ratio_follows_the_screen_within_plotlys_default(cookie, ratio):
    from explorer import widgets

    assert widgets.gl_pixel_ratio(cookie) == ratio


def test_pages_pass_the_pixel_ratio_to_webgl_charts():
    """No cookie and nothing reported (a first run): Plotly's own 2; once the browser reports 1, 1."""
    import json

    at = on_page(app_at(), "pages/latent_map.py")
    assert json.loads(at.get("plotly_chart")[0].proto.config)["plotGlPixelRatio"] == 2
    at.session_state["pixel_ratio_reporter"] = {"ratio": "1"}  # the component's state, as the browser sets it
    at.run()
    assert json.loads(at.get("plotly_chart")[0].proto.config)["plotGlPixelRatio"] == 1
