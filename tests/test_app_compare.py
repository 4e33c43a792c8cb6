"""The Compare page (AppTest): two models on the same test digits, inputs and prior draws; links by id."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from explorer.sections.compare import DEFAULT_PAIR, default_pair
from vae.bundles.bundle import SHIPPED_DIR

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
    table = next(d.value for d in at.dataframe if "negative ELBO" in d.value.columns)
    assert len(table) == 2 and {"negative ELBO", "KL", "mean z_std"} <= set(table.columns)
    # Inputs, each model's reconstructions of them, and each model's decodes of the same prior draws; then
    # each model's interpolation between the same two test images (issue 28).
    assert len(at.image) == 3 + 2 + 2
    assert any("8 draws z ~ N(0, I)" in c.value for c in at.caption)


def test_the_link_names_the_second_model_by_id_only():
    at = compare_page(compare="mnist-16d")
    assert at.selectbox(key="compare_right").value == "mnist-16d"
    assert not at.warning
    at = compare_page(compare="/etc/passwd")
    assert any("is not one of the models you can open here" in w.value for w in at.warning)
    assert at.selectbox(key="compare_right").value != "/etc/passwd"


def test_with_no_link_and_no_choice_it_opens_on_the_shipped_beta_pair_in_order():
    """The default pair (DEFAULT_PAIR: β = 0 on the left, β = 1 on the right), as the page says; the current
    model is left as it was."""
    assert DEFAULT_PAIR == ("mnist-2d-beta0", "mnist-2d-beta1")
    at = compare_page()
    assert at.selectbox(key="compare_left").value == "mnist-2d-beta0"
    assert at.selectbox(key="compare_right").value == "mnist-2d-beta1"
    assert "β = 0 on the left and β = 1 on the right" in at.markdown[0].value
    assert [float(b) for b in at.dataframe[0].value["β"]] == [0.0, 1.0]
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


def test_without_the_shipped_pair_the_current_model_meets_the_likest_other():
    """default_pair's last resort (its test used to call a branch that could never run: the shipped pair is
    tried first): the current model on the left, and a model of its dataset and latent_dim on the right."""
    ids = {i: str(SHIPPED_DIR / i) for i in ("fashion-mnist-2d", "mnist-16d", "mnist-2d", "mnist-2d-beta5")}
    assert default_pair("mnist-2d", ids) == ("mnist-2d", "mnist-2d-beta5")
    assert default_pair("mnist-16d", ids)[0] == "mnist-16d"
    assert default_pair("fashion-mnist-2d", ids) == ("fashion-mnist-2d", "mnist-2d")  # only its latent_dim
    with_pair = {**ids, **{i: str(SHIPPED_DIR / i) for i in DEFAULT_PAIR}}
    assert default_pair("mnist-2d", with_pair) == DEFAULT_PAIR


def _recipe(at):
    return next(d.value for d in at.dataframe if "batch size" in d.value.columns)


def test_the_what_differs_row_names_every_recipe_difference_and_says_so():
    """The default pair differs only in β, and the page says so; the default model against β = 0 differs in
    its recipe too (20 epochs of batch 32 in a second stage, against 10 of batch 128 from scratch), and a
    sentence says that not every difference comes from β."""
    at = compare_page()
    recipe = _recipe(at)
    assert set(recipe.columns) >= {"β", "epochs", "batch size", "stages", "preset", "dataset",
                                   "training images"}
    assert (recipe.drop(columns="β").nunique() == 1).all() and list(recipe["β"]) == ["0", "1"]
    assert any("differ only in β (0 against 1)" in i.value for i in at.info) and not at.warning
    at = compare_page(left="mnist-2d", compare="mnist-2d-beta0")
    recipe = _recipe(at)
    assert list(recipe["epochs"]) == ["20", "10"] and list(recipe["batch size"]) == ["32", "128"]
    assert list(recipe["stages"]) == ["2 (a new encoder for a frozen decoder)", "1 (from scratch)"]
    (warning,) = [w.value for w in at.warning]
    for said in ("Besides β (1 against 0)", "epochs (20 against 10)", "batch size (32 against 128)",
                 "stages (2", "not every difference below comes from β"):
        assert said in warning


def test_model_names_are_plain_text_in_tables_selects_and_captions():
    """No Markdown escapes where they would show: tables and selects print names as they are; captions are
    Markdown, so what they render (escapes resolved) is the name."""
    import re

    at = compare_page()
    names = ["MNIST, 2-D, β = 0 (no KL term)", "MNIST, 2-D, β = 1 (the ELBO)"]
    for table in at.dataframe:
        assert list(table.value.index) == names
    for key in ("compare_left", "compare_right"):
        box = at.selectbox(key=key)
        assert box.format_func(box.value) in names and "\\" not in box.format_func(box.value)
    shown = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]
    for name in names:
        assert name in shown and f"{name}: 8 draws z ~ N(0, I), numbered 1–8 from the left, as on its map " \
            "above" in shown


def _draws_on(spec: dict) -> np.ndarray:
    (trace,) = [t for t in spec["data"] if t.get("name") == "prior draws"]
    return np.column_stack([_decode(trace["x"]), _decode(trace["y"])])


def test_the_prior_draws_are_points_on_each_map_and_the_words_count_what_they_show():
    """Each map shows the 8 draws decoded below (the same z); the page's "k of 8 land in a gap" is what the
    map's own points give: a draw whose nearest shown test digit is 3 or more typical spacings away."""
    from scipy.spatial import cKDTree

    for query in ({}, {"left": "mnist-2d", "compare": "mnist-2d-course"}):
        at = compare_page(**query)
        z = np.random.default_rng(0).standard_normal((8, 2))
        sentences = [m.value for m in at.markdown if "draws land in a gap" in m.value]
        assert len(sentences) == 2
        for spec, sentence in zip((json.loads(c.proto.spec) for c in at.get("plotly_chart")), sentences):
            draws = _draws_on(spec)
            np.testing.assert_allclose(draws, z, atol=1e-6)
            points = np.column_stack([np.concatenate([_decode(t[a]) for t in spec["data"]
                                                      if t.get("mode") == "markers"]) for a in ("x", "y")])
            tree = cKDTree(points)
            spacing = np.median(tree.query(points, k=2)[0][:, 1])
            k = int((tree.query(draws)[0] / spacing > 3).sum())
            assert sentence.startswith(f"**{k} of 8** draws land in a gap")
    # β = 0 reaches few of its test digits: the words say which, and none of it for β = 1.
    at = compare_page()
    beta0, beta1 = (m.value for m in at.markdown if "draws land in a gap" in m.value)
    assert "holds 39% of the test digits' z_mean" in beta0 and "labelled 1, 4, 7 and 9" in beta0
    assert "labelled" not in beta1


