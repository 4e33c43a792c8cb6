"""The classifier's view in Chromium: the Latent map's overlay on every shipped model and a 1-D one, and the
Decoder's live class probabilities while dragging (issue 28, item 3)."""

from __future__ import annotations

import shutil

import pytest

from tests.support.axe import AXE, check_with_axe
from vae.bundles.bundle import SHIPPED_DIR

from . import AppServer, component_frame, exceptions, scratch_env, wait_idle

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
TOGGLE = "Classifier overlay: the label of the decode at each point"
SHIPPED = sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "bundle.json").is_file())


@pytest.fixture(scope="module")
def classifier_app(tiny_1d_bundle, tmp_path_factory):
    """The app with the shipped models and, under an extra root, the tiny 1-D model (with its classifier,
    trained when its job finished)."""
    tmp = tmp_path_factory.mktemp("classifier_app")
    root = tmp / "extra"
    shutil.copytree(tiny_1d_bundle, root / "oned")
    server = AppServer(tmp / "streamlit.log", env=scratch_env(tmp, VAE_MODEL_ROOTS=str(root)))
    try:
        server.wait_healthy(timeout=90)
        yield server.url
    finally:
        server.stop()


@pytest.mark.parametrize("model", [*SHIPPED, "extra/oned"])
def test_the_overlay_draws_on_every_model_without_an_exception(page, classifier_app, model):
    page.goto(f"{classifier_app}/latent_map?model={model}", wait_until="domcontentloaded")
    wait_idle(page)
    page.wait_for_selector(CHART)
    assert page.get_by_text(TOGGLE).count() == 1
    page.get_by_text(TOGGLE).click()
    wait_idle(page)
    found = exceptions(page)
    assert not found, f"{model}: the overlay raised:\n" + "\n".join(found)[:3000]
    page.wait_for_function("""(sel) => {
        const gd = document.querySelector(sel);
        return gd && gd._fullLayout && (gd._fullLayout.images || []).length === 1
          && gd.querySelector('.imagelayer image') !== null;
      }""", arg=CHART, timeout=60_000)
    assert "cells is coloured by the label" in page.locator("[data-testid='stMain']").inner_text()


@pytest.mark.parametrize("model", ["mnist-2d", "mnist-16d", "extra/oned"])
def test_the_decoder_shows_live_probabilities_that_follow_a_drag(page, classifier_app, model):
    page.goto(f"{classifier_app}/decoder?model={model}", wait_until="domcontentloaded")
    wait_idle(page)
    frame = component_frame(page)
    assert frame.evaluate("window.__liveDecoderStatus") == "ready"
    frame.wait_for_function("window.__liveDecoderProbabilities() !== null", timeout=60_000)
    first = frame.evaluate("window.__liveDecoderProbabilities()")
    assert len(first) == 10 and abs(sum(first) - 1) < 1e-3
    slider = frame.locator("#z0")
    box = slider.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    frame.wait_for_function("(first) => JSON.stringify(window.__liveDecoderProbabilities()) !== first",
                            arg=str(first).replace(" ", ""), timeout=30_000)
    bars = frame.locator("#probs .prob")
    assert bars.count() == 10 and frame.locator("#probpanel").is_visible()
    assert "classifier" in frame.locator("#probcaption").inner_text()
    wait_idle(page)
    assert not exceptions(page)


def test_a_click_between_the_dots_shows_that_points_probabilities(page, classifier_app):
    page.goto(f"{classifier_app}/latent_map?model=mnist-2d", wait_until="domcontentloaded")
    wait_idle(page)
    page.get_by_text(TOGGLE).click()
    wait_idle(page)
    page.wait_for_timeout(500)
    spot = page.evaluate("""(sel) => {  // the centre of a cell with no test image's dot within 12 px
        const gd = document.querySelector(sel), L = gd._fullLayout, box = gd.getBoundingClientRect();
        const px = (x) => box.left + L.xaxis._offset + L.xaxis.l2p(x);
        const py = (y) => box.top + L.yaxis._offset + L.yaxis.l2p(y);
        const dots = [];
        gd._fullData.forEach((t) => { if (t.type === 'scattergl')
          for (let i = 0; i < t.x.length; i++) dots.push([px(t.x[i]), py(t.y[i])]); });
        const cells = gd._fullData.find((t) => t.name === 'classifier cells');
        for (let i = 0; i < cells.x.length; i++) {
          const [x, y] = [px(cells.x[i]), py(cells.y[i])];
          if (!dots.some(([a, b]) => Math.hypot(a - x, b - y) < 12)) return {x, y};
        }
        return null;
      }""", CHART)
    assert spot is not None
    page.mouse.move(spot["x"], spot["y"], steps=3)
    page.wait_for_timeout(300)
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_function("() => document.querySelector(\"[data-testid='stMain']\").innerText"
                           ".includes(\"of the map's plane, decoded\")", timeout=60_000)
    wait_idle(page)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Classifier:" in text and "this decode is a" in text
    assert not exceptions(page)
    if AXE.is_file():  # the overlay and the clicked point's picture and table: alt text and contrast
        check_with_axe(page, AXE.read_text(encoding="utf-8"), "Latent map, overlay on, a point clicked")
