"""Issue 28 in Streamlit's AppTest: the Directions page's controls, the Decoder's add k × direction, the
Interpolate page and Compare's pair of interpolations, on the shipped models."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from explorer import directions
from tests.support.pages import app_at, on_page, select_on_map
from tests.support.widget_states import rerun_with, string_state
from vae.model import directions as maths
from vae.model import interpolate

MNIST_2D, MNIST_16D, BETA0 = "models/mnist-2d", "models/mnist-16d", "models/mnist-2d-beta0"


def _on(page: str, model: str | None = None, **query):
    at = app_at(**query)
    if model:
        at.session_state["model_path"] = model
    return on_page(at, page)


def _mnist_here(at) -> bool:
    from explorer import cache
    from explorer.models import resolve

    return cache.reference_images(resolve()) is not None


class FakeCanvas:
    """streamlit_drawable_canvas in AppTest, which cannot draw: each canvas key draws its own digit (a "7"
    unless told), rendered as the real canvas sends it (scripts/drawn_digits.py)."""

    def __init__(self, digits: dict[str, int]):
        from scripts import drawn_digits

        self.drawn, self.digits = drawn_digits, digits
        self.module = types.ModuleType("streamlit_drawable_canvas")
        self.module.st_canvas = self.st_canvas

    def image(self, key: str, stroke: float) -> np.ndarray:
        return self.drawn.render(self.drawn.pen_paths(self.digits.get(key, 7), variant=0, size=240), stroke)

    def st_canvas(self, **kw):
        return types.SimpleNamespace(json_data={"objects": [{"type": "path"}]},
                                     image_data=self.image(kw["key"], kw["stroke_width"]))


# --- Directions ---

@pytest.mark.parametrize("model", [None, MNIST_16D, BETA0])
def test_two_labels_make_the_difference_of_their_means_saved_in_the_link(model):
    at = _on("pages/directions.py", model)
    at.selectbox(key="dir_label_a").set_value(1).run()
    at.selectbox(key="dir_label_b").set_value(7).run()
    at.text_input(key="dir_name").input("one to seven").run()
    at.button(key="dir_save").click().run()
    assert not at.exception, at.exception
    from vae.bundles.serving import ServedModel

    ref = ServedModel(model or MNIST_2D).reference
    want = ref["z_mean"][ref["labels"] == 7].mean(0) - ref["z_mean"][ref["labels"] == 1].mean(0)
    (kept,) = at.session_state[directions.STORE_KEY].values()  # one model's directions
    saved = kept["one to seven"]
    np.testing.assert_allclose(saved["vector"], want, atol=1e-5)  # (means of float32 codes)
    linked = directions.parse_link(at.query_params["dirs"], len(want))["one to seven"]["vector"]
    np.testing.assert_allclose(linked, want, atol=1e-4)
    assert at.dataframe[-1].value["name"].tolist() == ["one to seven"]  # the saved list
    assert "one to seven" in " ".join(c.value for c in at.caption)  # an arrow of that name on the map
    on_page(at, "pages/latent_map.py")  # and on the Latent map (a 16-D model's PCA view)
    assert "one to seven" in at.get("plotly_chart")[0].proto.spec


def test_the_same_label_twice_is_no_direction():
    at = _on("pages/directions.py")
    at.selectbox(key="dir_label_b").set_value(0).run()
    assert "Pick two different labels." in [i.value for i in at.info]
    assert all(b.key != "dir_save" for b in at.button)


def test_attribute_direction_shows_held_out_r2_and_walks_on_the_decoder():
    at = _on("pages/directions.py")
    if not _mnist_here(at):
        pytest.skip("the MNIST test images are not on this machine")
    at.segmented_control(key="dir_method").set_value("attribute").run()
    at.selectbox(key="dir_attr").set_value("slant").run()
    r2 = float(at.metric[0].value)
    assert 0.0 < r2 <= 1.0 and "held-out" in at.metric[0].label
    assert at.text_input(key="dir_name").value == "slant"  # the attribute's name is offered
    at.button(key="dir_save").click().run()
    vector = np.array(directions.parse_link(at.query_params["dirs"], 2)["slant"]["vector"])

    on_page(at, "pages/decoder.py")
    at.toggle(key="dec_live_on").set_value(False).run()
    assert at.selectbox(key="dec_dir").value == "slant"
    z0 = np.array(at.session_state["dec_z"])
    at.slider(key="dec_dir_k").set_value(1.5).run()
    at.button(key="dec_dir_add").click().run()
    np.testing.assert_allclose(np.array(at.session_state["dec_z"]), z0 + 1.5 * vector, atol=2e-3)
    at.button(key="dec_dir_sub").click().run()
    np.testing.assert_allclose(np.array(at.session_state["dec_z"]), z0, atol=2e-3)
    strip = [i for i in at.get("image") if "× slant" in i.proto.imgs[0].caption]
    assert strip and "z − 1.5 × slant" in strip[0].proto.imgs[0].caption
    assert "slant~" in at.query_params["dirs"]  # the Decoder's link carries the direction too


def test_a_link_brings_its_directions_and_skips_a_broken_one():
    at = _on("pages/directions.py", dirs="thick~0.5,-1;bad~1,nope;toolong~1,2,3")
    assert at.dataframe[-1].value["name"].tolist() == ["thick"]
    at.selectbox(key="dir_delete_name").set_value("thick")
    at.button(key="dir_delete").click().run()
    assert "dirs" not in at.query_params and "None yet on this model." in [c.value for c in at.caption]


def test_two_boxes_of_the_latent_map_make_a_direction():
    at = _on("pages/latent_map.py")
    select_on_map(at, {"box": [{"x": [-3.0, -0.5], "y": [-3.0, 3.0]}]})
    at.button(key="map_box_group_A").click().run()
    select_on_map(at, {"box": [{"x": [0.5, 3.0], "y": [-3.0, 3.0]}]})
    at.button(key="map_box_group_B").click().run()
    on_page(at, "pages/directions.py")
    at.segmented_control(key="dir_method").set_value("boxes").run()
    from explorer.models import resolve

    z_mean = resolve().served.reference["z_mean"]
    a, b = z_mean[(z_mean[:, 0] >= -3) & (z_mean[:, 0] <= -0.5) & (abs(z_mean[:, 1]) <= 3)], \
        z_mean[(z_mean[:, 0] >= 0.5) & (z_mean[:, 0] <= 3) & (abs(z_mean[:, 1]) <= 3)]
    at.text_input(key="dir_name").input("left to right").run()
    at.button(key="dir_save").click().run()
    saved = directions.parse_link(at.query_params["dirs"], 2)["left to right"]["vector"]
    np.testing.assert_allclose(saved, b.mean(0) - a.mean(0), atol=1e-4)
    assert saved[0] > 1  # from the left box to the right one
    on_page(at, "pages/latent_map.py")  # the saved direction is an arrow on the map
    layout = at.get("plotly_chart")[0].proto.spec
    assert "left to right" in layout


def test_drawings_added_to_two_groups(monkeypatch):
    fake = FakeCanvas({"dir_canvas": 7})
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", fake.module)
    at = _on("pages/directions.py")
    at.segmented_control(key="dir_method").set_value("images").run()
    at.button(key="dir_add_A").click().run()
    fake.digits["dir_canvas"] = 1
    at.button(key="dir_add_B").click().run()
    assert not at.exception, at.exception
    from explorer.sections.directions import IMAGES_KEY

    kept = at.session_state[IMAGES_KEY]
    assert len(kept["A"]) == 1 and len(kept["B"]) == 1
    assert any("group B minus" in c.value for c in at.caption)
    at.button(key="dir_clear_A").click().run()
    assert at.session_state[IMAGES_KEY]["A"] == []


# --- Interpolate ---

@pytest.mark.parametrize("model", [None, MNIST_16D, BETA0])
def test_interpolation_strip_kinds_and_steps(model):
    at = _on("pages/interpolate.py", model)
    strip = [i for i in at.get("image") if "path in 10 steps" in i.proto.imgs[0].caption]
    assert strip and strip[0].proto.imgs[0].alt.startswith("10 images in a row")
    at.segmented_control(key="int_kind").set_value("spherical").run()
    at.slider(key="int_steps").set_value(16).run()
    assert any("spherical path in 16 steps" in i.proto.imgs[0].caption for i in at.get("image"))
    labels = [b.label for b in at.get("download_button")]
    assert "Strip (PNG)" in labels and "Animation (GIF)" in labels


def test_a_click_on_the_map_sets_the_chosen_end():
    at = _on("pages/interpolate.py")
    at.radio(key="int_click_sets").set_value("the end").run()
    chart = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("int_map")).proto.id
    event = {"selection": {"points": [{"customdata": [42.0]}], "point_indices": [], "box": [], "lasso": []}}
    rerun_with(at, add=[string_state(chart, json.dumps(event))])
    assert at.number_input(key="int_end_index").value == 42
    assert any("to test image #42" in i.proto.imgs[0].caption for i in at.get("image"))


def test_two_drawings_and_a_map_point(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas",
                        FakeCanvas({"int_start_canvas": 7, "int_end_canvas": 1}).module)
    at = _on("pages/interpolate.py")
    at.radio(key="int_start_source").set_value("draw").run()
    at.radio(key="int_end_source").set_value("draw").run()
    assert any("from your drawing to your drawing" in i.proto.imgs[0].caption for i in at.get("image"))
    at.radio(key="int_end_source").set_value("point").run()
    at.number_input(key="int_end_x").set_value(1.0).run()
    at.number_input(key="int_end_y").set_value(-1.0).run()
    assert any("to the map point (1.00, -1.00)" in i.proto.imgs[0].caption for i in at.get("image"))


def test_a_directions_ends():
    at = _on("pages/interpolate.py", dirs="wide~1,0")
    at.segmented_control(key="int_mode").set_value("direction").run()
    at.slider(key="int_dir_k").set_value(1.5).run()
    assert any("from the data mean − 1.5 × wide to the data mean + 1.5 × wide" in i.proto.imgs[0].caption
               for i in at.get("image"))


def test_compare_interpolates_the_same_inputs_with_both_models():
    at = _on("pages/compare.py")
    at.slider(key="cmp_int_steps").set_value(6).run()
    strips = [i for i in at.get("image") if (i.proto.imgs[0].alt or "").startswith("6 images in a row")]
    assert len(strips) == 2
    assert len([b for b in at.get("download_button") if b.key and b.key.startswith("cmp_int_gif")]) == 2


# --- the GIF and the numbers behind the strips ---

def test_gif_has_a_frame_per_step_and_its_ends_are_the_two_decodes():
    from vae.bundles.serving import ServedModel

    model = ServedModel(MNIST_2D)
    a, b = model.reference["z_mean"][0], model.reference["z_mean"][1]
    frames = model.decode(interpolate.path(a, b, 12, "spherical"))
    shown = directions.gif_frames(directions.gif_bytes(frames, scale=4))
    assert len(shown) == 12
    for got, z in ((shown[0], a), (shown[-1], b)):
        want = np.round(np.clip(model.decode(z[None])[0], 0, 1) * 255)
        assert np.abs(got[::4, ::4].astype(int) - want).max() <= 1
    assert len(directions.gif_frames(directions.gif_bytes(frames, bounce=True))) == 22


def test_link_format_round_trips_and_cleans_names():
    saved = {"slant": directions.entry(np.array([0.5, -1.25]), "x", "y")}
    assert directions.parse_link(directions.format_link(saved), 2)["slant"]["vector"] == [0.5, -1.25]
    assert directions.clean_name("<b>thick</b>/../") == "bthickb"
    assert list(directions.parse_link("a~1,2;a<>~3,4", 2)) == ["a"]
    assert maths.ATTRIBUTES  # the page offers every attribute the maths computes


def test_an_input_opens_on_the_decoder_at_its_z(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", FakeCanvas({"int_start_canvas": 7}).module)
    at = _on("pages/interpolate.py")
    at.radio(key="int_start_source").set_value("draw").run()
    at.button(key="int_start_to_decoder").click().run()
    assert not at.exception, at.exception
    from explorer.sections import decoder

    z = at.session_state[decoder.Z_KEY]
    assert len(at.slider) >= 2 and [at.slider[i].value for i in range(2)] == pytest.approx(z, abs=1e-6)


def test_without_reference_encodings_only_your_own_inputs_are_offered(no_reference_bundle, monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", FakeCanvas({"int_end_canvas": 1}).module)
    at = _on("pages/directions.py", str(no_reference_bundle))
    assert at.segmented_control(key="dir_method").options == ["Your images"]
    on_page(at, "pages/interpolate.py")
    assert at.radio(key="int_start_source").options == ["Upload", "Drawing"]
    at.radio(key="int_start_source").set_value("draw").run()
    at.radio(key="int_end_source").set_value("draw").run()
    assert any("from your drawing to your drawing" in i.proto.imgs[0].caption for i in at.get("image"))


def test_fashion_model_pages_run():
    for page in ("pages/directions.py", "pages/interpolate.py"):
        at = _on(page, "models/fashion-mnist-2d")
        assert not at.exception


def test_uploads_make_two_groups():
    from tests.support.pictures import digit_png, thin_one_png

    at = _on("pages/directions.py")
    at.segmented_control(key="dir_method").set_value("images").run()
    at.file_uploader(key="dir_up_A").upload("seven.png", digit_png(True), "image/png")
    at.run()
    at.file_uploader(key="dir_up_B").upload("one.png", thin_one_png(), "image/png")
    at.run()
    assert not at.exception, at.exception
    assert "**Group A:** 0 drawings and 1 upload" in [m.value for m in at.markdown]
    assert any("your 1 image in group B minus that of your 1 image in group A" in c.value for c in at.caption)
