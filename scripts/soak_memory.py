"""The soak test's measures: the server's memory (RSS of its process tree, its caches), sampled as it runs."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

# Levelled off: the last half of the run added at most this share of the first half's rise, or this many MiB.
LEVEL_SHARE, LEVEL_MIB = 0.25, 15.0


# ----------------------------------------------------------------------------- memory


def _children(pid: int) -> list[int]:
    """Direct children of pid, from /proc/<pid>/task/*/children (Linux)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            return total / 2**20
        except psutil.NoSuchProcess:
            return float("nan")
    total_kib, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total_kib += int(m.group(1)) if m else 0
        todo += _children(p)
    return total_kib / 1024 if seen else float("nan")


def server_sizes(url: str) -> dict[str, float]:
    """What the server says it holds (GET /_stcore/metrics): MiB per kind of store, and session counts.

    `cache_data` is every st.cache_data function's pickled entries, `media` the in-memory media files
    (st.image / st.download_button bytes), `uploads` the uploaded files; `open` = connects - disconnects."""
    out = {"cache_data": 0.0, "media": 0.0, "uploads": 0.0, "connects": 0.0, "open": 0.0}
    try:
        with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=20) as r:
            text = r.read().decode()
    except OSError:
        return {k: float("nan") for k in out}
    kinds = {"st_cache_data": "cache_data", "st_memory_media_file_storage": "media",
             "UploadedFileManager": "uploads"}
    events: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r'cache_memory_bytes\{cache_type="([^"]*)",cache="[^"]*"\} (\S+)', line)
        if m and m.group(1) in kinds:
            out[kinds[m.group(1)]] += float(m.group(2)) / 2**20
        m = re.match(r'session_events_total\{type="(\w+)"\} (\S+)', line)
        if m:
            events[m.group(1)] = float(m.group(2))
    out["connects"] = events.get("connect", 0.0)
    out["open"] = events.get("connect", 0.0) - events.get("disconnect", 0.0)
    return out


class Counts:
    """What the user has done so far (read by the sampler thread; ints, so no lock is needed)."""

    def __init__(self) -> None:
        self.visits = self.loads = self.uploads = self.switches = self.clicks = self.slider = 0
        self.failures: list[str] = []

    def actions(self) -> int:
        return self.visits + self.uploads + self.switches + self.clicks + self.slider


class Sampler(threading.Thread):
    """Every `every` seconds: the server tree's RSS and the server's own sizes, printed as a table row."""

    HEADER = (f"{'time':>6} {'RSS MiB':>8} {'actions':>8} {'visits':>7} {'loads':>6} {'uploads':>8} "
              f"{'models':>7} {'cache_data':>10} {'media':>6} {'uploads':>8} {'sessions':>8}")

    def __init__(self, pid: int, url: str, counts: Counts, every: float, csv: Path | None):
        super().__init__(daemon=True)
        self.pid, self.url, self.counts, self.every = pid, url, counts, every
        self.rows: list[tuple[float, float]] = []
        self.t0 = time.monotonic()
        self.stop = threading.Event()
        self.csv = open(csv, "w") if csv else None
        if self.csv:
            self.csv.write("seconds,rss_mib,actions,visits,page_loads,uploads,model_switches,"
                           "cache_data_mib,media_mib,uploads_mib,sessions_started\n")

    def sample(self) -> None:
        t = time.monotonic() - self.t0
        rss = tree_rss_mib(self.pid)
        s = server_sizes(self.url)
        c = self.counts
        self.rows.append((t, rss))
        print(f"{int(t) // 60:3d}:{int(t) % 60:02d} {rss:8.1f} {c.actions():8d} {c.visits:7d} {c.loads:6d} "
              f"{c.uploads:8d} {c.switches:7d} {s['cache_data']:10.2f} {s['media']:6.2f} {s['uploads']:8.2f} "
              f"{s['connects']:8.0f}", flush=True)
        if self.csv:
            self.csv.write(f"{t:.0f},{rss:.1f},{c.actions()},{c.visits},{c.loads},{c.uploads},{c.switches},"
                           f"{s['cache_data']:.3f},{s['media']:.3f},{s['uploads']:.3f},{s['connects']:.0f}\n")
            self.csv.flush()

    def run(self) -> None:
        print(self.HEADER, flush=True)
        while True:
            self.sample()
            if self.stop.wait(self.every):
                break
        self.sample()
        if self.csv:
            self.csv.close()


def levelled_off(rows: list[tuple[float, float]]) -> tuple[bool, float, float]:
    """(levelled off?, rise over the first half, rise over the last half), in MiB.

    Each half's rise is measured between the medians of its first and last quarter of the run, so a
    single sample taken mid-spike (a model loading, a big page) does not decide it."""
    t = np.array([r[0] for r in rows])
    rss = np.array([r[1] for r in rows])
    end = t[-1]

    def level(a: float, b: float) -> float:
        sel = rss[(t >= a * end) & (t <= b * end)]
        return float(np.median(sel)) if len(sel) else float("nan")

    first = level(0.25, 0.5) - level(0.0, 0.25)
    last = level(0.75, 1.0) - level(0.5, 0.75)
    return bool(last <= max(LEVEL_SHARE * max(first, 0.0), LEVEL_MIB)), first, last
