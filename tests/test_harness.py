"""scripts/harness.py's AppServer: the app servers that benchmarks and browser tests start keep their runtime
data in scratch, never in the operator's ~/.local/share/latent-explorer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scripts.harness import AppServer


def _environ(pid: int) -> dict[str, str]:
    """A running process's environment, as Linux shows it, once it runs streamlit: Popen can return before
    the child's exec is done (vfork resumes the parent early), and until then /proc shows the parent's."""
    deadline = time.monotonic() + 10
    while b"streamlit" not in Path(f"/proc/{pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    items = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(item.split("=", 1) for item in items if "=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
def test_an_app_servers_home_is_beside_its_log_unless_one_is_named(tmp_path, monkeypatch):
    """scripts/bench_page_cpu.py set only VAE_USER_MODELS, so its servers wrote jobs and published decoders
    into the operator's own $VAE_HOME."""
    monkeypatch.delenv("VAE_HOME", raising=False)  # tests/conftest.py names one for the tests
    server = AppServer(tmp_path / "logs" / "page.log")
    try:
        assert _environ(server.proc.pid)["VAE_HOME"] == str(tmp_path / "logs" / "page-home")
    finally:
        server.stop()
    server = AppServer(tmp_path / "logs" / "named.log", env={"VAE_HOME": str(tmp_path / "theirs")})
    try:
        assert _environ(server.proc.pid)["VAE_HOME"] == str(tmp_path / "theirs")
    finally:
        server.stop()
