"""Soak test: one user visits every page, uploads digits and switches models; prints the server's RSS."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

import settings  # noqa: E402
from scripts.harness import MENU, AppServer, exceptions, launch_chromium, wait_idle  # noqa: E402
from scripts.soak_memory import LEVEL_MIB, LEVEL_SHARE, Counts, Sampler, levelled_off  # noqa: E402

USAGE = """\
python scripts/soak.py [--minutes 20] [--every 30] [--ttl SECONDS] [--csv FILE] [--data-dir DIR] [--root DIR]

Starts `streamlit run app.py` on a free port and drives ONE user in headless Debian Chromium, round after
round: Home with a ?model= link (cycling through the four shipped bundles) or the Home model picker,
Latent map (clicks on the map; the 16-D model's map is its PCA view), Decoder (server slider key
presses), Encode (uploads of newly drawn digits), How it works, Train (view only). Pages are reached
alternately by a new page load (a new Streamlit session, kept TTL seconds after it is left) and by the
sidebar (the same session). Every --every seconds it prints the server's RSS (its whole process tree)
with the sizes the server itself reports at /_stcore/metrics (st.cache_data, media files, uploads), and at
the end whether RSS levelled off: the rise over the last half of the run against the first half's.
Exit status 0 when it levelled off and no action failed, 1 otherwise.
"""

MODELS = ["models/mnist-2d", "models/mnist-16d", "models/mnist-2d-course", "models/fashion-mnist-2d"]
# (url path, sidebar title); Home is the default page, at "".
PAGES = [("", "Home"), ("latent_map", "Latent map"), ("decoder", "Decoder"), ("encode", "Encode"),
         ("how_it_works", "How it works"), ("train", "Train")]
PLOT_AREA = "[data-testid='stPlotlyChart'] .nsewdrag"
SERVER_SLIDER = "[data-testid='stMain'] [data-testid='stSlider'] input[type='range'], "\
                "[data-testid='stMain'] [data-testid='stSlider'] [role='slider']"
UPLOAD = "[data-testid='stFileUploader'] input[type='file']"
SELECTBOX = "[data-testid='stSelectbox']"
# A folder of dataset folders (mnist/, ...), as the tests use: a folder of one dataset's IDX files would
# also be read for the other datasets.
_SHARED_DATA = ROOT.parent / "shared" / "data"
DATA_DIR = str(settings.data_dir() or "") or (str(_SHARED_DATA) if _SHARED_DATA.is_dir() else None)
# ----------------------------------------------------------------------------- the user


def digit_png(rng: np.random.Generator) -> bytes:
    """A new "handwritten" digit each call: a random digit in the default font, size, place, tilt and ink."""
    d = str(int(rng.integers(10)))
    size = int(rng.integers(120, 220))
    font = ImageFont.load_default(size=int(size * rng.uniform(0.55, 0.8)))
    dark_on_light = bool(rng.integers(2))
    paper, ink = (235, 20) if dark_on_light else (10, 245)
    img = Image.new("L", (size, size), paper)
    x, y = rng.uniform(0.15, 0.35, 2) * size
    ImageDraw.Draw(img).text((x, y - size * 0.1), d, fill=ink, font=font,
                             stroke_width=int(rng.integers(1, 5)), stroke_fill=ink)
    img = img.rotate(float(rng.uniform(-15, 15)), fillcolor=paper)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class User:
    """One person with one browser tab, going round the app until the deadline."""

    def __init__(self, page, url: str, counts: Counts, deadline: float, seed: int = 0):
        self.page, self.url, self.counts, self.deadline = page, url, counts, deadline
        self.rng = np.random.default_rng(seed)
        self.model = MODELS[0]  # a page load keeps the user's model, as a reload of the page's link does

    def time_left(self) -> bool:
        return time.monotonic() < self.deadline

    def _settle(self, what: str) -> None:
        wait_idle(self.page)
        found = exceptions(self.page)
        if found:
            first = found[0].splitlines()[0][:200]
            self.counts.failures.append(f"{what}: the app shows an exception: {first}")

    def load(self, path: str, model: str | None = None) -> None:
        """A new page load (a new Streamlit session), of the user's model or, switching, of `model`."""
        self.model = model or self.model
        query = f"?model={self.model}"
        self.page.goto(f"{self.url}/{path}{query}", wait_until="domcontentloaded")
        self.counts.visits += 1
        self.counts.loads += 1
        self._settle(f"/{path}{query}")

    def via_sidebar(self, title: str) -> None:
        """A page switch inside the same session."""
        self.page.locator(MENU, has_text=title).first.click()
        self.counts.visits += 1
        self._settle(f"sidebar {title}")

    def visit(self, path: str, title: str, reload: bool) -> None:
        if reload:
            self.load(path)
        else:
            self.via_sidebar(title)

    def pick_model_on_home(self, model: str) -> None:
        """The Home page's picker: open it and choose the bundle by its card's name (the picker's label)."""
        name = json.loads((ROOT / model / "card.json").read_text()).get("name") or Path(model).name
        self.page.locator(SELECTBOX).first.click()
        self.page.locator("[role='option']", has_text=name).first.click()
        self.model = model
        self.counts.switches += 1
        self._settle(f"Home picker -> {name}")

    def click_map(self, n: int = 2) -> None:
        """Clicks at random places in the map's plot area (on or near dots): a point's detail, or nothing."""
        area = self.page.locator(PLOT_AREA).first
        area.wait_for(timeout=60_000)
        for _ in range(n):
            box = area.bounding_box()
            if box is None:
                return
            fx, fy = self.rng.uniform(0.3, 0.7, 2)
            self.page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            self.counts.clicks += 1
            self._settle("Latent map click")

    def move_slider(self, presses: int = 3) -> None:
        slider = self.page.locator(SERVER_SLIDER).first
        slider.wait_for(timeout=60_000)
        slider.focus()
        key = "ArrowRight" if self.rng.integers(2) else "ArrowLeft"
        for _ in range(presses):
            self.page.keyboard.press(key)
            self.page.wait_for_timeout(150)
        self.counts.slider += 1
        self._settle("Decoder slider")

    def upload(self, n: int = 2) -> None:
        for _ in range(n):
            seed = int(self.rng.integers(1 << 30))
            self.page.locator(UPLOAD).set_input_files(
                {"name": f"digit-{seed}.png", "mimeType": "image/png", "buffer": digit_png(self.rng)})
            self.counts.uploads += 1
            self._settle("Encode upload")

    def round(self, r: int) -> None:
        """Every page once after a model switch; odd rounds load each page anew, even ones use the sidebar."""
        model = MODELS[r % len(MODELS)]
        reload = r % 2 == 1
        if reload or r == 0:
            switch = lambda: self.load("", model)  # noqa: E731
        else:  # on Home already: the last step of the round before
            switch = lambda: self.pick_model_on_home(model)  # noqa: E731
        steps = [
            ("switch model", switch),
            ("Latent map", lambda: (self.visit("latent_map", "Latent map", reload), self.click_map())),
            ("Decoder", lambda: (self.visit("decoder", "Decoder", reload), self.move_slider())),
            ("Encode", lambda: (self.visit("encode", "Encode", reload), self.upload())),
            ("How it works", lambda: self.visit("how_it_works", "How it works", reload)),
            ("Train", lambda: self.visit("train", "Train", reload)),
            ("Home", lambda: self.visit("", "Home", reload)),
        ]
        if reload:
            self.counts.switches += 1  # the ?model= link
        for name, step in steps:
            if not self.time_left():
                return
            try:
                step()
            except Exception as exc:  # a timeout or a missing element: note it and go on with a fresh load
                self.counts.failures.append(f"round {r}, {name}: {type(exc).__name__}: "
                                            f"{str(exc).splitlines()[0][:200]}")
                try:
                    self.load("", model)
                except Exception:
                    pass


