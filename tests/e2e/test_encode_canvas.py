"""The Encode canvas in a real browser: the toolbar leaves the instruction readable; a drawn "2" reads 2."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from scripts import drawn_digits

from . import REPO, exceptions, wait_idle

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "test-output" / "screenshots"
CANVAS = "canvas.dc-canvas.lower-canvas"  # what st_canvas sends back, background included
TOOLBAR = ".dc-toolbar-card"
INSTRUCTION = "Draw one digit, large"


def _open_canvas(page, app_url: str):
    page.goto(f"{app_url}/encode", wait_until="domcontentloaded")
    wait_idle(page)
    page.get_by_test_id("stRadioGroup").get_by_text("Draw a digit").click()
    wait_idle(page)
    canvas = page.locator(CANVAS)
    canvas.wait_for(state="visible")
    return canvas.bounding_box()


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_toolbar_leaves_the_instruction_readable(page, app_url):
    """The toolbar (undo, redo, clear...) shows above the canvas's top right while the pointer is on it."""
    box = _open_canvas(page, app_url)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # The component lives in a shadow root: Playwright's locators reach into it, document.querySelector not.
    expect(page.locator(".dc-toolbar")).to_have_css("opacity", "1")
    toolbar = page.locator(TOOLBAR).bounding_box()
    instruction = page.get_by_text(INSTRUCTION).bounding_box()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "encode_canvas_toolbar.png"),
                    clip={"x": box["x"] - 20, "y": instruction["y"] - 20, "width": box["width"] + 520,
                          "height": box["y"] + box["height"] - instruction["y"] + 40})
    assert toolbar["y"] + toolbar["height"] <= box["y"] + 1, "the toolbar is not above the canvas"
    assert not _overlap(toolbar, instruction), (toolbar, instruction)


def test_drawn_two_lands_among_twos(page, app_url):
    """Issue 14's report, by mouse: a clean "2" drawn large on the canvas. The canvas sends what
    scripts/drawn_digits.py renders for the same path (so the simulated drawings in
    tests/test_drawn_digits.py are what a browser sends), and the page's majority label is 2."""
    from vae.inputs.preprocess import CANVAS_STROKE

    box = _open_canvas(page, app_url)
    paths = drawn_digits.pen_paths(2, variant=0, size=240)
    for path in paths:
        page.mouse.move(box["x"] + path[0][0], box["y"] + path[0][1])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
    wait_idle(page)
    page.get_by_text("majority:").wait_for()
    assert not exceptions(page)

    sent = page.locator(CANVAS).evaluate("c => c.toDataURL('image/png')")
    browser = np.asarray(Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))).convert("L"))
    simulated = drawn_digits.render(paths, CANVAS_STROKE)[..., 0]
    ink_b, ink_s = browser >= 128, simulated >= 128
    assert (ink_b & ink_s).sum() / (ink_b | ink_s).sum() > 0.85  # the same strokes, to within a pixel or two

    verdict = page.get_by_text("majority:").inner_text()
    assert verdict.rstrip(".").endswith("majority: 2"), verdict
