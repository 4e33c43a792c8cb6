"""The browser tests' helpers: the app under Debian's chromium, shared with scripts/ (scripts/harness.py)."""

from scripts.harness import (  # noqa: F401  (the names the tests import from here)
    CHROMIUM,
    CHROMIUM_ARGS,
    COMPONENT_IFRAME,
    EXCEPTION,
    IDLE,
    LIVE_DEMO,
    MENU,
    PAGES,
    REPO,
    AppServer,
    chromium_available,
    component_frame,
    exceptions,
    free_port,
    launch_chromium,
    wait_idle,
)