def run(args) -> int:
    from playwright.sync_api import sync_playwright  # here: Playwright loads only when the browser runs

    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    env = {"VAE_HOME": str(logs / "home")}
    if args.data_dir:  # with the test images the map's detail, Encode's neighbours and How it works show them
        env["VAE_DATA_DIR"] = str(args.data_dir)
    if args.ttl is not None:
        env["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.ttl)
    server = AppServer(logs / "streamlit.log", env=env, root=args.root.resolve())
    counts = Counts()
    print(f"soak: {args.minutes:g} min, one user, RSS every {args.every:g} s; server log {server.log_path}",
          flush=True)
    try:
        server.wait_healthy(timeout=180)
        sampler = Sampler(server.proc.pid, server.url, counts, args.every, args.csv)
        deadline = time.monotonic() + args.minutes * 60
        sampler.start()
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(180_000)  # a loaded 2-core machine is slow
            user = User(context.new_page(), server.url, counts, deadline)
            r = 0
            while user.time_left():
                user.round(r)
                r += 1
            browser.close()
        sampler.stop.set()
        sampler.join()
    finally:
        server.stop()

    ok, first, last = levelled_off(sampler.rows)
    rss = [r[1] for r in sampler.rows]
    print(f"\n{r} rounds, {counts.actions()} actions ({counts.visits} page visits of which {counts.loads} "
          f"page loads, {counts.uploads} uploads, {counts.switches} model switches, {counts.clicks} map "
          f"clicks, {counts.slider} slider moves)")
    print(f"RSS MiB: start {rss[0]:.1f}, peak {max(rss):.1f}, end {rss[-1]:.1f}; rise over the first half "
          f"{first:+.1f}, over the last half {last:+.1f}")
    print(f"levelled off: {'yes' if ok else 'NO'} (the last half may add at most {LEVEL_SHARE:.0%} of the "
          f"first half's rise or {LEVEL_MIB:g} MiB)")
    print(f"failed actions: {len(counts.failures)}")
    for f in counts.failures[:30]:
        print("  " + f)
    return 0 if ok and not counts.failures else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, epilog=USAGE,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0, help="how long the user keeps going")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between RSS samples")
    ap.add_argument("--ttl", type=int, default=None,
                    help="server.disconnectedSessionTTL for the server, seconds (default: the app's own)")
    ap.add_argument("--csv", type=Path, default=None, help="also write the samples to this CSV file")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR,
                    help="the server's VAE_DATA_DIR (default: $VAE_DATA_DIR, else ../shared/data)")
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="run the app of this checkout (e.g. a copy, while the working tree is being edited)")
    args = ap.parse_args()
    if args.minutes <= 0 or args.every <= 0:
        ap.error("--minutes and --every must be positive")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
