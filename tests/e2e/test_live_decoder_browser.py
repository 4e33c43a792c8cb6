"""Browser test of the live decoder: headless Debian Chromium drives live_decoder/demo_app.py.

Dragging the latent pad (mouse held down) must redraw the decoded canvas several times before the
release, and the released z must reach Python. Run with `pytest -m e2e tests/e2e`.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("playwright.sync_api")

from . import LIVE_DEMO, REPO, AppServer, chromium_available, component_frame  # noqa: E402

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not chromium_available(), reason="no Debian chromium at /usr/bin/chromium"),
]

TIMEOUT_MS = 120_000
IMG = "document.querySelector('canvas#img').toDataURL()"
RELEASED = re.compile(r"released z = (\[[^\]]*\])")


@pytest.fixture(scope="module")
def server():
    with AppServer(REPO / "test-output" / "live_decoder_demo.log", script=LIVE_DEMO) as url:
        yield url


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1100})
    ctx.set_default_timeout(TIMEOUT_MS)   # generous: CI machines may be busy
    pg = ctx.new_page()
    yield pg
    ctx.close()


def _released(page) -> list[float] | None:
    m = RELEASED.search(page.inner_text("body"))
    return json.loads(m.group(1)) if m else None


def _drag_pad_without_release(page, frame, steps: int = 8) -> tuple[list[str], list[str]]:
    """Hold the mouse down on the pad and move it; return the distinct images seen and all seen."""
    box = frame.locator("#padwrap").bounding_box()
    assert box, "the latent pad is not visible"
    x0, y0 = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.8
    x1, y1 = box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    seen = [frame.evaluate(IMG)]
    for k in range(1, steps + 1):
        t = k / steps
        page.mouse.move(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, steps=3)
        # Wait (briefly) for this move's frame to be painted, then read the pixels.
        frame.wait_for_function(f"{IMG} !== {json.dumps(seen[-1])}", timeout=TIMEOUT_MS, polling="raf")
        seen.append(frame.evaluate(IMG))
    return list(dict.fromkeys(seen)), seen


def test_pad_drag_decodes_continuously_and_release_reaches_python(server, page):
    page.goto(server, wait_until="domcontentloaded")
    frame = component_frame(page, 3 * TIMEOUT_MS)
    assert frame.evaluate("window.__liveDecoderStatus") == "ready", \
        frame.evaluate("window.__liveDecoderError")
    page.get_by_text("released z = null").wait_for(timeout=TIMEOUT_MS)
    n_stats_before = frame.evaluate("window.__liveDecoderStats.length")

    distinct, seen = _drag_pad_without_release(page, frame)
    # Still holding the button: the canvas changed on every move, and Python heard nothing yet.
    assert len(distinct) >= 6, f"only {len(distinct)} distinct images while dragging"
    assert _released(page) is None
    pad_frames = frame.evaluate("window.__liveDecoderStats.filter(s => s.source === 'pad').length")
    assert pad_frames >= 6 and frame.evaluate("window.__liveDecoderStats.length") > n_stats_before

    page.mouse.up()
    sent = frame.evaluate("window.__liveDecoderLastSent")
    assert isinstance(sent, list) and len(sent) == 2
    page.wait_for_function(
        "document.body.innerText.includes('released z = [')", timeout=TIMEOUT_MS)
    released = _released(page)
    assert released == pytest.approx(sent, abs=1e-3)
    # The browser's image matches the server's decode of the same z closely enough to be the same model:
    # the demo shows the server decode of the released z under the component.
    page.get_by_text("Server decode of the released z").wait_for(timeout=TIMEOUT_MS)


def test_slider_input_decodes_while_dragging(server, page):
    page.goto(server, wait_until="domcontentloaded")
    frame = component_frame(page, 3 * TIMEOUT_MS)
    box = frame.locator("input#z0").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    before = frame.evaluate(IMG)
    changes = 0
    for k in range(1, 6):
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.08 * k), y, steps=2)
        frame.wait_for_function(f"{IMG} !== {json.dumps(before)}", timeout=TIMEOUT_MS, polling="raf")
        now = frame.evaluate(IMG)
        changes += now != before
        before = now
    assert changes >= 4
    assert _released(page) is None
    page.mouse.up()
    page.wait_for_function("document.body.innerText.includes('released z = [')", timeout=TIMEOUT_MS)
    assert _released(page)[0] == pytest.approx(frame.evaluate("window.__liveDecoderLastSent[0]"), abs=1e-3)


def test_plane_pad_for_a_16d_latent(server, page):
    page.goto(server + "/?model=mnist-16d", wait_until="domcontentloaded")
    frame = component_frame(page, 3 * TIMEOUT_MS)
    assert frame.evaluate("window.__liveDecoderStatus") == "ready", \
        frame.evaluate("window.__liveDecoderError")
    assert frame.locator("input[type=range]").count() == 16
    distinct, _ = _drag_pad_without_release(page, frame, steps=4)
    assert len(distinct) >= 4
    page.mouse.up()
    page.wait_for_function("document.body.innerText.includes('released z = [')", timeout=TIMEOUT_MS)
    assert len(_released(page)) == 16


def test_broken_model_reports_fallback(server, page):
    page.goto(server + "/?broken=1", wait_until="domcontentloaded")
    frame = component_frame(page, 3 * TIMEOUT_MS)
    assert frame.evaluate("window.__liveDecoderStatus") == "failed"
    assert "falls back to the server" in frame.inner_text("#status")
    page.get_by_text("fell back to server decoding").wait_for(timeout=TIMEOUT_MS)
