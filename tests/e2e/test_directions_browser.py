"""Issue 28 in a real browser: two digits drawn on the Interpolate page, interpolated, the GIF downloaded
(its frames counted, its ends the decodes of the two drawings); and the whole "done when" scenario on the
shipped 2-D model: a "slant" direction, a drawn 7 walked along it on the Decoder, the 7 into a drawn 1."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from explorer.directions import gif_frames
from scripts import drawn_digits

from . import MENU, REPO, component_frame, exceptions, wait_idle

pytestmark = pytest.mark.e2e

CANVAS = "canvas.dc-canvas.lower-canvas"  # what st_canvas sends back, background included
MODEL = REPO / "models" / "mnist-2d"
OPEN = "Open it on the Decoder"  # each end the page has an input for offers this


def _choose_drawing(page, end: str) -> None:
    radio = page.get_by_test_id("stRadio").filter(has=page.get_by_text(end, exact=True))
    radio.get_by_text("Drawing", exact=True).click()
    wait_idle(page)


def _draw(page, nth: int, digit: int, then: str) -> None:
    """Draw `digit` with the mouse on the nth canvas, as tests/e2e/test_encode_canvas.py does, and wait for
    the `then` buttons' count to grow (the page has the drawing)."""
    before = page.get_by_role("button", name=then).count()
    canvas = page.locator(CANVAS).nth(nth)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # Point at the canvas first and let its toolbar finish sliding in: a stroke that starts under the
    # toolbar on its way (a "1" starts at the top, right of centre) is taken by it, not drawn.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(800)
    for path in drawn_digits.pen_paths(digit, variant=0, size=240):
        page.mouse.move(box["x"] + path[0][0], box["y"] + path[0][1])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
    page.wait_for_function("([name, n]) => Array.from(document.querySelectorAll('button'))"
                           ".filter((b) => b.innerText.includes(name)).length > n", arg=[then, before])
    wait_idle(page)


def _decode_of_canvas(page, nth: int) -> np.ndarray:
    """What the app decodes for the drawing on the nth canvas: its pixels, preprocessed as the page does,
    encoded, and z_mean decoded (the server's ONNX model, here)."""
    from vae.bundles.serving import ServedModel
    from vae.inputs.preprocess import MNIST_STROKE, to_mnist

    sent = page.locator(CANVAS).nth(nth).evaluate("c => c.toDataURL('image/png')")
    rgba = Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))).convert("RGBA")
    model = ServedModel(MODEL)
    z_mean, _ = model.encode(to_mnist(rgba, stroke=MNIST_STROKE).image[None])
    return model.decode(z_mean)[0]


def _seven_into_one_gif(page) -> list[np.ndarray]:
    """On the Interpolate page: a 7 drawn as the start, a 1 as the end, and the GIF's frames downloaded."""
    _choose_drawing(page, "Start")
    _choose_drawing(page, "End")
    _draw(page, 0, 7, OPEN)
    _draw(page, 1, 1, OPEN)
    with page.expect_download() as info:
        page.get_by_role("button", name="Animation (GIF)").click()
    return gif_frames(open(info.value.path(), "rb").read())


def _close(frame: np.ndarray, decode: np.ndarray) -> float:
    """Mean absolute difference of a GIF frame (4× enlarged, 0-255) and a decode (28×28, 0-1)."""
    return float(np.abs(frame[::4, ::4] / 255.0 - np.clip(decode, 0, 1)).mean())


def test_two_drawings_interpolated_into_a_gif(page, app_url):
    page.goto(f"{app_url}/interpolate", wait_until="domcontentloaded")
    wait_idle(page)
    frames = _seven_into_one_gif(page)
    assert not exceptions(page)
    first, last = _decode_of_canvas(page, 0), _decode_of_canvas(page, 1)
    assert len(frames) == 10  # the page's default steps, both ends included
    assert frames[0].shape == (112, 112)
    # The GIF's ends are the decodes of the two drawings (to GIF's 8 bits), and not of each other.
    assert _close(frames[0], first) < 0.01 and _close(frames[-1], last) < 0.01
    assert _close(frames[0], last) > 0.05


def test_done_when_slant_walk_and_interpolation(page, app_url):
    """On the shipped 2-D model: make a "slant" direction, draw a 7 and a 1, download their GIF, open the 7
    on the Decoder, whose in-browser strip walks it along slant, and add k × slant to it."""
    page.goto(f"{app_url}/directions", wait_until="domcontentloaded")
    wait_idle(page)
    page.locator("[data-testid='stButtonGroup'] button", has_text="An attribute").click()
    wait_idle(page)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="slant", exact=False).first.click()
    wait_idle(page)
    page.get_by_text("held-out test images").first.wait_for()
    page.get_by_role("button", name="Save the direction").click()
    wait_idle(page)
    page.get_by_text("Saved as “slant”").wait_for()

    page.locator(MENU, has_text="Interpolate").click()  # the same session: the direction comes along
    wait_idle(page)
    assert len(_seven_into_one_gif(page)) == 10

    page.get_by_role("button", name="Open it on the Decoder").first.click()
    wait_idle(page)
    frame = component_frame(page)
    frame.wait_for_function("window.__liveDecoderStrip && window.__liveDecoderStrip.name === 'slant'")
    strip = frame.evaluate("window.__liveDecoderStrip")
    assert len(strip["t"]) == 7 and (strip["t"][0], strip["t"][-1]) == pytest.approx((-1.0, 1.0))
    z_seven = np.array(strip["z"])
    page.get_by_role("button", name="Add k × slant").click()
    wait_idle(page)
    frame.wait_for_function(f"window.__liveDecoderStrip.z[0] !== {float(z_seven[0])!r}")
    moved = np.array(frame.evaluate("window.__liveDecoderStrip.z"))
    assert np.linalg.norm(moved - z_seven) > 0.1
    assert "slant~" in page.url  # the Decoder's link carries the direction
    assert not exceptions(page)
