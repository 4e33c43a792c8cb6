"""The replay player in a real browser: Play moves the map from frame to frame with no message to the
server (every frame is in the page), and Pause stops it."""

from __future__ import annotations

import sys

import pytest

from . import REPO, AppServer, exceptions, wait_idle

OUTPUT = REPO / "test-output"
sys.path.insert(0, str(REPO / "tests"))

# The player's figure: the one Plotly graph with a slider; what it shows now (label 0's first point, the
# slider's position).
STATE_JS = """() => {
  const g = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout && g.layout.sliders
      && g.layout.sliders.length);
  if (!g) return null;
  return {x: Number(g.data[0].x[0]), active: g.layout.sliders[0].active ?? 0};
}"""


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory):
    """An app whose operator root holds one tiny model trained for 64 steps (65 snapshots)."""
    from tests.support.bundles import train_tiny

    root = tmp_path_factory.mktemp("class") / "extra"
    train_tiny(root / "tiny", "--epochs", "2", "--max-train", "1024")
    server = AppServer(OUTPUT / "replay_server.log", env={"VAE_MODEL_ROOTS": str(root)})
    try:
        server.wait_healthy(timeout=90)
        yield server.url
    finally:
        server.stop()


@pytest.mark.slow
def test_play_animates_in_the_browser_without_the_server(page, replay_server):
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload)[:40])))
    page.goto(f"{replay_server}/latent_map?model=extra/tiny")
    wait_idle(page)
    page.get_by_text("Replay this model's training").first.click()  # the toggle
    wait_idle(page)
    page.get_by_text("Watch it learn").first.scroll_into_view_if_needed()
    page.wait_for_function(f"({STATE_JS})() !== null", timeout=60_000)
    before = page.evaluate(STATE_JS)
    assert before["active"] == 0
    wait_idle(page)
    quiet = len(sent)
    page.locator(".updatemenu-button", has_text="Play").click()
    seen = []
    for _ in range(12):
        page.wait_for_timeout(250)
        seen.append(page.evaluate(STATE_JS))
    frames = {s["active"] for s in seen}
    xs = {round(s["x"], 4) for s in seen}
    assert len(frames) >= 4 and len(xs) >= 4, seen  # the slider walks and the points move
    assert len(sent) == quiet, sent[quiet:]  # and not one message went to the server meanwhile
    page.locator(".updatemenu-button", has_text="Pause").click()
    page.wait_for_timeout(400)
    paused = page.evaluate(STATE_JS)
    page.wait_for_timeout(800)
    assert page.evaluate(STATE_JS) == paused
    assert not exceptions(page)
