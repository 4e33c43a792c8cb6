"""The Latent map in a real browser: clicks on dots and box-selects, as a visitor makes them."""

from __future__ import annotations

import re

import pytest

from . import exceptions, wait_idle

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
DETAIL = re.compile(r"Test image #(\d+)")


def _open(page, app_url: str, query: str = "") -> None:
    page.goto(f"{app_url}/latent_map{query}", wait_until="domcontentloaded")
    wait_idle(page)
    page.wait_for_selector(CHART)
    page.wait_for_timeout(500)  # Plotly's second draw (Streamlit re-applies its theme after mounting)


def _dot_positions(page, n: int) -> list[dict]:
    """Screen positions and test indices of n dots of the map's data traces, spread over the labels,
    picked where no other dot is within 6 px (so the click hits that dot and no neighbour)."""
    return page.evaluate(
        """([sel, n]) => {
          const gd = document.querySelector(sel);
          const L = gd._fullLayout, box = gd.getBoundingClientRect();
          const xa = L.xaxis, ya = L.yaxis;
          const pts = [];
          gd._fullData.forEach((t, c) => {
            if (t.type !== 'scattergl') return;
            for (let i = 0; i < t.x.length; i++) {
              const px = box.left + xa._offset + xa.l2p(t.x[i]), py = box.top + ya._offset + ya.l2p(t.y[i]);
              pts.push({c, i, px, py, index: Math.round(t.customdata[i][0] ?? t.customdata[i])});
            }
          });
          const inside = pts.filter(p => p.px > box.left + xa._offset + 10
            && p.px < box.left + xa._offset + xa._length - 10
            && p.py > box.top + ya._offset + 10 && p.py < box.top + ya._offset + ya._length - 10);
          const lonely = inside.filter(p => !inside.some(q => q !== p
            && Math.hypot(q.px - p.px, q.py - p.py) < 6));
          const out = [], seen = new Set();
          for (const p of lonely) {  // one per trace (label) first, then any
            if (!seen.has(p.c)) { seen.add(p.c); out.push(p); }
            if (out.length >= n) break;
          }
          return out;
        }""",
        [CHART, n],
    )


def _click_dots(page, n: int) -> list[int]:
    """Click n dots one after another; returns the test index the page then shows for each."""
    shown = []
    for k in range(n):
        # Positions afresh each time: a selection redraws the chart (its legend gains entries).
        page.wait_for_timeout(500)
        dot = _dot_positions(page, n)[k]
        before = page.locator("[data-testid='stMain']").inner_text()
        page.mouse.move(dot["px"], dot["py"], steps=4)
        page.wait_for_timeout(300)  # Plotly's hover picks the dot under the pointer
        page.mouse.click(dot["px"], dot["py"])
        page.wait_for_function("([before]) => document.querySelector(\"[data-testid='stMain']\").innerText "
                               "!== before && /Test image #\\d+/.test(document.querySelector("
                               "\"[data-testid='stMain']\").innerText)", arg=[before], timeout=60_000)
        wait_idle(page)
        found = exceptions(page)
        assert not found, "clicking a dot raised:\n" + "\n".join(found)[:3000]
        detail = page.locator("[data-testid='stMain']").inner_text()
        shown.append(int(DETAIL.search(detail).group(1)))
        assert shown[-1] == dot["index"]
        assert "reconstruction" in detail and "z_std" in detail
    return shown


@pytest.mark.parametrize("query", ["", "?model=mnist-16d"], ids=["2d", "16d-pca"])
def test_clicking_dots_shows_each_point(page, app_url, query):
    _open(page, app_url, query)
    shown = _click_dots(page, 3)
    assert len(set(shown)) == 3


