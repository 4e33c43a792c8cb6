"""The classifier's view on the pages (AppTest): the Latent map's overlay toggle, a clicked point's class
probabilities, the Decoder's, and a model without a classifier (issue 28, item 3)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from explorer.sections.classifier_view import OVERLAY_KEY
from tests.support.pages import open_page, select_on_map
from vae.bundles.bundle import DEFAULT_MODEL, read_json
from vae.bundles.classifier import CLASSIFIER_ONNX

MNIST_16D = DEFAULT_MODEL.parent / "mnist-16d"


def _map_images(at) -> list[dict]:
    chart = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("map_chart"))
    return json.loads(chart.proto.spec)["layout"].get("images", [])


def _overlay_caption(at) -> str:
    return next((c.value for c in at.caption if "cells is coloured by the label" in c.value), "")


@pytest.fixture
def without_classifier(tmp_path):
    """A copy of a shipped model with its classifier taken away (the file and the card's entry)."""
    out = tmp_path / "plain"
    shutil.copytree(DEFAULT_MODEL.parent / "mnist-2d-course", out,
                    ignore=shutil.ignore_patterns(CLASSIFIER_ONNX, "replay.npz"))
    card = read_json(out / "card.json")
    card.pop("classifier", None)
    (out / "card.json").write_text(json.dumps(card))
    return out


def test_the_overlay_toggle_lays_the_classifiers_grid_under_the_map():
    at = open_page("pages/latent_map.py")
    assert at.toggle(key=OVERLAY_KEY).value is False and not _map_images(at)
    at.toggle(key=OVERLAY_KEY).set_value(True).run()
    assert not at.exception
    images = _map_images(at)
    assert len(images) == 1 and images[0]["source"].startswith("data:image/png;base64,")
    assert images[0]["layer"] == "below" and images[0]["xref"] == "x"
    caption = _overlay_caption(at)
    assert "Each of the 1,600 cells" in caption and "right on 10,000 test images" in caption
    at.toggle(key=OVERLAY_KEY).set_value(False).run()
    assert not _map_images(at) and not _overlay_caption(at)


def test_a_clicked_point_shows_its_decode_with_the_class_probabilities():
    at = open_page("pages/latent_map.py")
    at.toggle(key=OVERLAY_KEY).set_value(True).run()
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "customdata": [42]}],
                        "point_indices": [3]})
    assert not at.exception
    said = [m.value for m in at.markdown if m.value.startswith("**Classifier:**")]
    assert len(said) == 1 and "the reconstruction is a **" in said[0]
    table = at.dataframe[-1].value
    assert len(table) == 10 and table["probability"].sum() == pytest.approx(1, abs=1e-3)
    assert list(table["probability"]) == sorted(table["probability"], reverse=True)
    assert said[0].split("**")[3] == table["label"].iloc[0]  # the top row is the label named
    assert len(_map_images(at)) == 1  # the overlay stays on with a point picked


def test_the_16d_models_overlay_lies_on_its_pca_plane_and_on_two_chosen_dims():
    at = open_page("pages/latent_map.py", str(MNIST_16D))
    at.toggle(key=OVERLAY_KEY).set_value(True).run()
    assert not at.exception and len(_map_images(at)) == 1
    assert "PCA plane through the data mean" in _overlay_caption(at)
    at.segmented_control(key="map_view").set_value("Two latent dims").run()
    assert not at.exception and len(_map_images(at)) == 1
    assert "held at the data mean" in _overlay_caption(at)


def test_the_decoder_shows_the_probabilities_of_the_servers_decode():
    at = open_page("pages/decoder.py")
    at.toggle(key="dec_live_on").set_value(False).run()
    assert not at.exception
    assert any(m.value.startswith("**Classifier:**") for m in at.markdown)
    assert len(at.dataframe[-1].value) == 10


def test_a_model_without_a_classifier_says_so_and_offers_the_command(without_classifier):
    at = open_page("pages/latent_map.py", str(without_classifier))
    assert at.toggle(key=OVERLAY_KEY + "_none").disabled
    assert any("python -m vae add-classifier" in c.value for c in at.caption)
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "customdata": [42]}],
                        "point_indices": [3]})
    assert not at.exception and any("Test image #42" in m.value for m in at.markdown)
    assert not any(m.value.startswith("**Classifier:**") for m in at.markdown)
    assert not _map_images(at)
    at.switch_page("pages/decoder.py").run()
    assert not at.exception
    assert any("carries no classifier" in c.value for c in at.caption)
    at.toggle(key="dec_live_on").set_value(False).run()
    assert not at.exception and any("carries no classifier" in c.value for c in at.caption)


def test_the_live_decoder_is_sent_the_classifier_with_its_labels():
    from live_decoder import build_args

    args = build_args(b"decoder", 2, [0.0, 0.0], [(-1, 1), (-1, 1)], classifier=b"onnx",
                      class_names=np.array(["a", "b"]))
    assert args["classifier"] == b"onnx" and args["class_names"] == ["a", "b"]
    assert len(args["classifier_id"]) == 16
    plain = build_args(b"decoder", 2, [0.0, 0.0], [(-1, 1), (-1, 1)])
    assert plain["classifier"] is None and plain["classifier_id"] is None
    with pytest.raises(ValueError):
        build_args(b"decoder", 2, [0.0, 0.0], [(-1, 1), (-1, 1)], classifier=b"")


def test_a_click_between_the_dots_shows_that_points_decode_and_probabilities():
    at = open_page("pages/latent_map.py")
    at.toggle(key=OVERLAY_KEY).set_value(True).run()
    chart = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("map_chart"))
    cells = [t for t in json.loads(chart.proto.spec)["data"] if t.get("name") == "classifier cells"]
    assert len(cells) == 1 and len(cells[0]["customdata"]) == 1600
    select_on_map(at, {"points": [{"curve_number": 12, "point_index": 5, "x": 1.5, "y": -0.5,
                                    "customdata": "cell"}], "point_indices": [5]})
    assert not at.exception
    assert any(m.value.startswith("**Point (1.50, -0.50)**") for m in at.markdown)
    assert any(m.value.startswith("**Classifier:** this decode is a **") for m in at.markdown)
    assert len(at.dataframe[-1].value) == 10
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "customdata": [42]}],
                        "point_indices": [3]})  # a test image: the point is dropped
    assert at.session_state["map_cell"] is None and any("Test image #42" in m.value for m in at.markdown)
