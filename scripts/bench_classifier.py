"""Benchmark the classifier's view (issue 28): the Latent map's overlay grid, and the Decoder's live class
probabilities in headless Debian Chromium.

    nice -n 10 python scripts/bench_classifier.py [--trials 5] [--seconds 3] [--skip-browser]

Overlay: for each shipped model, the grid (class_overlay.GRID squared points of the map's default plane:
a 2-D model's own axes, the 16-D model's PCA plane) decoded and classified with nothing cached (each
trial a fresh model, as after a server start): median and max of --trials, wall clock and the CPU time
it used (on a shared machine the wall clock also counts other processes' turns); then the same through the
page's cache (classifier_view.overlay_of), its second call. Target: under 1 s first, cached after.
Live: the live decoder demo (live_decoder/demo_app.py) with the model's classifier and without it
(?classifier=0), the same in-page slider and pad drags as scripts/bench_live_decoder.py: decoded frames
per second, and decode (+ classify) time per frame. Target: 60 fps with the probabilities.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_live_decoder import synthetic_drag  # noqa: E402
from scripts.harness import LIVE_DEMO, AppServer, component_frame, launch_chromium  # noqa: E402


def overlay_times(model: str, trials: int) -> dict:
    """Seconds for the overlay with nothing cached (fresh model each trial), then a cache hit."""
    import numpy as np

    from explorer import class_overlay, geometry
    from explorer.models import handle_of
    from vae.bundles.bundle import SHIPPED_DIR
    from vae.bundles.serving import ServedModel

    path = SHIPPED_DIR / model
    first, cpu = [], []
    for _ in range(trials):
        served = ServedModel(path)  # fresh ONNX Runtime sessions: nothing warm
        z_mean = served.reference["z_mean"]
        started, cpu_started = time.perf_counter(), time.process_time()
        if served.latent_dim == 2:
            xy, to_z = z_mean, lambda p: p
        else:  # the map's default view of a model with more dimensions: the PCA plane
            mean = z_mean.mean(0)
            _, _, vt = np.linalg.svd(z_mean - mean, full_matrices=False)
            xy, to_z = (z_mean - mean) @ vt[:2].T, lambda p: mean + p @ vt[:2]
        x_range, y_range = geometry.data_ranges(xy)
        overlay = class_overlay.compute(served.decode, served.classifier.probabilities, to_z, x_range,
                                        y_range)
        first.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    cached = _cached_second_call(handle_of(path))
    return {"model": model, "cells": overlay.cols * overlay.rows, "first_median_s": statistics.median(first),
            "first_max_s": max(first), "first_cpu_median_s": statistics.median(cpu),
            "cached_s": cached, "unsure_share": overlay.unsure_share}


def _cached_second_call(handle) -> float:
    """The page's cached overlay (st.cache_data, outside a Streamlit run): the second call's seconds."""
    import logging

    from explorer.sections import classifier_view

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no script run context": expected here
    view = _default_view(handle)
    args = (handle, view.name, view.titles, tuple(view.x_range), tuple(view.y_range), view)
    classifier_view.overlay_of(*args)
    started = time.perf_counter()
    classifier_view.overlay_of(*args)
    return time.perf_counter() - started


def _default_view(handle):
    import streamlit as st

    from explorer.sections import latent_map

    st.session_state.clear()
    return latent_map.choose_view(handle)


def live_fps(model: str, seconds: float, hz: float) -> dict:
    """Frames per second and decode time per frame, with the classifier and without it."""
    from playwright.sync_api import sync_playwright

    out = {}
    logs = Path(tempfile.mkdtemp(prefix="bench_classifier-"))
    with AppServer(logs / "streamlit.log", script=LIVE_DEMO) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        for with_classifier in (False, True, False, True):  # alternated: a drifting load hits both alike
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.set_default_timeout(180_000)
            page.goto(f"{url}/?model={model}&classifier={int(with_classifier)}")
            frame = component_frame(page, 600_000)
            if with_classifier:
                frame.wait_for_function("window.__liveDecoderProbabilities() !== null", timeout=120_000)
            name = "with" if with_classifier else "without"
            for kind in ("slider", "pad"):
                if kind == "pad" and not frame.locator("#padwrap").is_visible():
                    continue
                result = synthetic_drag(frame, kind, seconds, hz)
                out.setdefault(f"{kind} {name}", []).append(result)
            times = frame.evaluate("window.__liveDecoderDecodeTimes(200)")
            out.setdefault(f"back-to-back {name}", []).append(statistics.median(times))
            page.close()
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--hz", type=float, default=240.0)
    ap.add_argument("--models", nargs="+", default=["mnist-2d", "mnist-2d-course", "mnist-16d",
                                                     "fashion-mnist-2d"])
    ap.add_argument("--live-model", default="mnist-2d")
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {[round(x, 2) for x in os.getloadavg()]}")
    print("overlay grid (nothing cached: fresh model each trial; then the page's cache, 2nd call)")
    for model in args.models:
        r = overlay_times(model, args.trials)
        ok = "OK" if r["first_median_s"] < 1 else "over 1 s"
        print(f"  {r['model']:18s} {r['cells']:5d} cells: first {r['first_median_s']:.2f} s median "
              f"(max {r['first_max_s']:.2f} s) [{ok}], {r['first_cpu_median_s']:.2f} s of CPU; "
              f"cached {1000 * r['cached_s']:.2f} ms "
              f"({r['first_median_s'] / max(r['cached_s'], 1e-9):,.0f}x faster); "
              f"{r['unsure_share']:.0%} of cells under 50%")
    if args.skip_browser:
        return 0
    live = live_fps(args.live_model, args.seconds, args.hz)
    print(f"live decoder, {args.live_model}, in-page input at {args.hz:.0f} Hz for {args.seconds} s "
          "(2 runs each, alternated; medians)")
    for kind in ("slider", "pad"):
        rows = {name: live.get(f"{kind} {name}") for name in ("without", "with")}
        if not rows["with"]:
            continue
        fps = {name: statistics.median(r["fps"] for r in rs) for name, rs in rows.items()}
        dec = {name: statistics.median(r["decode_p50_ms"] for r in rs) for name, rs in rows.items()}
        p95 = {name: statistics.median(r["decode_p95_ms"] for r in rs) for name, rs in rows.items()}
        print(f"  {kind:6s}: {fps['without']:.1f} fps without the classifier, {fps['with']:.1f} fps with it "
              f"(ratio {fps['with'] / max(fps['without'], 1e-9):.2f}); decode per frame p50 "
              f"{dec['without']:.2f} -> {dec['with']:.2f} ms, "
              f"p95 {p95['without']:.2f} -> {p95['with']:.2f} ms")
    b2b = {name: statistics.median(live[f"back-to-back {name}"]) for name in ("without", "with")}
    print(f"  back-to-back decode+draw(+classify), median: {b2b['without']:.2f} ms without, "
          f"{b2b['with']:.2f} ms with (+{b2b['with'] - b2b['without']:.2f} ms a frame)")
    print(f"load average after {[round(x, 2) for x in os.getloadavg()]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
