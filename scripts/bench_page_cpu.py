"""Server CPU per page view: the web process's user+system time for one page opened in a fresh tab.

    python scripts/bench_page_cpu.py [--pages latent_map,compare] [--repeats 3] [--visit first]
        [--via nginx] [--checkout /tmp/before] [--trace DIR [--profile]] [--py-spy DIR]

Starts `streamlit run app.py` (this checkout, and each --checkout's app as well) and a bare Streamlit
app with the same eight page paths, each page writing one line (generated into a temp folder, with this
checkout's .streamlit/config.toml). Then, page by page, opens the page in a new Chromium context on each
server in turn, waits until the script has finished and nothing has rerun for --quiet-ms, and reads the
server process's utime+stime (all its threads, and waited-for children) from /proc/<pid>/stat before
and after. Each page is opened once on each server first (warm-up, not counted); the figure is the
median of --repeats views. --visit first: a new browser context each time (a browser's first visit: no
cookies, so the pixel-ratio report and the visitor cookie, and no HTTP cache, so the server sends
Streamlit's frontend and the components' files again); tab: a new tab in one context per server that
has been there before (cookies set, static files cached: every later view of a page). --via nginx: each
server behind an nginx of its own running deploy/nginx.conf (scripts/balancer.py, one replica), as on a
class server: nginx then sends Streamlit's static files and the live decoder's files from disk, and the
table also gives the nginx processes' own CPU per view (master and worker); the figures stay the app's.

Prints per page the app's CPU, the bare app's, the difference, the part of each spent on the event
loop's thread (HTTP, websocket; the rest is script runs, garbage collection, file reads), and the script
runs the browser saw (stApp's data-test-script-state turning to "running"; quick reruns can merge, the
trace counts them exactly); then the median and the max of the difference
over the pages (issue 24, item 8: median <= 0.05 s, no page over 0.12 s). --trace DIR loads
scripts/server_trace/sitecustomize.py into the servers: DIR/<server>/runs.jsonl has each script run's
page, cause and script-thread CPU (with --profile, each run's cProfile stats too; slower: only for
finding where the time goes, not for the table). --py-spy DIR records each server's measured views
with `py-spy record --threads` (collapsed stacks, DIR/<server>.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.balancer import Balancer  # noqa: E402
from scripts.harness import AppServer, free_port, launch_chromium  # noqa: E402

# url path -> (page file stem, title): the app's menu (app.py's PAGES); "" is the default page, Home.
MENU = {"": ("home", "Home"), "latent_map": ("latent_map", "Latent map"),
        "decoder": ("decoder", "Decoder"), "encode": ("encode", "Encode"), "train": ("train", "Train"),
        "import_model": ("import_model", "Import"), "how_it_works": ("how_it_works", "How it works"),
        "compare": ("compare", "Compare")}
TRACE_DIR = ROOT / "scripts" / "server_trace"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# In every page before its scripts run: counts the script runs (stApp's state turning to "running")
# and notes when the state last changed, so that a view ends only once no rerun has followed for a while.
RUN_WATCH = """(() => {
  const w = window.__runs = {runs: 0, last: performance.now(), state: null};
  new MutationObserver((records) => {
    for (const r of records) {
      const state = r.target.getAttribute('data-test-script-state');
      if (state !== w.state) {
        if (state === 'running') w.runs += 1;
        w.state = state;
        w.last = performance.now();
      }
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();"""
QUIET = """(quietMs) => {
  const w = window.__runs;
  const app = document.querySelector("[data-testid='stApp']");
  return w && app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector("[data-testid='stSkeleton']")
    && Array.from(document.images).every((i) => i.complete)
    && performance.now() - w.last >= quietMs;
}"""


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """utime + stime + cutime + cstime of a process (all its threads, live and ended), in seconds; of one
    of its threads where `thread` names it."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # fields 14-17 of proc(5), after "pid (comm)"


def write_bare_app(folder: Path) -> Path:
    """A bare Streamlit app with the menu's page paths, each page writing one line."""
    (folder / "pages").mkdir(parents=True)
    (folder / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
    pages = ",\n    ".join(f'st.Page("pages/{stem}.py", title="{title}", default={path == ""})'
                           for path, (stem, title) in MENU.items())
    (folder / "app.py").write_text(
        f'import streamlit as st\n\nst.set_page_config(page_title="Bare", layout="wide")\n'
        f"st.navigation([\n    {pages},\n], position=\"hidden\").run()\n")
    for stem, title in MENU.values():
        (folder / "pages" / f"{stem}.py").write_text(f'import streamlit as st\n\nst.write("{title}")\n')
    return folder


class Server:
    """One app under test: its AppServer and what it measured (per page, one View a measured view)."""

    def __init__(self, name: str, root: Path, scratch: Path, trace: Path | None, profile: bool,
                 funcs: str = ""):
        env = {}  # its $VAE_HOME: the harness's, beside its log in the scratch folder
        if trace:
            path = os.pathsep.join(filter(None, [str(TRACE_DIR), os.environ.get("PYTHONPATH")]))
            env.update(SERVER_TRACE_OUT=str(trace / name), SERVER_TRACE_PROFILE="1" if profile else "0",
                       SERVER_TRACE_FUNCS=funcs, PYTHONPATH=path)
        self.name = name
        self.root = root
        self.app = AppServer(scratch / f"{name}.log", env=env, root=root)
        self.url = self.app.url  # where the browser goes: the app, or (--via nginx) its nginx
        self.proxy: Balancer | None = None
        self.trace = trace / name if trace else None
        self.views: dict[str, list[View]] = {}
        self.browser = None  # --visit tab: the context whose tabs open the pages
        self.spy: subprocess.Popen | None = None

    def start_proxy(self, folder: Path) -> None:
        """--via nginx: deploy/nginx.conf in front of this server alone, serving its published decoders."""
        self.proxy = Balancer(folder / f"nginx-{self.name}", (self.app.port, self.app.port), free_port(),
                              decoders=self.app.home / "decoders", checkout=self.root)
        self.url = self.proxy.__enter__()
        deadline = time.time() + 30
        while True:  # until nginx answers, with the app's answer
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                if time.time() > deadline:
                    raise
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.__exit__(None, None, None)
        stop_py_spy(self)
        self.app.stop()

    def proxy_cpu(self) -> float:
        """CPU seconds of its nginx so far (master and workers), 0 without one."""
        if self.proxy is None or self.proxy.proc is None:
            return 0.0
        pid = self.proxy.proc.pid
        workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return cpu_seconds(pid) + sum(cpu_seconds(int(worker)) for worker in workers)

    def idle_rate(self, seconds: float = 5.0) -> float:
        """CPU seconds per second with no page open (the keeper thread, timers)."""
        c0 = cpu_seconds(self.app.proc.pid)
        time.sleep(seconds)
        return (cpu_seconds(self.app.proc.pid) - c0) / seconds


@dataclass
class View:
    """One page view: server CPU s (of which the event loop's, the main thread), script runs the browser
    saw, its span (time.time(), to find its runs in the trace), and its nginx's CPU s (--via nginx)."""

    cpu: float
    loop: float
    runs: int
    start: float
    end: float
    proxy: float = 0.0


def median(views: list[View], field: str) -> float:
    return statistics.median(getattr(v, field) for v in views)


def new_context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(180_000)  # a loaded 2-core machine is slow
    ctx.add_init_script(RUN_WATCH)
    return ctx


def view(browser, server: Server, path: str, quiet_ms: int) -> View:
    """Open one page in a new context (or, --visit tab, a new tab of the server's context)."""
    ctx = server.browser or new_context(browser)
    page = ctx.new_page()
    pid = server.app.proc.pid
    t0, c0, l0, p0 = time.time(), cpu_seconds(pid), cpu_seconds(pid, pid), server.proxy_cpu()
    page.goto(f"{server.url}/{path}")
    page.wait_for_function(QUIET, arg=quiet_ms, polling=100)
    c1, l1, t1, p1 = cpu_seconds(pid), cpu_seconds(pid, pid), time.time(), server.proxy_cpu()
    runs = page.evaluate("window.__runs.runs")
    page.close()
    if ctx is not server.browser:
        ctx.close()
    time.sleep(0.3)  # the server's side of the closed websocket, outside the next figure
    return View(c1 - c0, l1 - l0, runs, t0, t1, p1 - p0)


def start_py_spy(server: Server, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    server.spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(server.app.proc.pid), "--threads", "--format", "raw",
         "--rate", "200", "--nonblocking", "-o", str(folder / f"{server.name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(server: Server) -> None:
    if server.spy and server.spy.poll() is None:
        server.spy.send_signal(signal.SIGINT)
        server.spy.wait(60)


def report(servers: list[Server], pages: list[str], repeats: int, visit: str, via: str) -> None:
    bare, apps = servers[0], servers[1:]
    width = max(16, *(len(s.name) + 10 for s in apps))
    names = "/".join(s.name for s in servers)
    head = f"{'page':<14}" + "".join(f"{s.name + ' CPU s':>{width}}" for s in apps) + f"{'bare CPU s':>12}"
    head += "".join(f"{s.name + ' - bare':>{width}}" for s in apps)
    nginx = via == "nginx"
    print(f"\nServer CPU per page view ({visit} visit, {via}, median of {repeats}, seconds)\n{head}"
          f"   event loop s ({names})   runs seen ({names})" + (f"   nginx CPU s ({names})" if nginx else ""))
    diffs: dict[str, list[float]] = {s.name: [] for s in apps}
    for path in pages:
        med = {s.name: median(s.views[path], "cpu") for s in servers}
        line = f"{MENU[path][1]:<14}" + "".join(f"{med[s.name]:{width}.3f}" for s in apps)
        line += f"{med[bare.name]:12.3f}"
        for s in apps:
            diffs[s.name].append(med[s.name] - med[bare.name])
            line += f"{diffs[s.name][-1]:{width}.3f}"
        line += "   " + " / ".join(f"{median(s.views[path], 'loop'):.2f}" for s in servers)
        line += "   " + " / ".join(f"{median(s.views[path], 'runs'):g}" for s in servers)
        if nginx:
            line += "   " + " / ".join(f"{median(s.views[path], 'proxy'):.2f}" for s in servers)
        print(line)
    for s in apps:
        d = diffs[s.name]
        worst = pages[d.index(max(d))]
        print(f"{s.name}: app minus bare, median over pages {statistics.median(d):.3f} s, "
              f"max {max(d):.3f} s ({MENU[worst][1]})")


def breakdown(servers: list[Server], pages: list[str]) -> None:
    """--trace: each view's CPU split into its script runs, Streamlit's gc.collect after each, the event
    loop, and the rest (other threads: file reads, session start), medians over the measured views."""
    print("\nWhere the time goes (--trace; medians, s; script: the runs' own thread CPU, gc: after each run)")
    print(f"{'page':<14}{'server':<12}{'runs':>5}{'script':>8}{'gc':>7}{'loop':>7}{'other':>7}{'total':>7}")
    for s in servers:
        records = [json.loads(line) for line in (s.trace / "runs.jsonl").read_text().splitlines()]
        for path in pages:
            parts = []
            for v in s.views[path]:
                mine = [r for r in records if r["kind"] in ("run", "gc") and v.start <= r["t"] <= v.end]
                script = sum(r["cpu"] for r in mine if r["kind"] == "run")
                gc = sum(r["cpu"] for r in mine if r["kind"] == "gc")
                runs = sum(r["kind"] == "run" for r in mine)
                parts.append((runs, script, gc, v.loop, v.cpu - script - gc - v.loop, v.cpu))
            cols = [statistics.median(p[i] for p in parts) for i in range(6)]
            print(f"{MENU[path][1]:<14}{s.name:<12}{cols[0]:5g}" + "".join(f"{c:7.3f}" for c in cols[1:]))
            timed = func_times(records, s.views[path])
            for label, (calls, cpu) in sorted(timed.items(), key=lambda kv: -kv[1][1]):
                print(f"{'':<26}{cpu * 1000:7.1f} ms {calls:5.1f} calls  {label}")


def func_times(records: list[dict], views: list[View]) -> dict[str, tuple[float, float]]:
    """--funcs: per timed function, the median over views of (calls, thread CPU s) in a view's runs."""
    per_view = []
    for v in views:
        total: dict[str, list[float]] = {}
        for r in records:
            if r["kind"] == "run" and v.start <= r["t"] <= v.end:
                for label, (calls, cpu) in r.get("funcs", {}).items():
                    acc = total.setdefault(label, [0, 0.0])
                    acc[0] += calls
                    acc[1] += cpu
        per_view.append(total)
    labels = {label for total in per_view for label in total}
    return {label: (statistics.median(t.get(label, [0, 0.0])[0] for t in per_view),
                    statistics.median(t.get(label, [0, 0.0])[1] for t in per_view)) for label in labels}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", default=",".join(MENU), help="comma-separated url paths ('' or home: Home); "
                    "default: the whole menu")
    ap.add_argument("--repeats", type=int, default=3, help="measured views per page and server (median)")
    ap.add_argument("--visit", choices=("first", "tab"), default="first")
    ap.add_argument("--via", choices=("direct", "nginx"), default="direct",
                    help="nginx: each server behind deploy/nginx.conf (static files served by nginx)")
    ap.add_argument("--checkout", type=Path, action="append", default=[],
                    help="another checkout whose app.py to measure in the same run (repeatable)")
    ap.add_argument("--quiet-ms", type=int, default=1000, help="no rerun for this long ends a view")
    ap.add_argument("--trace", type=Path, help="folder for the servers' per-run trace (server_trace/)")
    ap.add_argument("--profile", action="store_true", help="with --trace: cProfile each script run")
    ap.add_argument("--funcs", default="", help="with --trace: module:function,... to time per run "
                    "(thread CPU and calls, inclusive)")
    ap.add_argument("--py-spy", type=Path, dest="py_spy", help="folder for py-spy records of the views")
    args = ap.parse_args()
    pages = ["" if p.strip() == "home" else p.strip() for p in args.pages.split(",")]
    if unknown := [p for p in pages if p not in MENU]:
        print(f"error: not pages of the menu: {unknown}; known: {list(MENU)}", file=sys.stderr)
        return 2
    for root in args.checkout:
        if not (root / "app.py").is_file():
            print(f"error: {root} holds no app.py", file=sys.stderr)
            return 2

    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="bench_page_cpu-"))
    roots = {"bare": write_bare_app(scratch / "bare_app"), "app": ROOT}
    roots.update({f"app@{root.resolve().name}": root.resolve() for root in args.checkout})
    servers = [Server(name, root, scratch, args.trace, args.profile, args.funcs)
               for name, root in roots.items()]
    try:
        for s in servers:
            s.app.wait_healthy(timeout=180)
            if args.via == "nginx":
                s.start_proxy(scratch)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            if args.visit == "tab":
                for s in servers:
                    s.browser = new_context(browser)
            idle = {s.name: s.idle_rate() for s in servers}
            if args.py_spy:  # the records then hold warm views only
                for path in pages:
                    for s in servers:
                        view(browser, s, path, args.quiet_ms)
                for s in servers:
                    start_py_spy(s, args.py_spy)
            for path in pages:
                for s in servers:  # warm-up: the page's first view on each server (imports, caches)
                    view(browser, s, path, args.quiet_ms)
                for _ in range(args.repeats):
                    for s in servers:  # alternately, so that all see the same machine state
                        s.views.setdefault(path, []).append(view(browser, s, path, args.quiet_ms))
                print(f"  {MENU[path][1]}: " + ", ".join(
                    f"{s.name} {[round(v.cpu, 2) for v in s.views[path]]}" for s in servers), flush=True)
            for s in servers:
                stop_py_spy(s)
            browser.close()
    finally:
        for s in servers:
            s.stop()
    report(servers, pages, args.repeats, args.visit, args.via)
    walls = [v.end - v.start - args.quiet_ms / 1000 for s in servers for vs in s.views.values() for v in vs]
    print("idle CPU with no page open (keeper, timers), CPU s per s: "
          + ", ".join(f"{name} {rate:.4f}" for name, rate in idle.items())
          + f"; a view lasts {statistics.median(walls):.2f} s + {args.quiet_ms / 1000:g} s quiet (median)")
    if args.trace:
        breakdown(servers, pages)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
