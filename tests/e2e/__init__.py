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


def scratch_env(root, **more: str) -> dict[str, str]:
    """An app server's environment with its own (empty) jobs and visitors' models folders under `root`, one
    training job at a time on one thread."""
    return {"VAE_JOBS_DIR": str(root / "jobs"), "VAE_USER_MODELS": str(root / "models"),
            "VAE_TRAIN_THREADS": "1", "VAE_MAX_JOBS": "1", **more}
