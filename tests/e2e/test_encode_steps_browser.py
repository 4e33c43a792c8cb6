"""Encode's preprocessing pictures in Chromium: one height for all, each as wide as its own aspect ratio."""

from __future__ import annotations

import pytest

from tests.support.pictures import thin_one_png

from . import REPO, exceptions, wait_idle

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "test-output" / "screenshots"
STEPS = ("Original", "Grayscale", "Cropped to the ink", "28×28")  # the page's first four pictures


def test_a_thin_digits_steps_are_drawn_at_one_height_and_their_own_aspect(page, app_url):
    """Issue 23: a photographed "1" cropped to its ink came out twice as tall as its neighbours."""
    from vae.inputs.preprocess import preprocess_bytes

    png = thin_one_png()
    pre = preprocess_bytes(png)
    aspects = [a.shape[1] / a.shape[0] for a in (pre.original, pre.gray, pre.cropped, pre.image)]
    page.goto(f"{app_url}/encode", wait_until="domcontentloaded")
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
        {"name": "one.png", "mimeType": "image/png", "buffer": png})
    wait_idle(page)
    page.get_by_text("Cropped to the ink").first.wait_for()
    images = [page.locator("[data-testid='stMain'] [data-testid='stImage'] img").nth(k) for k in range(4)]
    for img in images:
        img.wait_for(state="visible")
        page.wait_for_function("img => img.complete && img.naturalHeight > 0", arg=img.element_handle())
    boxes = [img.bounding_box() for img in images]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top = min(b["y"] for b in boxes)
    page.screenshot(path=str(SCREENSHOTS / "encode_steps_thin_one.png"),
                    clip={"x": 0, "y": max(0, top - 40), "width": page.viewport_size["width"], "height": 320})
    assert not exceptions(page)
    heights = [b["height"] for b in boxes]
    assert max(heights) - min(heights) <= 1.0, heights
    for step, box, aspect in zip(STEPS, boxes, aspects):
        assert abs(box["width"] - aspect * box["height"]) <= 1.5, (step, box, aspect)
