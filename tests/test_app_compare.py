"""The Compare page (AppTest): two models on the same test digits, inputs and prior draws; links by id."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.sections.compare import default_partner

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def compare_page(**query):
    at = AppTest.from_file(APP, default_timeout=200)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    return at


def test_two_models_on_the_same_digits_inputs_and_draws():
    at = compare_page()
    left, right = (at.selectbox(key=k).value for k in ("compare_left", "compare_right"))
    assert right != left
    assert at.query_params["compare"] == right and at.query_params["left"] == left  # the pair is the link
    maps = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(maps) == 2
    # The same 2,000 test digits on both maps: the points' test indices (customdata) agree.
    indices = [sorted(int(v) for tr in m["data"] if tr.get("mode") == "markers"
                      for v in _decode(tr["customdata"])) for m in maps]
    assert len(indices[0]) == 2000 and indices[0] == indices[1]
    table = at.dataframe[0].value
    assert len(table) == 2 and {"negative ELBO", "KL", "mean z_std"} <= set(table.columns)
    # Inputs, each model's reconstructions of them, and each model's decodes of the same prior draws.
    assert len(at.image) == 3 + 2
    assert any("8 draws z ~ N(0, I)" in c.value for c in at.caption)


def test_the_link_names_the_second_model_by_id_only():
    at = compare_page(compare="mnist-16d")
    assert at.selectbox(key="compare_right").value == "mnist-16d"
    assert not at.warning
    at = compare_page(compare="/etc/passwd")
    assert any("is not one of the models you can open here" in w.value for w in at.warning)
    assert at.selectbox(key="compare_right").value != "/etc/passwd"


def test_with_no_link_and_no_choice_it_opens_on_the_shipped_beta_pair_in_order():
    """The README's promise: β = 0 on the left, β = 5 on the right, as the page says; the current model is
    left as it was."""
    at = compare_page()
    assert at.selectbox(key="compare_left").value == "mnist-2d-beta0"
    assert at.selectbox(key="compare_right").value == "mnist-2d-beta5"
    assert "β = 0 on the left and β = 5 on the right" in at.markdown[0].value
    assert [float(b) for b in at.dataframe[0].value["β"]] == [0.0, 5.0]
    assert at.session_state["model_path"].endswith("mnist-2d")  # opening Compare chose no model
    # A link naming only the right-hand model (Train's "Compare with the current model") keeps the current
    # model on the left; one naming both opens on both.
    at = compare_page(model="mnist-16d", compare="mnist-2d")
    assert (at.selectbox(key="compare_left").value, at.selectbox(key="compare_right").value) == (
        "mnist-16d", "mnist-2d")
    at = compare_page(left="mnist-2d-beta5", compare="mnist-2d-beta0")
    assert (at.selectbox(key="compare_left").value, at.selectbox(key="compare_right").value) == (
        "mnist-2d-beta5", "mnist-2d-beta0")


def test_a_visitors_pick_is_kept_when_they_come_back():
    at = compare_page()
    at.selectbox(key="compare_right").set_value("mnist-16d").run()
    assert at.query_params["compare"] == "mnist-16d" and at.query_params["left"] == "mnist-2d-beta0"
    at.query_params.clear()  # a page switch drops the link's parameters
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/compare.py").run()
    assert (at.selectbox(key="compare_left").value, at.selectbox(key="compare_right").value) == (
        "mnist-2d-beta0", "mnist-16d")


def test_different_datasets_are_flagged():
    at = compare_page(compare="fashion-mnist-2d")
    assert any("different datasets" in w.value for w in at.warning)


def test_the_shipped_beta_pair_is_the_default_comparison():
    ids = {i: "/nowhere" for i in ("mnist-2d", "mnist-2d-beta0", "mnist-2d-beta5")}
    assert default_partner("mnist-2d", ids) == "mnist-2d-beta0"
    assert default_partner("mnist-2d-beta0", ids) == "mnist-2d-beta5"
    assert default_partner("mnist-2d-beta5", ids) == "mnist-2d-beta0"


def _decode(customdata) -> list[float]:
    """Plotly's JSON holds numpy arrays as base64 typed arrays ({"dtype", "bdata", "shape"})."""
    import base64

    import numpy as np

    if isinstance(customdata, dict):
        return np.frombuffer(base64.b64decode(customdata["bdata"]), customdata["dtype"]).tolist()
    return [row[0] if isinstance(row, list) else row for row in customdata]
