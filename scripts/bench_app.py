"""Benchmark the app as a user sees it, in headless Debian Chromium driven by Playwright.

    nice -n 10 python scripts/bench_app.py [--cold-runs 3] [--warm-runs 5] [--presses 10]

Prints, as medians (and p95) over runs:
- cold start: `streamlit run app.py` spawned -> /_stcore/health answers -> Home fully rendered
  (stApp's script state is notRunning), each run on a new server;
- per page: its first visit on that server (caches cold) and a warm reload (new session, server warm),
  the reload timed in the page's own clock from navigation start: to the script's run reported done
  with the page's elements shown, and to the last Plotly chart built or picture decoded (PAGE_CLOCK);
- Decoder: one arrow-key press on a z slider -> the decoded <img> has a new src -> that image has
  loaded, timed inside the page (keydown event to the animation frame that sees the change).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from scripts.harness import IDLE, PAGES, AppServer, exceptions, launch_chromium, wait_idle  # noqa: E402

DECODED = "[data-testid='stMain'] [data-testid='stImage'] img"
SLIDER = "[data-testid='stMain'] [data-testid='stSlider'] input[type='range']"
# Armed before each key press: records the keydown time, then polls every animation frame for the
# decoded image's src to change and for the new image to finish loading.
ARM = """(sel) => {
  const first = document.querySelector(sel).src;
  const b = window.__bench = {key: null, src: null, loaded: null};
  document.addEventListener('keydown', () => { b.key = performance.now(); }, {capture: true, once: true});
  const poll = () => {
    const img = document.querySelector(sel), now = performance.now();
    if (img && img.src !== first) {
      if (b.src === null) b.src = now;
      if (img.complete && img.naturalWidth > 0) { b.loaded = now; return; }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""


# Installed in every page before its scripts run: times (ms since navigation start, in the page's own
# clock) at which the script's run is reported finished, the last Plotly chart was built and the last
# picture was seen decoded (seen by a MutationObserver callback, so once the main thread was free).
# Playwright's own wait sees "finished" only when the page's main thread is free, which on a page that
# then builds a WebGL chart is sometimes ~0.8 s later: a two-humped, misleading figure.
PAGE_CLOCK = """(() => {
  const t = window.__load = {idle: null, charts: null, images: null};
  const seen = new WeakSet();
  const loaded = () => { t.images = performance.now(); };
  new MutationObserver((records) => {
    if (t.idle === null
        && document.querySelector("[data-testid='stApp'][data-test-script-state='notRunning']")
        && document.querySelector("[data-testid='stMain'] [data-testid='stHeading']")) {
      t.idle = performance.now();
    }
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest && el.closest("[data-testid='stPlotlyChart']")) t.charts = performance.now();
    }
    // Pictures count as drawn once decoded (server-drawn maps are pictures, not charts).
    for (const img of document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")) {
      if (seen.has(img)) continue;
      seen.add(img);
      if (img.complete && img.naturalWidth > 0) loaded();
      else img.addEventListener("load", loaded, {once: true});
    }
  }).observe(document, {subtree: true, childList: true, attributes: true});
})();"""


def stats(values: list[float]) -> str:
    if not values:
        return f"{'-':>9} {'-':>9} {'-':>4}"
    return f"{np.median(values):9.3f} {np.percentile(values, 95):9.3f} {len(values):4d}"


def rendered(page, url: str) -> float:
    """Seconds from navigation to the script's run being finished."""
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(IDLE, state="attached", timeout=300_000)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cold-runs", type=int, default=3, help="servers started for the cold-start numbers")
    ap.add_argument("--warm-runs", type=int, default=5, help="reloads per page")
    ap.add_argument("--presses", type=int, default=10, help="slider key presses on the Decoder")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="the screen's device pixel ratio (2 for a HiDPI screen)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright  # here: Playwright loads only when the browser runs

    rows: list[tuple[str, list[float]]] = []
    logs = Path(tempfile.mkdtemp(prefix="bench_app-"))
    with sync_playwright() as p:
        browser = launch_chromium(p)  # launched first: its start-up is not part of any number
        health, first_home, first_visit, warm, in_page, drawn = [], [], {}, {}, {}, {}
        for run in range(args.cold_runs):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      device_scale_factor=args.scale)
            ctx.add_init_script(PAGE_CLOCK)
            page = ctx.new_page()
            t0 = time.perf_counter()
            scratch = {"VAE_HOME": str(logs / "home")}
            server = AppServer(logs / f"streamlit-{run}.log", env=scratch)
            try:
                server.wait_healthy(timeout=120)
                health.append(time.perf_counter() - t0)
                rendered(page, server.url)
                first_home.append(time.perf_counter() - t0)
                if run == 0:  # the per-page numbers, on the first server
                    wait_idle(page)
                    for path, name in PAGES.items():
                        if not (ROOT / "pages" / f"{name}.py").is_file():
                            continue
                        url = f"{server.url}/{path}"
                        first_visit[name] = [rendered(page, url)] if path else first_home[:1]
                        wait_idle(page)
                        if exceptions(page):
                            print(f"warning: /{path} shows an exception", file=sys.stderr)
                        warm[name], in_page[name], drawn[name] = [], [], []
                        for _ in range(args.warm_runs):
                            t1 = time.perf_counter()
                            page.reload(wait_until="commit")
                            page.wait_for_selector(IDLE, state="attached", timeout=300_000)
                            warm[name].append(time.perf_counter() - t1)
                            wait_idle(page)
                            clock = page.evaluate("window.__load")
                            in_page[name].append(clock["idle"] / 1000)
                            drawn[name].append(max(clock["idle"], clock["charts"] or 0,
                                                   clock["images"] or 0) / 1000)
                    slider = bench_slider(page, server.url, args.presses)
            finally:
                ctx.close()
                server.stop()
        browser.close()

    rows += [("cold: spawn -> /_stcore/health ok", health), ("cold: spawn -> Home rendered", first_home)]
    for name in warm:
        rows += [(f"{name}: first visit (cold caches)", first_visit[name]),
                 (f"{name}: warm reload, script done (page clock)", in_page[name]),
                 (f"{name}: warm reload, all drawn: charts, pictures (page clock)", drawn[name]),
                 (f"{name}: warm reload (Playwright's wait)", warm[name])]
    rows += slider
    width = max(len(r[0]) for r in rows)
    print(f"\n{'seconds':<{width}} {'median':>9} {'p95':>9} {'n':>4}")
    print("-" * (width + 25))
    for label, values in rows:
        print(f"{label:<{width}} {stats(values)}")
    return 0


def bench_slider(page, url: str, presses: int) -> list[tuple[str, list[float]]]:
    if not (ROOT / "pages" / "decoder.py").is_file():
        return []
    page.goto(f"{url}/decoder")
    wait_idle(page)
    rows = key_presses(page, presses, "decoder")
    # The Decoder may also decode in the browser (a toggle): time the server path without it too.
    live = page.get_by_text("Live decoding in the browser")
    if live.count():
        live.first.click()
        wait_idle(page)
        rows += key_presses(page, presses, "decoder, live decoding off")
    return rows


def key_presses(page, presses: int, label: str) -> list[tuple[str, list[float]]]:
    to_src, to_loaded = [], []
    for _ in range(presses):
        page.locator(SLIDER).first.focus()
        page.evaluate(ARM, DECODED)
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => window.__bench.loaded !== null", timeout=60_000, polling=50)
        b = page.evaluate("window.__bench")
        to_src.append((b["src"] - b["key"]) / 1000)
        to_loaded.append((b["loaded"] - b["key"]) / 1000)
        wait_idle(page, settle_ms=200)
    return [(f"{label}: key press -> new image src", to_src),
            (f"{label}: key press -> new image loaded", to_loaded)]


if __name__ == "__main__":
    sys.exit(main())
