"""Own images in Chromium: a zip uploaded, trained on at 32×32 colour, explored in colour on every page."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from PIL import Image

from tests.support.class_jobs import job_states
from tests.support.colour import COLOURFULNESS, SHAPES, shape_image
from tests.support.image_folders import png, zip_bytes

from . import REPO, AppServer, chromium_available, component_frame, exceptions, scratch_env, wait_idle

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not chromium_available(), reason="no Debian chromium at /usr/bin/chromium"),
]

TIMEOUT_MS = 240_000  # the machine may be loaded: TensorFlow's start alone can take a minute
PER_LABEL = 480  # about 1,600 training images: 50 steps of 32, enough for the decodes to take colour
TITLE = "My coloured shapes"
# Every page a model is explored on (url path -> title), Train aside.
EXPLORE = {"": "Home", "latent_map": "Latent map", "decoder": "Decoder", "encode": "Encode",
           "how_it_works": "How it works", "directions": "Directions", "interpolate": "Interpolate"}


def shapes_zip() -> bytes:
    """4 labels × PER_LABEL 40×40 PNGs of coloured shapes, in label folders under one top folder."""
    rng = np.random.default_rng(7)
    return zip_bytes({f"shapes/{shape}/{i:03d}.png": png(Image.fromarray(shape_image(label, 40, rng)))
                      for label, shape in enumerate(SHAPES) for i in range(PER_LABEL)})


@pytest.fixture(scope="module")
def own_app(tmp_path_factory):
    """The app with scratch jobs, models and VAE_HOME (where prepared datasets live); yields (url, root)."""
    root = tmp_path_factory.mktemp("own-images")
    env = scratch_env(root, VAE_HOME=str(root / "home"))
    with AppServer(REPO / "test-output" / "own_images_browser.log", env=env) as url:
        yield url, root


def choose(page, within, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label` in `within` (its list opens outside it, on `page`)."""
    box = within.get_by_role("combobox", name=label, exact=True)
    box.click()
    if box.get_attribute("aria-expanded") != "true":
        box.press("ArrowDown")  # (a click may land while the page still moves, and leave it shut)
    page.get_by_role("option", name=option, exact=True).click()


def wait_for_job(root, name: str, timeout: float) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline and job_states(root).get(name) in (None, "not finished"):
        time.sleep(1)
    return job_states(root).get(name, "never started")


def assert_live_decoder_in_colour(page) -> None:
    """The Decoder page's live decoder is ready and its canvas has colour (not grey)."""
    frame = component_frame(page, TIMEOUT_MS)
    status = frame.evaluate("window.__liveDecoderStatus")
    assert status == "ready", frame.evaluate("window.__liveDecoderError")
    frame.wait_for_function("window.__liveDecoderInit && window.__liveDecoderInit.firstDecodeMs > 0")
    most, width, height = frame.evaluate(COLOURFULNESS)
    assert width > 0 and height > 0
    assert most > 20, f"the live decoder's canvas is grey (largest channel difference {most})"
    wait_idle(page)


def test_own_images_uploaded_trained_and_explored_in_colour(own_app, browser):
    url, root = own_app
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(90_000)
    page = context.new_page()
    try:
        # 1-2. Upload the zip through "Your own images", at 32×32 colour; the dataset's card shows.
        page.goto(f"{url}/train")
        wait_idle(page)
        form = page.locator("[data-testid='stForm']").filter(has_text="Zip of images")
        form.locator("input[type='file']").set_input_files(
            {"name": "shapes.zip", "mimeType": "application/zip", "buffer": shapes_zip()})
        form.get_by_text("shapes.zip").wait_for()  # the upload reached the server
        form.get_by_label("Dataset name").fill(TITLE)
        choose(page, form, "Image size", "32×32 colour")
        form.get_by_role("button", name="Prepare the dataset").click()
        main = page.locator("[data-testid='stMain']")
        main.get_by_text(f"{TITLE} · yours, only you see it").wait_for(timeout=TIMEOUT_MS)
        wait_idle(page)
        text = main.inner_text()
        assert f"{4 * PER_LABEL:,} images in 4 labels, 32×32 colour" in text, text
        assert "Rows, top to bottom: " + ", ".join(sorted(SHAPES)) in text, text
        [dataset] = re.findall(r"train on it as (own/\S+)", text)
        assert not exceptions(page)

        # 3. Train on it for 1 epoch with the colour preset, batch 32; use the model.
        training = page.locator("[data-testid='stForm']").filter(has_text="Architecture preset")
        choose(page, training, "Dataset", f"{TITLE} (32×32 colour, {4 * PER_LABEL:,} images)")
        choose(page, training, "Architecture preset", "colour")
        choose(page, training, "Batch size", "32")
        training.get_by_label("Epochs").fill("1")  # (Enter would submit the form)
        training.get_by_label("Name (optional)").fill("shapes")
        training.get_by_role("button", name="Start training").click()
        assert wait_for_job(root, "shapes", timeout=480) == "done", (root / "jobs").iterdir()
        [model] = [p.name for p in (root / "models").iterdir() if p.name.startswith("shapes-")]
        page.goto(f"{url}/train")
        wait_idle(page)
        assert f"{dataset}, colour preset" in main.inner_text()
        page.get_by_role("button", name="Use this model").first.click()
        wait_idle(page)
        assert page.url.endswith(f"?model=user%2F{model}")  # the link now names it
        assert "Model: shapes — latent_dim 2" in page.locator("[data-testid='stSidebar']").inner_text()

        # 4. Every page opens on it: no exception, no word of digits; the live decoder draws in colour.
        for path, title in EXPLORE.items():
            page.goto(f"{url}/{path}?model=user/{model}")
            wait_idle(page)
            if path == "decoder":
                assert_live_decoder_in_colour(page)
            assert not exceptions(page), (title, exceptions(page))
            shown = page.locator("body").inner_text()
            assert "digit" not in shown.lower(), (title, [line for line in shown.splitlines()
                                                          if "digit" in line.lower()])
    finally:
        context.close()
