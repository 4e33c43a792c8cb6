"""A throwaway local Ray head for tests and benchmarks: `ray start --head --block` on free ports, in a temp
folder of its own, ended by its own process ids (never `ray stop`, which ends every Ray on the machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports (held open together while they are picked, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class RayHead:
    """A Ray head with `num_cpus` CPUs and its dashboard (the job server) on a free port; a context manager
    that yields the job server's address and shuts everything it started down, even when the body fails."""

    def __init__(self, num_cpus: int = 2, log_path: Path | None = None):
        self.num_cpus = num_cpus
        # Short: Ray's unix sockets live under it, and a socket path may be at most 107 characters.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rayh", dir="/tmp"))
        self.log_path = Path(log_path) if log_path else self.temp_dir / "head.log"
        self.proc: subprocess.Popen | None = None
        self.address = ""

    def start(self, timeout: float = 120.0) -> str:
        (gcs, dash, client, node, obj, agent_grpc, agent_http, metrics, runtime_env,
         worker_lo) = free_ports(10)
        cmd = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
               "--num-cpus", str(self.num_cpus), "--disable-usage-stats", "--temp-dir", str(self.temp_dir),
               "--port", str(gcs), "--node-ip-address", "127.0.0.1",
               "--include-dashboard", "true", "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
               "--ray-client-server-port", str(client), "--node-manager-port", str(node),
               "--object-manager-port", str(obj), "--dashboard-agent-grpc-port", str(agent_grpc),
               "--dashboard-agent-listen-port", str(agent_http), "--metrics-export-port", str(metrics),
               "--runtime-env-agent-port", str(runtime_env),
               # Workers take ports from a range: one that another Ray on this machine is unlikely to use.
               "--min-worker-port", str(20000 + worker_lo % 20000), "--max-worker-port",
               str(20000 + worker_lo % 20000 + 200), "--object-store-memory", str(200 * 2**20)]
        if not Path(cmd[0]).exists():
            cmd[0] = shutil.which("ray") or "ray"
        self._log = open(self.log_path, "w")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.address = f"http://127.0.0.1:{dash}"
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.address}/api/version", timeout=2) as r:
                    if r.status == 200:
                        return self.address
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the Ray job server did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def _own_pids(self) -> list[int]:
        """Processes of this head: those whose command line names its temp folder (GCS, raylet, dashboard,
        workers), besides `ray start` itself; another Ray on the machine never names it."""
        mark = str(self.temp_dir).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if mark in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def stop(self) -> None:
        """TERM to `ray start` and every process of this head, KILL to what is left after a few seconds."""
        group = [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []
        for sig, wait in ((signal.SIGTERM, 8.0), (signal.SIGKILL, 5.0)):
            for pgid in group:
                _signal(lambda: os.killpg(pgid, sig))
            for pid in self._own_pids():
                _signal(lambda pid=pid: os.kill(pid, sig))
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and (self._own_pids() or (group and self.proc.poll() is None)):
                time.sleep(0.2)
        if self.proc is not None:
            self.proc.wait(5)
        if hasattr(self, "_log"):
            self._log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal(send) -> None:
    try:
        send()
    except ProcessLookupError:
        pass
