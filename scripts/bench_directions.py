"""Issue 28's server-side figures: a direction over the 10,000 test encodings, and a 16-step interpolation.

    python scripts/bench_directions.py [--model models/mnist-2d] [--repeats 15]

Each figure is the median (and max) of --repeats runs in this process, computed afresh (no Streamlit cache):
- attribute direction: the four attributes of all 10,000 MNIST test images
  (vae.model.directions.image_attributes) plus one regression on z_mean with its held-out R²
  (attribute_direction); also the regression alone, as the page pays it once the attributes are cached;
- label direction: the difference of two labels' mean z_mean over the 10,000 codes;
- interpolation: a 16-step slerp path, its ONNX Runtime decodes (ServedModel.decode), the strip's PNG and the
  animated GIF's bytes: everything the Interpolate page's server does for one new path.
Goals (issue 28, item 4): a direction under 0.2 s, a 16-step interpolation under 0.2 s of server time.

    python scripts/bench_directions.py --browser [--model-id mnist-2d]

instead runs the app in Chromium (scripts/harness.py) and times, in the browser, the live decoder's work
per frame on the Decoder (window.__liveDecoderDecodeTimes: one decode and its drawing, back to back)
without a direction, then with a saved one (the image's frames, and the strip's batch of 7 decodes,
window.__liveDecoderStripTimes, which the browser redraws at most every 100 ms while z moves).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import directions as app_directions  # noqa: E402
from explorer import pictures as pics  # noqa: E402
from vae.bundles.serving import ServedModel  # noqa: E402
from vae.inputs.data import load_dataset  # noqa: E402
from vae.model import directions, interpolate  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (imports, ONNX Runtime's first run)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def browser(model_id: str, n: int = 200) -> None:
    """The live decoder's time per frame in Chromium, without and with the strip along a direction."""
    from playwright.sync_api import sync_playwright

    from scripts.harness import AppServer, component_frame, launch_chromium, wait_idle

    served = ServedModel(Path("models") / model_id)
    vector = ",".join("0.5" for _ in range(served.latent_dim))
    server = AppServer(Path("test-output") / "bench_directions.log")
    server.wait_healthy(timeout=90)
    try:
        with sync_playwright() as p:
            chromium = launch_chromium(p)
            with_strip = ("with the strip (7 steps)", f"&dirs=d~{vector}")
            for label, query in (("without a direction", ""), with_strip):
                page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{server.url}/decoder?model={model_id}{query}", wait_until="domcontentloaded")
                wait_idle(page)
                frame = component_frame(page)
                frame.evaluate("window.__liveDecoderDecodeTimes(20)")  # warm-up
                rows = [("image", sorted(frame.evaluate(f"window.__liveDecoderDecodeTimes({n})")))]
                if query:
                    rows.append(("strip", sorted(frame.evaluate(f"window.__liveDecoderStripTimes({n})"))))
                for what, times in rows:
                    p95 = times[int(0.95 * len(times))]
                    print(f"{label:28s} {what}: median {statistics.median(times):6.2f} ms, p95 {p95:6.2f} ms "
                          f"({len(times)} runs)")
                page.context.close()
            chromium.close()
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/mnist-2d")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--browser", action="store_true", help="time the live decoder's strip in Chromium")
    ap.add_argument("--model-id", default="mnist-2d", help="with --browser: the model's id")
    args = ap.parse_args()
    if args.browser:
        browser(args.model_id)
        return
    model = ServedModel(args.model)
    z_mean, labels = model.reference["z_mean"], model.reference["labels"]
    images = load_dataset("mnist", allow_download=False).x_test[..., 0]
    assert len(images) == len(z_mean) == 10_000, "needs the full MNIST test split beside the model's codes"
    values = directions.image_attributes(images)["slant"]

    rows = [
        ("attribute direction (4 attributes of 10,000 images + regression, R²)",
         lambda: directions.attribute_direction(z_mean, directions.image_attributes(images)["slant"])),
        ("  the regression alone (attributes cached)",
         lambda: directions.attribute_direction(z_mean, values)),
        ("label direction (two labels' mean z_mean)",
         lambda: directions.group_direction(z_mean[labels == 1], z_mean[labels == 7])),
    ]
    a, b = z_mean[0], z_mean[1]

    def interpolation() -> None:
        frames = model.decode(interpolate.path(a, b, 16, "spherical"))
        pics.to_png(pics.strip(frames), 3)
        app_directions.gif_bytes(frames)

    rows += [("16-step interpolation (slerp, decode, strip PNG, GIF)", interpolation),
             ("  its decodes alone", lambda: model.decode(interpolate.path(a, b, 16, "spherical")))]
    print(f"model {args.model} (latent_dim {model.latent_dim}), {args.repeats} runs each, seconds")
    print(f"{'what':60s} {'median':>8s} {'max':>8s}")
    for name, fn in rows:
        med, worst = timed(fn, args.repeats)
        print(f"{name:60s} {med:8.4f} {worst:8.4f}")


if __name__ == "__main__":
    main()
