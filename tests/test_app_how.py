"""The How-it-works page: runs, shows the current input's z_mean, and follows a change of input."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from tests.support.pages import open_page
from tests.support.pictures import cloud_pictures

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGE = "pages/how_it_works.py"


def _page(model_path: str | None = None) -> AppTest:
    return open_page(PAGE, model_path)


def _z_mean_shown(at: AppTest) -> str:
    """The first live `z_mean    = [...]` line (the course's code shows `Dense(...)` there instead)."""
    for code in at.code:
        m = re.search(r"^z_mean\s*=\s*(\[[^\]]*\])", code.value, re.M)
        if m:
            return m.group(1)
    raise AssertionError("no live z_mean on the page")


def _change_input(at: AppTest) -> None:
    """Pick another input: a different test digit if the test set is here, else another gallery digit."""
    keys = {w.key for w in at.number_input}
    if "how_index_a" in keys:
        at.number_input(key="how_index_a").set_value(1234)
    else:
        at.selectbox(key="how_gal_label_a").set_value(3)
    at.run()


@pytest.mark.parametrize("model", ["mnist-2d", "mnist-16d"])
def test_runs_and_changing_input_changes_z_mean(model):
    at = _page(str((REPO / "models" / model).resolve()))
    before = _z_mean_shown(at)
    assert not at.error
    assert any('"sigma"' in c.value for c in at.code), "the course's code is shown"
    _change_input(at)
    assert not at.exception, at.exception
    assert _z_mean_shown(at) != before


def test_clouds_are_drawn_as_pictures_that_follow_the_sample_count():
    """The two maps are server-drawn SVG (no Plotly chart for the browser to build on page load)."""
    at = _page()
    assert not at.get("plotly_chart")
    one, two = cloud_pictures(at)
    assert "z_mean (this input)" in one and "z_mean (input 1)" in two and "z_mean (input 2)" in two
    assert one.count("<circle cx=") == 500  # the slider's default number of samples
    at.slider(key="how_n").set_value(120)
    at.run()
    assert cloud_pictures(at)[0].count("<circle cx=") == 120


def test_follow_up_answers_are_built_only_once_opened():
    at = _page()
    assert not at.exception, at.exception
    keys = {w.key for w in [*at.number_input, *at.selectbox]}
    assert "how_eps_seed" not in keys and "how_dim" not in keys  # closed: nothing built
    assert any("std = exp(raw/2)" in d.value.columns for d in at.dataframe)  # the one open by default
    at.session_state["how_q_epsilon"] = True  # what a click on the expander does
    at.run()
    assert "how_eps_seed" in {w.key for w in at.number_input}
    assert any("dz/dz_log_var" in c.value for c in at.code)


def test_widgets_of_the_follow_ups_run():
    at = _page()
    for q in ("half", "epsilon", "heads", "collapse"):
        at.session_state[f"how_q_{q}"] = True
    at.run()
    at.slider(key="how_n").set_value(2000)
    at.number_input(key="how_eps_seed").set_value(3)
    at.selectbox(key="how_dim").set_value(1)
    at.toggle(key="how_zoom").set_value(False)
    at.run()
    assert not at.exception, at.exception
    assert any("KL =" in c.value for c in at.code)
    table = next(d.value for d in at.dataframe if "std = exp(raw/2)" in d.value.columns)
    assert len(table) == 2 and "dim" in table.index.name


def test_uses_the_input_from_the_encode_page():
    from vae.bundles.serving import ServedModel
    from vae.inputs.preprocess import preprocess_bytes

    img = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(img).line([(50, 15), (50, 85)], fill=255, width=12)
    buf = io.BytesIO()
    img.save(buf, format="PNG")

    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/encode.py")
    at.run()
    at.file_uploader(key="encode_upload").upload("one.png", buf.getvalue(), "image/png")
    at.run()
    assert not at.exception and not at.error
    at.switch_page(PAGE)
    at.run()
    at.radio(key="how_source_a").set_value("Your drawing / upload")
    at.run()
    assert not at.exception, at.exception
    from vae.bundles.bundle import DEFAULT_MODEL

    served = ServedModel(DEFAULT_MODEL)
    z_mean, _ = served.encode(preprocess_bytes(buf.getvalue()).image[None])
    shown = np.array([float(v) for v in _z_mean_shown(at).strip("[]").split(",")])
    np.testing.assert_allclose(shown, z_mean[0], atol=1e-3)


def test_imported_card_sigma_head_is_mentioned(tmp_path):
    """An imported model's card records which head was read as the log-variance; the page says so."""
    import json
    import shutil

    from vae.bundles.bundle import DEFAULT_MODEL

    bundle = tmp_path / "imported"
    shutil.copytree(DEFAULT_MODEL, bundle)
    card = json.loads((bundle / "card.json").read_text())
    heads = {"z_mean": "mu", "z_log_var": "sigma", "roles_from": "sampling layer"}
    card.update(preset="imported", heads=heads,
                roles="z_mean is the head named `mu` and z_log_var the head named `sigma`.")
    (bundle / "card.json").write_text(json.dumps(card))
    at = _page(str(bundle))
    infos = " ".join(i.value for i in at.info)
    assert "imported" in infos and "**sigma**" in infos and "log-variance" in infos
    assert "the head named \\`sigma\\`" in infos  # the card's words as typed: its Markdown escaped
