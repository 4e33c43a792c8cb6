"""axe-core's WCAG 2.1 A/AA rules on every page of the menu, for the default model and for β = 0.

Fails on any `image-alt` or `color-contrast` violation (in the page or in a component's iframe, such as the
live decoder's); prints the other rules' violations. axe-core comes from the npm registry, pinned in
tests/e2e/axe/package-lock.json (`npm ci` there; .ci/run does it).
"""

from __future__ import annotations

import os

import pytest

from explorer import alt_text
from tests.support.axe import AXE, check_with_axe
from tests.support.pictures import digit_png

from . import COMPONENT_IFRAME, REPO, component_frame, wait_idle

pytestmark = pytest.mark.e2e

# The menu's pages, in its order (app.py's PAGES): url path -> title.
MENU_PAGES = {"": "Home", "latent_map": "Latent map", "decoder": "Decoder", "encode": "Encode",
              "train": "Train", "import_model": "Import", "how_it_works": "How it works",
              "compare": "Compare", "directions": "Directions", "interpolate": "Interpolate"}
MODELS = {"default": "", "beta0": "mnist-2d-beta0"}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE.relative_to(REPO)} is missing: .ci/run must run `npm ci` in tests/e2e/axe")
        pytest.skip("axe-core is not installed (cd tests/e2e/axe && npm ci)")
    return AXE.read_text(encoding="utf-8")


def settle(page, path: str) -> None:
    """Wait until what the page draws after its script has run is there: charts, the live decoder."""
    wait_idle(page)
    if path == "decoder" and page.locator(COMPONENT_IFRAME).count():
        frame = page.locator(COMPONENT_IFRAME).first.element_handle().content_frame()
        frame.wait_for_function("window.__liveDecoderStatus && window.__liveDecoderStatus !== 'loading'")
    page.wait_for_timeout(1000)  # Plotly's and images' drawing after the last message


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("path", list(MENU_PAGES), ids=list(MENU_PAGES.values()))
def test_axe_finds_no_missing_alt_or_low_contrast(page, app_url, axe_source, path, model):
    query = f"?model={MODELS[model]}" if MODELS[model] else ""
    page.goto(f"{app_url}/{path}{query}", wait_until="domcontentloaded")
    settle(page, path)
    check_with_axe(page, axe_source, f"{MENU_PAGES[path]} ({model})")


def test_axe_on_encode_after_an_upload(page, app_url, axe_source):
    """Encode's pictures, numbers and code appear only once there is an input."""
    page.goto(f"{app_url}/encode", wait_until="domcontentloaded")
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
        {"name": "seven.png", "mimeType": "image/png", "buffer": digit_png()})
    page.locator("[data-testid='stMain'] [data-testid='stImage']").nth(6).wait_for()  # steps, input, samples
    settle(page, "encode")
    check_with_axe(page, axe_source, "Encode after an upload")


def test_the_live_decoders_pictures_say_what_they_show(page, app_url):
    """Its image and pad are canvases: role="img" with a label that names the z drawn."""
    page.goto(f"{app_url}/decoder", wait_until="domcontentloaded")
    wait_idle(page)
    frame = component_frame(page)
    frame.wait_for_function("window.__liveDecoderState().drawnZ !== null")
    state = frame.evaluate("window.__liveDecoderState()")
    labels = frame.evaluate("['img', 'padwrap'].map(id => [document.getElementById(id).getAttribute('role'), "
                            "document.getElementById(id).getAttribute('aria-label')])")
    assert labels[0] == ["img", f"decoded image of z = {alt_text.point(state['drawnZ'])}"], labels
    assert labels[1] == ["img", "latent pad: the test images' z_mean as dots, the cursor at "
                                f"z = {alt_text.point(state['cursor'])}"], labels


PHONE = {"width": 390, "height": 844}
SIDEWAYS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const cut = [...document.querySelectorAll("[data-testid='stButtonGroup'] button")]
    .filter(b => b.getBoundingClientRect().right > window.innerWidth + 1).map(b => b.innerText);
  return {page: document.documentElement.scrollWidth - window.innerWidth,
          main: main.scrollWidth - main.clientWidth, cut};
}"""
# Wide content that scrolls inside its own box (code, tables, tabs) is fine; the page itself must not (Home's
# card once did: its 5-column metrics table, 422 px wide, now turned on its side by text.narrow_tables).
PHONE_PAGES = [pytest.param(path, id=title) for path, title in MENU_PAGES.items()]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_a_phone_never_scrolls_the_page_sideways(browser, app_url, path):
    """At 390×844 each page fits the screen's width, and every option of a segmented control is on it."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
        settle(page, path)
        found = page.evaluate(SIDEWAYS)
        assert found["page"] <= 1 and found["main"] <= 1 and not found["cut"], found
    finally:
        context.close()
