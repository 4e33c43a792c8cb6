"""Run the app under a real browser: start `streamlit run app.py`, drive Debian's chromium with Playwright.

Shared by the browser tests (tests/e2e/) and the benchmark, load and soak scripts here in scripts/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
# url path -> page file (app.py declares them with st.navigation; "" is the default page, Home)
PAGES = {"": "home", "latent_map": "latent_map", "decoder": "decoder", "encode": "encode",
         "train": "train", "how_it_works": "how_it_works"}
LIVE_DEMO = "live_decoder/demo_app.py"  # the live decoder component on a page of its own
COMPONENT_IFRAME = 'iframe[title="live_decoder.live_decoder"]'
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
# The app's page menu: its own links in the sidebar (app.py), Streamlit's menu being off.
MENU = "[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run app.py` (or another script; or the app of another checkout at `root`) on a free port
    (or `port`), with more `args` for streamlit run, in its own process group so that stop() ends all of
    it; also a context manager that yields the URL once the server is healthy. Its $VAE_HOME, unless `env`
    or the environment sets one: `<log name>-home` beside the log."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None, script: str = "app.py",
                 root: Path = REPO, port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        env = {**os.environ, **(env or {})}
        # Runtime data in a scratch folder beside the log, never the operator's
        # ~/.local/share/latent-explorer, unless the caller (or its environment: tests/conftest.py)
        # names a $VAE_HOME.
        env.setdefault("VAE_HOME", str(self.log_path.parent / f"{self.log_path.stem}-home"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *args],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 90.0) -> float:
        """Poll /_stcore/health until it answers "ok"; returns the seconds waited."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def __enter__(self) -> str:
        try:
            self.wait_healthy(timeout=180)
        except BaseException:
            self.stop()
            raise
        return self.url

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file()


def launch_chromium(playwright):
    """Headless Debian Chromium (never a downloaded browser build)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def component_frame(page, timeout_ms: float = 60_000):
    """The live decoder's iframe, once ONNX Runtime Web has a session (or has failed)."""
    handle = page.wait_for_selector(COMPONENT_IFRAME, timeout=timeout_ms)
    frame = handle.content_frame()
    frame.wait_for_function("window.__liveDecoderStatus && window.__liveDecoderStatus !== 'loading'",
                            timeout=timeout_ms)
    return frame


def wait_idle(page, timeout_ms: float = 180_000, settle_ms: int = 400) -> None:
    """Wait until the script has run and stays finished (reruns, e.g. a query-param update, may follow)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        page.wait_for_selector(IDLE, state="attached", timeout=max(1.0, deadline - time.monotonic()) * 1000)
        page.wait_for_timeout(settle_ms)
        if page.locator(IDLE).count() and not page.locator("[data-testid='stSkeleton']").count():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not finish running")


def exceptions(page) -> list[str]:
    """Texts of the exceptions Streamlit shows on the page (empty when there are none)."""
    return [e.inner_text() for e in page.locator(EXCEPTION).all()]
