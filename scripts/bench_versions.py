"""Two versions of the app side by side in one run: the same pages reloaded alternately on both.

    git worktree add /tmp/before <commit>   # a checkout beside this one (its ../shared data as well)
    python scripts/bench_versions.py --before /tmp/before [--pages latent_map,how_it_works] [--reloads 7]
        [--presses 30] [--scale 2]

Starts `streamlit run app.py` in each checkout, then in one headless Debian Chromium loads each page
on each server in turn, so that both versions see the same machine state; prints per page and
version the medians of bench_app.py's page clock (script done, charts built, everything drawn) and
the ratio now / before; with --presses, Decoder slider key presses timed as bench_app.py times
them, in alternating rounds of three. Absolute figures run higher than bench_app's: two servers
share the cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_app import PAGE_CLOCK, key_presses  # noqa: E402

from scripts.harness import AppServer, launch_chromium, wait_idle  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, type=Path, help="the other checkout (e.g. a git worktree)")
    ap.add_argument("--pages", default="latent_map,how_it_works", help="comma-separated url paths")
    ap.add_argument("--reloads", type=int, default=7)
    ap.add_argument("--presses", type=int, default=0,
                    help="also Decoder slider key presses per version, alternating in rounds of 3")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="the screen's device pixel ratio (2 for a HiDPI screen)")
    args = ap.parse_args()
    if not (args.before / "app.py").is_file():
        print(f"error: {args.before} holds no app.py", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright  # here: Playwright loads only when the browser runs

    logs = Path(tempfile.mkdtemp(prefix="bench_versions-"))
    servers = {name: AppServer(logs / f"{name}.log", env={"VAE_HOME": str(logs / name / "home"),
                                                                "VAE_USER_MODELS": str(logs / name / "user")},
                               root=root)
               for name, root in (("before", args.before.resolve()), ("now", ROOT))}
    clocks: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    presses: dict[str, list[float]] = {}
    try:
        for server in servers.values():
            server.wait_healthy(timeout=120)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      device_scale_factor=args.scale)
            ctx.add_init_script(PAGE_CLOCK)
            page = ctx.new_page()
            for path in args.pages.split(","):
                for server in servers.values():  # warm both servers' caches first
                    page.goto(f"{server.url}/{path}")
                    wait_idle(page)
                for _ in range(args.reloads):
                    for name, server in servers.items():
                        c = {"idle": None}
                        for _ in range(3):  # a load whose finished state the clock missed is taken again
                            page.goto(f"{server.url}/{path}")
                            wait_idle(page)
                            c = page.evaluate("window.__load")
                            if c["idle"] is not None:
                                break
                        charts = max(c["idle"], c["charts"] or 0)
                        clocks.setdefault((path, name), []).append(
                            (c["idle"], charts, max(charts, c["images"] or 0)))
            for _ in range(0, args.presses, 3):
                for name, server in servers.items():
                    page.goto(f"{server.url}/decoder")
                    wait_idle(page)
                    for label, values in key_presses(page, 3, name):
                        presses.setdefault(label, []).extend(values)
            browser.close()
    finally:
        for server in servers.values():
            server.stop()

    print(f"\n{'page':<14} {'version':<7} {'script done':>12} {'charts built':>13} {'all drawn':>10}   "
          f"(medians, s, {args.reloads} reloads)")
    for path in args.pages.split(","):
        medians = {}
        for name in servers:
            medians[name] = [statistics.median(v[k] for v in clocks[(path, name)]) / 1000 for k in range(3)]
            done, charts, drawn = medians[name]
            print(f"{path:<14} {name:<7} {done:12.3f} {charts:13.3f} {drawn:10.3f}")
        ratio = [n / b for n, b in zip(medians["now"], medians["before"])]
        print(f"{path:<14} {'ratio':<7} {ratio[0]:12.2f} {ratio[1]:13.2f} {ratio[2]:10.2f}")
    if presses:
        print(f"\n{'Decoder slider, live decoding on (s)':<50} {'median':>7} {'p95':>7} {'n':>4}")
        for label, values in presses.items():
            median, p95 = statistics.median(values), np.percentile(values, 95)
            print(f"{label:<50} {median:7.3f} {p95:7.3f} {len(values):4d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