def _decode(customdata) -> list[float]:
    """Plotly's JSON holds numpy arrays as base64 typed arrays ({"dtype", "bdata", "shape"})."""
    import base64

    import numpy as np

    if isinstance(customdata, dict):
        return np.frombuffer(base64.b64decode(customdata["bdata"]), customdata["dtype"]).tolist()
    return [row[0] if isinstance(row, list) else row for row in customdata]


def test_a_shared_model_with_a_damaged_decoder_gives_a_word_and_the_current_model(server):
    """A classmate's shared bundle whose decoder.onnx is damaged: Compare says which model could not be loaded
    (by name, no path) and shows the current model in its place, instead of "an error occurred"."""
    from explorer.visitors import TOKEN_KEY
    from jobservice import user_models
    from tests.support.class_server import ALICE, BOB, owner, visitor_model
    from vae.bundles.bundle import DECODER_ONNX

    broken = visitor_model(server, BOB, "broken-abc123", "Bob's broken model")
    user_models.set_shared(broken, owner(BOB), True)
    (broken / DECODER_ONNX).unlink()  # hard-linked to the shipped default's: replaced, not written through
    (broken / DECODER_ONNX).write_bytes(b"not an ONNX model")
    at = AppTest.from_file(APP, default_timeout=200)
    at.session_state[TOKEN_KEY] = ALICE
    at.query_params["compare"] = "user/broken-abc123"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if "could not be loaded" in w.value)
    assert "Bob's broken model" in warning and str(server.models_dir) not in warning and "/" not in warning
    assert len(at.dataframe) >= 2  # the page went on: recipes and metrics of the two shown
