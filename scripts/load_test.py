"""Load test: N users at once, each in its own browser context, moving Decoder sliders and uploading images.

    python scripts/load_test.py [--users 8] [--actions 12] [--ttl 10] [--url URL]

Starts `streamlit run app.py` on a free port, opens one headless Debian Chromium with N contexts
(separate cookies and sessions, like N people), and has every user open Decoder and Encode in two tabs,
then alternate: press a z slider on Decoder (timed to the decoded image's new src) and upload a new
hand-drawn digit on Encode (timed to its new z_mean on the page). Prints the errors (timeouts, Streamlit
exceptions, connection errors; must be 0), p50/p95 per kind of action, and the server's resident memory:
started, after one warm-up session, peak under load, when the users have closed their tabs, and once the
server has dropped their sessions (`server.disconnectedSessionTTL`, shortened to --ttl seconds so the
run does not wait the configured 300 s). With --url it drives an app that is already running instead (e.g.
replicas behind a load balancer: deploy/nginx.conf), and reports no memory.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from scripts.harness import CHROMIUM, CHROMIUM_ARGS, EXCEPTION, IDLE, AppServer  # noqa: E402

SLIDER = "[data-testid='stMain'] [data-testid='stSlider'] input[type='range']"
DECODED = "[data-testid='stMain'] [data-testid='stImage'] img"
UPLOAD = "[data-testid='stFileUploader'] input[type='file']"
Z_TEXT = "img[alt^='reconstruction: ']"  # Encode's reconstruction: its alt text names the upload's z_mean
TIMEOUT_MS = 120_000


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakMemory(threading.Thread):
    """Samples the server's RSS every 0.2 s; `peak` is the highest seen."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.2)


def digit_png(seed: int) -> bytes:
    """A different random pen stroke for every upload, so that every upload gives a new z_mean."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (160, 160), 240)
    pts = [tuple(p) for p in rng.uniform(30, 130, size=(int(rng.integers(3, 7)), 2))]
    ImageDraw.Draw(img).line(pts, fill=15, width=12, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def wait_idle(page, settle_ms: int = 300) -> None:
    """The script has run and stays finished (as tests/e2e.wait_idle, for the async API)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        await page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
        await page.wait_for_timeout(settle_ms)
        if await page.locator(IDLE).count():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not finish running")


async def page_errors(page) -> list[str]:
    found = [await e.inner_text() for e in await page.locator(EXCEPTION).all()]
    if await page.get_by_text("Connection error").count():
        found.append("Connection error dialog")
    return found


async def open_tab(ctx, url: str, times: dict, label: str):
    page = await ctx.new_page()
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit")
    await wait_idle(page)
    times[label].append(time.perf_counter() - t0)
    return page


async def move_slider(page, times: dict) -> None:
    before = await page.locator(DECODED).first.get_attribute("src")
    await page.locator(SLIDER).first.focus()
    t0 = time.perf_counter()
    await page.keyboard.press("ArrowRight")
    await page.wait_for_function("([sel, before]) => document.querySelector(sel)?.src !== before",
                                 arg=[DECODED, before], timeout=TIMEOUT_MS, polling=20)
    times["slider press -> new decoded image"].append(time.perf_counter() - t0)
    await wait_idle(page, settle_ms=100)


async def upload_digit(page, seed: int, times: dict) -> None:
    before = await page.evaluate(f"() => document.querySelector(\"{Z_TEXT}\")?.alt ?? null")
    t0 = time.perf_counter()
    await page.locator(UPLOAD).set_input_files({"name": f"digit-{seed}.png", "mimeType": "image/png",
                                                "buffer": digit_png(seed)})
    await page.wait_for_function(
        f"(before) => {{ const t = document.querySelector(\"{Z_TEXT}\")?.alt; "
        "return t !== undefined && t !== before; }",
        arg=before, timeout=TIMEOUT_MS, polling=20)
    times["upload -> its z_mean shown"].append(time.perf_counter() - t0)
    await wait_idle(page, settle_ms=100)


async def user(n: int, browser, url: str, actions: int, times: dict, errors: list[str]) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        decoder = await open_tab(ctx, f"{url}/decoder", times, "open Decoder")
        encode = await open_tab(ctx, f"{url}/encode", times, "open Encode")
        for a in range(actions):
            page = decoder if a % 2 == 0 else encode
            try:
                if page is decoder:
                    await move_slider(page, times)
                else:
                    await upload_digit(page, seed=1000 * (n + 1) + a, times=times)
            except Exception as e:  # a timeout is an error of the app under load, not of this script
                errors.append(f"user {n}, action {a}: {type(e).__name__}: {str(e).splitlines()[0]}")
            errors.extend(f"user {n}, action {a}: {msg.splitlines()[0]}" for msg in await page_errors(page))
    except Exception as e:
        errors.append(f"user {n}: {type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        await ctx.close()


async def run(args) -> int:
    from playwright.async_api import async_playwright  # here: Playwright loads only when the browser runs

    logs = Path(tempfile.mkdtemp(prefix="load_test-"))
    server = None if args.url else AppServer(
        logs / "streamlit.log", env={"VAE_HOME": str(logs / "home"),
                                     "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.ttl)})
    url = args.url.rstrip("/") if args.url else server.url
    rss = (lambda: rss_mib(server.proc.pid)) if server else (lambda: float("nan"))
    times: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    memory: list[tuple[str, float]] = []
    try:
        if server:
            server.wait_healthy(timeout=120)
        memory.append(("started (no session yet)", rss()))
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm: dict[str, list[float]] = defaultdict(list)  # caches filled by one user first
            await user(-1, browser, url, 2, warm, errors)
            memory.append(("after one warm-up user", rss()))
            peak = PeakMemory(server.proc.pid) if server else None
            if peak:
                peak.start()
            t0 = time.perf_counter()
            await asyncio.gather(*(user(n, browser, url, args.actions, times, errors)
                                   for n in range(args.users)))
            wall = time.perf_counter() - t0
            if peak:
                peak.running = False
                memory.append((f"peak with {args.users} users", peak.peak))
            memory.append(("users' tabs closed", rss()))
            await browser.close()
        if server:
            await asyncio.sleep(args.ttl + 5)  # the server drops sessions TTL s after they disconnect
            memory.append((f"{args.ttl} s later (sessions dropped)", rss()))
    finally:
        if server:
            server.stop()

    print(f"\n{args.users} users x {args.actions} actions (alternately slider press, upload) "
          f"in {wall:.1f} s on {url}")
    print(f"errors: {len(errors)}")
    for e in errors[:20]:
        print("  " + e)
    width = max(len(k) for k in times)
    print(f"\n{'seconds':<{width}} {'p50':>7} {'p95':>7} {'max':>7} {'n':>4}")
    for label, v in times.items():
        print(f"{label:<{width}} {np.median(v):7.3f} {np.percentile(v, 95):7.3f} {max(v):7.3f} {len(v):4d}")
    if server:
        print("\nserver memory (RSS, MiB)")
        for label, mib in memory:
            print(f"  {label:<34} {mib:7.1f}")
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=8, help="concurrent users (browser contexts)")
    ap.add_argument("--actions", type=int, default=12, help="actions per user, alternately slider and upload")
    ap.add_argument("--ttl", type=int, default=10, help="seconds the server keeps a closed tab's session")
    ap.add_argument("--url", help="drive this running app (e.g. replicas behind a balancer) instead of "
                                  "starting one; no memory figures")
    args = ap.parse_args()
    if args.users < 1 or args.actions < 1 or args.ttl < 0:
        ap.error("--users and --actions must be at least 1, --ttl at least 0")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
