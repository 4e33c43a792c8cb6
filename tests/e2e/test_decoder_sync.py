"""The Decoder shows one z in a real browser: server sliders, caption, link, live pad and its image agree.

Issue 14, defects 2 and 3: on a first visit the server sliders sat at their minimums beside an image of
the data mean, and moving a server slider left the live pad and the live image at the old z.
Run with `pytest -m e2e tests/e2e`.
"""

from __future__ import annotations

import base64
import io
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from explorer import geometry as geo

from . import COMPONENT_IFRAME, component_frame, exceptions, wait_idle

pytestmark = pytest.mark.e2e

FRESH_VISITS = 6  # the defect showed in 4 of 8 fresh visits: six all right is not luck
SERVER_SLIDER = "[data-testid='stMain'] [data-testid='stSlider']"
SERVER_DECODE = "decoder(z), 28×28 shown at 10×"  # the caption of the server's image of z
LIVE_STATE = "window.__liveDecoderState && window.__liveDecoderState()"


def server_z(page) -> np.ndarray:
    """The z the server last decoded, from the link it wrote (3 decimals)."""
    z = geo.parse_z(parse_qs(urlparse(page.url).query).get("z", [None])[0], 2)
    assert z is not None, f"no z in the link: {page.url}"
    return z


def caption_z(page) -> np.ndarray:
    text = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").filter(
        has_text="z = (").first.inner_text()
    return np.array([float(v) for v in text.split("(", 1)[1].split(")")[0].split(",")])


def slider_z(page) -> np.ndarray:
    """What the browser's server sliders show (their thumbs' labels, 2 decimals)."""
    texts = page.locator(f"{SERVER_SLIDER} [data-testid='stSliderThumbValue']").all_inner_texts()
    return np.array([float(t) for t in texts])


