"""The first page load of a freshly started server, as a browser sees it from its first paint."""

from __future__ import annotations

import pytest

from . import MENU, AppServer, wait_idle

pytestmark = pytest.mark.e2e

# Every text the sidebar's page menu shows, recorded from the first paint on (before any test code runs).
RECORD_MENU = """
window.__menus = [];
new MutationObserver(() => {
  // Streamlit's own menu, or the app's links.
  const items = document.querySelectorAll("[data-testid='stSidebarNav'] a, MENU");
  const text = [...items].map((a) => a.innerText.trim()).join(" | ");
  if (text && window.__menus[window.__menus.length - 1] !== text) window.__menus.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
""".replace("MENU", MENU)


@pytest.mark.parametrize("path", ["", "latent_map"])
def test_a_fresh_server_never_shows_streamlits_file_name_menu(browser, tmp_path, path):
    """Streamlit's default menu names pages after their files ("latent map", "how it works"), lower case;
    the app's own menu ("Latent map", "How it works") must be the only one ever shown."""
    server = AppServer(tmp_path / "streamlit.log", env={"VAE_USER_MODELS": str(tmp_path / "user")})
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    try:
        server.wait_healthy(timeout=90)
        page = context.new_page()
        page.add_init_script(RECORD_MENU)
        page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
        wait_idle(page)
        menus = page.evaluate("window.__menus")
        assert menus, "no page menu was ever shown"
        for menu in menus:
            assert "how it works" not in menu and "latent map" not in menu, menus
        assert "How it works" in menus[-1] and "Latent map" in menus[-1]
    finally:
        context.close()
        server.stop()