def _drag_a_box(page) -> None:
    """With the box-select tool, drag over the middle of the plot, and wait for the box's decoded grid."""
    page.locator(f"{CHART} .modebar-btn[data-val='select']").first.click(force=True)
    box = page.evaluate("""sel => { const gd = document.querySelector(sel), L = gd._fullLayout,
        r = gd.getBoundingClientRect(); return {x: r.left + L.xaxis._offset, y: r.top + L.yaxis._offset,
        w: L.xaxis._length, h: L.yaxis._length}; }""", CHART)
    x0, y0 = box["x"] + box["w"] * 0.3, box["y"] + box["h"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["w"] * 0.3, y0 + box["h"] * 0.3, steps=8)
    page.mouse.up()
    page.get_by_text(re.compile(r"The box decoded as a \d+×\d+ grid")).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert not exceptions(page)


def _map_state(page) -> dict:
    """What the visitor sees of the selection: the ✕ marker's trace, the dashed box, the index box."""
    return page.evaluate("""([sel]) => { const gd = document.querySelector(sel);
        return {marker: gd.data.some(t => t.name === 'selected'), boxes: (gd.layout.shapes || []).length,
                index: document.querySelector("[data-testid='stNumberInput'] input").value}; }""", [CHART])


def test_one_selection_at_a_time(page, app_url):
    """Issue 23: after a box-select the index box kept the clicked dot's number and its ✕ stayed on the map
    while the side panel showed the box. A box drops the dot; a dot drops the box."""
    _open(page, app_url)
    clicked = _click_dots(page, 1)[0]
    assert _map_state(page) == {"marker": True, "boxes": 0, "index": str(clicked)}
    _drag_a_box(page)
    page.wait_for_timeout(500)  # the chart's redraw after the rerun
    assert _map_state(page) == {"marker": False, "boxes": 1, "index": ""}
    assert not DETAIL.search(page.locator("[data-testid='stMain']").inner_text())
    clicked = _click_dots(page, 1)[0]
    page.wait_for_timeout(500)
    assert _map_state(page) == {"marker": True, "boxes": 0, "index": str(clicked)}
    _drag_a_box(page)
    index = page.locator("[data-testid='stNumberInput'] input")  # a number typed in the index box: a dot
    index.fill("5")
    index.press("Enter")
    page.get_by_text("Test image #5").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    assert _map_state(page) == {"marker": True, "boxes": 0, "index": "5"}
    assert not page.get_by_text(re.compile(r"The box decoded as")).count()


def test_box_select_grid_fits_in_the_window(page, app_url):
    """A drag with the box-select tool decodes the box; the grid stays inside its column and the window."""
    _open(page, app_url)
    _drag_a_box(page)
    grid = page.locator("[data-testid='stMain'] [data-testid='stImage'] img").first
    g = grid.bounding_box()
    column = grid.locator("xpath=ancestor::*[@data-testid='stColumn'][1]").bounding_box()
    width = page.viewport_size["width"]
    assert g["x"] >= column["x"] - 1 and g["x"] + g["width"] <= column["x"] + column["width"] + 1, (g, column)
    assert g["x"] + g["width"] <= width, (g, width)
    # The picture is shown whole: drawn at its own aspect ratio, not clipped.
    natural = grid.evaluate("img => img.naturalWidth / img.naturalHeight")
    assert g["width"] / g["height"] == pytest.approx(natural, rel=0.03)


def test_the_modebar_covers_no_legend_entry(page, app_url):
    _open(page, app_url)
    page.hover(CHART)  # the modebar shows while the pointer is over the chart
    modebar = page.locator(f"{CHART} .modebar").first.bounding_box()
    entries = [e.bounding_box() for e in page.locator(f"{CHART} .legend .traces").all()]
    assert len(entries) >= 10
    for e in entries:
        apart = (e["x"] + e["width"] <= modebar["x"] or modebar["x"] + modebar["width"] <= e["x"]
                 or e["y"] + e["height"] <= modebar["y"] or modebar["y"] + modebar["height"] <= e["y"])
        assert apart, (e, modebar)
