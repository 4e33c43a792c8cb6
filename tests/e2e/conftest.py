"""Fixtures for the browser tests: one app server and one chromium per session, a fresh page per test."""

from __future__ import annotations

import os

import pytest

from . import CHROMIUM, REPO, AppServer, launch_chromium

OUTPUT = REPO / "test-output"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The URL of `streamlit run app.py`, with models trained in the app kept in a scratch folder."""
    server = AppServer(OUTPUT / "streamlit.log",
                       env={"VAE_USER_MODELS": str(tmp_path_factory.mktemp("user_models"))})
    try:
        server.wait_healthy(timeout=90)
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API runs one instance at a time; other modules start their own."""
    if not os.path.exists(CHROMIUM):
        if "CHROMIUM_PATH" in os.environ:
            pytest.fail(f"CHROMIUM_PATH={CHROMIUM} does not exist")
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A new browser context per test, so each test is a new Streamlit session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)  # a loaded 2-core machine is slow
    pg = context.new_page()
    yield pg
    context.close()
