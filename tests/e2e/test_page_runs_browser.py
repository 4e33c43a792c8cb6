"""A browser's first visit runs a page's script once: its pixel-ratio report reruns only its own fragment."""

from __future__ import annotations

import json
import os
import time

import pytest

from explorer.widgets import PIXEL_RATIO_COOKIE

from . import REPO, AppServer, scratch_env, wait_idle

pytestmark = pytest.mark.e2e

# scripts/server_trace logs every script run, with whether it was a fragment's (Streamlit's private
# AppSession events: if they change, it logs nothing and the test below fails on that, not silently).
TRACE = REPO / "scripts" / "server_trace"


@pytest.mark.parametrize("path", ["latent_map", "decoder"])
def test_a_first_visit_runs_the_page_once(browser, tmp_path, path):
    """The report used to rerun the whole page (a second run: about a third of a first view's server CPU)."""
    runs = tmp_path / "trace"
    python_path = os.pathsep.join(filter(None, [str(TRACE), os.environ.get("PYTHONPATH")]))
    server = AppServer(tmp_path / "streamlit.log",
                       env=scratch_env(tmp_path, SERVER_TRACE_OUT=str(runs), PYTHONPATH=python_path))
    try:
        server.wait_healthy(timeout=90)
        warm = browser.new_context()  # a fresh server's first link reruns once to leave Streamlit's
        warm.new_page().goto(server.url)  # legacy pages mode (explorer.legacy_pages): not this test's
        time.sleep(3)
        warm.close()
        start = time.time()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        page = context.new_page()
        page.goto(f"{server.url}/{path}")
        wait_idle(page)
        deadline = time.monotonic() + 60
        while not any(c["name"] == PIXEL_RATIO_COOKIE for c in context.cookies()):
            assert time.monotonic() < deadline, "the browser never reported its pixel ratio"
            page.wait_for_timeout(100)
        page.wait_for_timeout(2000)  # the report's rerun, had there been one
        wait_idle(page)
        context.close()
    finally:
        server.stop()
    records = [json.loads(line) for line in (runs / "runs.jsonl").read_text().splitlines()]
    mine = [r for r in records if r["kind"] == "run" and r["t"] >= start]
    assert mine, "the trace logged no script run"
    reports = [r for r in records if r["kind"] == "request" and r["t"] >= start
               and any(w.startswith("pixel_ratio_reporter") for w in r.get("widgets") or [])]
    assert reports, "the browser's report never reached the server"
    assert [r["fragment"] for r in mine].count(False) == 1, mine
