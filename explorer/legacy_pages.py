"""Streamlit's legacy pages/ mode turned off for a direct link on a fresh server (the one private API)."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def leave_legacy_pages_mode() -> None:
    """Send every page through app.py's st.navigation, even a direct link on a freshly started server.

    Streamlit decides once per process, before any script has called st.navigation, whether the app
    uses the legacy `pages/` auto-discovery; until then a link such as /decoder runs pages/decoder.py
    on its own (no sidebar caption, file names as the menu). app.py's st.navigation turns that mode off
    for later runs; a page that finds it still on turns it off and reruns, and the rerun goes through
    app.py to the same page. (Private API, checked by tests/e2e: renaming `pages/` would avoid it, but
    the project keeps Streamlit's conventional folder name.)
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
