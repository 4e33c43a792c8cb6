"""Helpers for the browser test and the benchmark: serve the demo page, launch headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(__file__).resolve().parent / "demo_app.py"
CHROMIUM = os.environ.get("LIVE_DECODER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
COMPONENT_IFRAME = 'iframe[title="live_decoder.live_decoder"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None


@contextmanager
def demo_server(script: Path = DEMO, timeout: float = 180.0, nice: int = 10) -> Iterator[str]:
    """Run `streamlit run script` on a free port; yield its base URL once /_stcore/health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    if nice and shutil.which("nice"):
        cmd = ["nice", "-n", str(nice), *cmd]
    log = open(os.devnull, "wb") if not os.environ.get("LIVE_DECODER_SERVER_LOG") else None
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not become healthy on port {port} in {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()


def launch(playwright, **kwargs):
    """Headless Debian Chromium (never a downloaded browser build)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs)


def component_frame(page, timeout_ms: float = 60_000):
    """The live decoder's iframe, once ONNX Runtime Web has a session (or has failed)."""
    handle = page.wait_for_selector(COMPONENT_IFRAME, timeout=timeout_ms)
    frame = handle.content_frame()
    frame.wait_for_function("window.__liveDecoderStatus && window.__liveDecoderStatus !== 'loading'",
                            timeout=timeout_ms)
    return frame
