"""The replay player in a real browser: Play moves the map from frame to frame with no message to the
server (every frame is in the page), and Pause stops it; the decoded grid plays with it; no control overlaps
a label or a title."""

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


# Boxes of the player's controls (Play/Pause, the epoch, the slider's rail and grip) and of its words (subplot
# titles, axis titles, tick labels, legends), as the browser lays them out; and which of them overlap.
OVERLAPS_JS = """() => {
  const g = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout && g.layout.sliders
      && g.layout.sliders.length);
  const boxes = (sel, kind) => [...g.querySelectorAll(sel)].map(e => {
      const b = e.getBoundingClientRect();
      return {kind: kind, text: e.textContent.slice(0, 40), x0: b.left, y0: b.top, x1: b.right, y1: b.bottom};
    }).filter(b => b.x1 > b.x0 && b.y1 > b.y0);
  const controls = [...boxes('.updatemenu-button', 'button'),
                    ...boxes('.slider-group > text.slider-label', 'epoch'),
                    ...boxes('.slider-rail-rect', 'rail'), ...boxes('.slider-grip-rect', 'grip'),
                    ...boxes('.slider-label-group text', 'slider tick')];
  const words = [...boxes('.annotation-text', 'title'),
                 ...boxes('.g-xtitle text, .g-ytitle text', 'axis title'),
                 ...boxes('.xtick text, .ytick text', 'tick label'), ...boxes('.legend', 'legend')];
  const slider = ['rail', 'grip', 'slider tick'];
  const hit = (a, b) => a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5;
  const name = b => b.kind + ' "' + b.text + '"';
  const found = [];
  controls.forEach((c, i) => {
    words.filter(w => hit(c, w)).forEach(w => found.push(name(c) + ' over ' + name(w)));
    controls.slice(i + 1).filter(d => !(slider.includes(c.kind) && slider.includes(d.kind)) && hit(c, d))
      .forEach(d => found.push(name(c) + ' over ' + name(d)));
  });
  const big = words.filter(w => w.kind !== 'tick label');
  big.forEach((a, i) => big.slice(i + 1).filter(b => hit(a, b))
    .forEach(b => found.push(name(a) + ' over ' + name(b))));
  const frame = g.getBoundingClientRect();
  big.filter(w => w.x0 < frame.left - 0.5 || w.x1 > frame.right + 0.5)
    .forEach(w => found.push(name(w) + ' cut off'));
  return {found: found, controls: controls.length, words: words.length, width: frame.width};
}"""

# For 3 seconds, at every frame the browser paints: the pictures in the player at least 20 px wide and tall
# (the decoded grid), as the length and tail of their data URL (which differ from snapshot to snapshot).
GRID_SAMPLES_JS = """() => new Promise(resolve => {
  const g = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout && g.layout.sliders
      && g.layout.sliders.length);
  const seen = [], start = performance.now();
  const sample = () => {
    seen.push([...g.querySelectorAll('image')].filter(e => {
      const b = e.getBoundingClientRect();
      return b.width > 20 && b.height > 20;
    }).map(e => (e.getAttribute('href') || e.getAttribute('xlink:href') || ''))
      .filter(href => href.startsWith('data:image/png')).map(href => href.length + href.slice(-24)));
    if (performance.now() - start < 3000) requestAnimationFrame(sample); else resolve(seen);
  };
  requestAnimationFrame(sample);
})"""


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


def open_player(page, url: str) -> None:
    page.goto(f"{url}/latent_map?model=extra/tiny")
    wait_idle(page)
    page.get_by_text("Replay this model's training").first.click()  # the toggle
    wait_idle(page)
    page.get_by_text("Watch it learn").first.scroll_into_view_if_needed()
    page.wait_for_function(f"({STATE_JS})() !== null", timeout=60_000)


@pytest.mark.slow
def test_play_animates_in_the_browser_without_the_server(page, replay_server):
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload)[:40])))
    open_player(page, replay_server)
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


@pytest.mark.slow
def test_no_control_overlaps_a_label_or_a_title(page, replay_server):
    """Play/Pause, the epoch and the slider against the titles, tick labels and legends, at the page's usual
    width, a narrow one, and on the last frame (the longest epoch label)."""
    open_player(page, replay_server)
    wait_idle(page)
    for width in (1400, 900):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(1500)  # Streamlit redraws the chart at the new width
        result = page.evaluate(OVERLAPS_JS)
        assert result["controls"] >= 5 and result["words"] >= 10, result  # it found them all
        assert result["found"] == [], (width, result["found"])
    rail = page.locator(".slider-rail-touch-rect").first  # a click at its right end: the last frame
    box = rail.bounding_box()
    rail.click(position={"x": box["width"] - 2, "y": box["height"] / 2}, force=True)
    page.wait_for_timeout(800)
    last = page.evaluate(f"({STATE_JS})()")["active"]
    assert last == page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].find(g => "
                                 "g.layout && g.layout.sliders && g.layout.sliders.length)"
                                 ".layout.sliders[0].steps.length - 1")
    assert page.evaluate(OVERLAPS_JS)["found"] == []
    assert not exceptions(page)


@pytest.mark.slow
def test_the_decoded_grid_plays_with_the_map(page, replay_server):
    """While playing, every frame the browser paints shows the decoded grid, and it changes with the
    snapshots (an Image trace was redrawn blank at every frame of Play)."""
    open_player(page, replay_server)
    wait_idle(page)
    page.locator(".updatemenu-button", has_text="Play").click()
    seen = page.evaluate(GRID_SAMPLES_JS)
    page.locator(".updatemenu-button", has_text="Pause").click()
    assert len(seen) >= 3 and all(len(pictures) == 1 for pictures in seen), seen
    assert len({pictures[0] for pictures in seen}) >= 2, seen
    assert not exceptions(page)