def open_decoder(page, app_url: str) -> None:
    """Open /decoder and wait for its first session's second run (the pixel-ratio report) to finish too."""
    from explorer.widgets import PIXEL_RATIO_COOKIE

    page.goto(f"{app_url}/decoder", wait_until="domcontentloaded")
    wait_idle(page)
    deadline = time.monotonic() + 60
    while not any(c["name"] == PIXEL_RATIO_COOKIE for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the browser never reported its pixel ratio"
        page.wait_for_timeout(100)
    wait_idle(page)


def wait_for_new_z(page, before: np.ndarray) -> None:
    """Wait until the server has written a z other than `before` to the link, and the page is idle."""
    page.wait_for_function("before => !location.search.includes(before)",
                           arg="z=" + geo.format_z(before).replace(",", "%2C"), timeout=60_000)
    wait_idle(page)


def live_state(frame, want: np.ndarray | None = None, timeout_s: float = 30.0) -> dict:
    """The live decoder's state; with `want`, once its z, image and cursor have all reached `want`
    (or the last state seen when they never do: the caller's assertion then says how far off it is)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = frame.evaluate(LIVE_STATE)
        if want is None and state and state["z"]:
            return state
        if want is not None and state and all(
                state[k] is not None and np.allclose(state[k], want, atol=1e-3)
                for k in ("z", "drawnZ", "cursor")):
            return state
        if time.monotonic() > deadline:
            return state
        frame.wait_for_timeout(100)


def png_28(data_url: str) -> np.ndarray:
    """A 280x280 picture of a 28x28 image (nearest-neighbour, 10x) back to its 28x28 grey levels."""
    img = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("L")
    assert img.size == (280, 280), img.size
    return np.asarray(img, np.int16)[5::10, 5::10]


def server_png_28(z: list[float]) -> np.ndarray:
    """What the server draws for z (the app's own decoder and PNG), as png_28 reads a picture."""
    from vae.bundles.bundle import DEFAULT_MODEL
    from vae.bundles.serving import ServedModel, to_png

    png = to_png(ServedModel(DEFAULT_MODEL).decode(np.asarray([z], np.float32))[0], 10)
    return png_28("data:image/png;base64," + base64.b64encode(png).decode())


def assert_one_z_one_image(page, frame, where: str) -> np.ndarray:
    """Server sliders, caption, link and the live decoder all show the same z; the live image is the only
    decoded image on the page, and it is the server's decoder's image of z."""
    z = server_z(page)
    assert slider_z(page) == pytest.approx(z, abs=0.006), f"{where}: server sliders vs the link's z"
    assert caption_z(page) == pytest.approx(z, abs=0.006), f"{where}: caption vs the link's z"
    state = live_state(frame, z)
    for what in ("z", "drawnZ", "cursor"):  # live sliders, live image, the pad's cross
        assert state[what] is not None and np.allclose(state[what], z, atol=1e-3), \
            f"{where}: the live decoder's {what} is {state[what]}, the server's z {z.tolist()}"
    live = png_28(frame.evaluate("document.querySelector('canvas#img').toDataURL()"))
    assert page.get_by_text(SERVER_DECODE).count() == 0, f"{where}: a second image of z, the server's"
    # The same ONNX decoder in two runtimes (server CPU, browser WebAssembly): a grey level or two apart.
    assert np.abs(live - server_png_28(state["drawnZ"])).max() <= 3, \
        f"{where}: the live image is not the server's image of z"
    return z


def test_fresh_visits_show_sliders_that_agree_with_the_caption(browser, app_url):
    seen = []
    for visit in range(FRESH_VISITS):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        page = context.new_page()
        try:
            open_decoder(page, app_url)
            z = server_z(page)
            seen.append((visit, slider_z(page).tolist(), caption_z(page).tolist()))
            assert slider_z(page) == pytest.approx(z, abs=0.006), f"visit {visit}: {seen}"
            assert caption_z(page) == pytest.approx(z, abs=0.006), f"visit {visit}: {seen}"
            frame = page.wait_for_selector(COMPONENT_IFRAME).content_frame()
            assert live_state(frame)["z"] == pytest.approx(z, abs=1e-3), f"visit {visit}: live decoder"
            # The browser's own state of the slider is z too, not only its label: one step right moves
            # z0 at most one step up from where it was (the slider snaps to its steps), not from the
            # minimum as with the old defect.
            z0_slider = page.locator(f"{SERVER_SLIDER} input[type='range']").first
            step = float(z0_slider.get_attribute("step"))
            z0_slider.focus()
            page.keyboard.press("ArrowRight")
            wait_for_new_z(page, z)
            assert z[0] < server_z(page)[0] <= z[0] + step + 1e-3, f"visit {visit}: {server_z(page)}"
            assert not exceptions(page)
        finally:
            context.close()


def test_server_slider_moves_the_live_pad_and_image(page, app_url):
    open_decoder(page, app_url)
    frame = component_frame(page)
    status = frame.evaluate("window.__liveDecoderStatus")
    assert status == "ready", frame.evaluate("window.__liveDecoderError")
    # The pad's points come as a file (once per iframe), not with each of the renders below.
    frame.wait_for_function("window.__liveDecoderState().points > 1000", timeout=60_000)
    z0 = assert_one_z_one_image(page, frame, "on load")
    frame.evaluate("window.__sameIframe = true")  # re-sent on every slider change, never reloaded

    # A server slider (a fragment rerun): the live pad's cross, live sliders and live image follow.
    page.locator(f"{SERVER_SLIDER} input[type='range']").nth(1).focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_for_new_z(page, z0)
    z1 = assert_one_z_one_image(page, frame, "after a server slider moved")
    assert z1[1] > z0[1] + 0.1

    # A click on the pad moves the server sliders; a server slider moves z away; a second click on the
    # same spot brings the server back (the same released z twice is still two releases).
    box = frame.locator("#padwrap").bounding_box()
    spot = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)
    page.mouse.click(*spot)
    wait_for_new_z(page, z1)
    clicked = assert_one_z_one_image(page, frame, "after a click on the pad")
    page.locator(f"{SERVER_SLIDER} input[type='range']").first.focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    wait_for_new_z(page, clicked)
    moved = assert_one_z_one_image(page, frame, "after a server slider moved off the click")
    page.mouse.click(*spot)
    wait_for_new_z(page, moved)
    assert assert_one_z_one_image(page, frame, "after a second click on the same spot") == \
        pytest.approx(clicked, abs=1e-3)
    assert frame.evaluate("window.__sameIframe") is True
    assert not exceptions(page)
