"""The live decoder draws a colour model's decodes in colour (issue 27, item 2), in headless Debian Chromium:
the app's Decoder page on a 32x32x3 model trained on shapes the tests draw."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("playwright.sync_api")

from tests.support.colour import COLOURFULNESS  # noqa: E402

from . import REPO, AppServer, chromium_available, component_frame  # noqa: E402

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not chromium_available(), reason="no Debian chromium at /usr/bin/chromium"),
]

TIMEOUT_MS = 180_000
@pytest.fixture(scope="module")
def colour_app(colour_bundle, tmp_path_factory):
    """The app with the colour bundle among the server's models (user/colour)."""
    models = tmp_path_factory.mktemp("colour-models")
    shutil.copytree(colour_bundle, models / "colour")
    with AppServer(REPO / "test-output" / "live_decoder_colour.log",
                   env={"VAE_USER_MODELS": str(models)}) as url:
        yield url


def test_the_live_decoder_draws_a_colour_model_in_colour(colour_app, browser):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1100})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    try:
        page.goto(f"{colour_app}/decoder?model=user/colour", wait_until="domcontentloaded")
        frame = component_frame(page, TIMEOUT_MS)
        assert frame.evaluate("window.__liveDecoderStatus") == "ready", frame.evaluate(
            "window.__liveDecoderError")
        frame.wait_for_function("window.__liveDecoderInit && window.__liveDecoderInit.firstDecodeMs > 0")
        most, width, height = frame.evaluate(COLOURFULNESS)
        assert width > 0 and height > 0
        assert most > 20, f"the live decoder's canvas is grey (largest channel difference {most})"
    finally:
        ctx.close()
