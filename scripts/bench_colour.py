"""Colour and larger images (issue 27, item 4): training throughput per preset, the ELBO reached on coloured
shapes, and the live decoder's frame rate for a 64x64x3 decoder in headless Chromium.

Prints, from one run on this machine:
1. Training images per second of each preset at its image size (default 28x28x1 on scikit-learn's digits
   brought to 28x28, colour 32x32x3 and 64x64x3 on coloured shapes drawn with Pillow), the median of
   --repeats epochs after a warm-up epoch, and each against the 28x28 default's.
2. The test negative ELBO (nats per image) each colour model reaches in --epochs epochs on the shapes, beside
   the same for a model that knows only the training set's mean pixel values (every image decoded to the
   mean), and per pixel value.
3. With --browser: the live decoder dragged for --seconds in Chromium (in-page input events, as
   bench_live_decoder.py's synthetic drags) on the Decoder page, for the 64x64x3 model and the shipped
   mnist-2d side by side: decoded frames per second, input-to-painted latency and decode time.

Usage: nice -n 10 python scripts/bench_colour.py [--epochs 8] [--threads 2] [--browser] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def throughput(cfg, x: np.ndarray, repeats: int, batch: int) -> float:
    """Median images per second of VAE.train_step inside Keras fit, over `repeats` epochs after a warm-up."""
    import keras

    from vae.model.presets import build_vae

    vae = build_vae(cfg, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x, epochs=1, batch_size=batch, verbose=0)  # warm-up: tracing and the first allocations
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        vae.fit(x, epochs=1, batch_size=batch, verbose=0)
        rates.append(len(x) / (time.perf_counter() - t0))
    return statistics.median(rates)


def mean_image_nats(x_train: np.ndarray, x_test: np.ndarray) -> float:
    """The Bernoulli negative log-likelihood (nats per image) of the test images under the training set's mean
    pixel values: what a model that learnt nothing but the average image scores, with no KL."""
    p = np.clip(x_train.mean(axis=0, dtype=np.float64), 1e-6, 1 - 1e-6)
    nll = -(x_test * np.log(p) + (1 - x_test) * np.log1p(-p))
    return float(nll.reshape(len(x_test), -1).sum(axis=1).mean())


def live_fps(bundle: Path, home: Path, seconds: float, hz: float) -> dict:
    """The live decoder on the app's Decoder page for `bundle` (listed as user/bench) and for mnist-2d."""
    import shutil

    from playwright.sync_api import sync_playwright

    from scripts.bench_live_decoder import synthetic_drag
    from scripts.harness import AppServer, component_frame, launch_chromium

    models = home / "bench-models"
    shutil.copytree(bundle, models / "bench", dirs_exist_ok=True)
    out = {}
    env = {"VAE_HOME": str(home), "VAE_USER_MODELS": str(models)}
    with AppServer(home / "streamlit.log", env=env) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        for name, model in (("colour 64x64x3", "user/bench"), ("mnist-2d 28x28", "mnist-2d")):
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.set_default_timeout(300_000)
            page.goto(f"{url}/decoder?model={model}", wait_until="domcontentloaded")
            frame = component_frame(page, 300_000)
            if frame.evaluate("window.__liveDecoderStatus") != "ready":
                out[name] = {"error": frame.evaluate("window.__liveDecoderError")}
                continue
            times = frame.evaluate("window.__liveDecoderDecodeTimes(200)")
            out[name] = {"decode_back_to_back_p50_ms": round(float(np.median(times)), 2),
                         "pad": synthetic_drag(frame, "pad", seconds, hz),
                         "slider": synthetic_drag(frame, "slider", seconds, hz)}
            page.close()
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=2000, help="coloured shapes to train on, per size")
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=8, help="epochs of each colour model for the ELBO")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed epochs per preset for the throughput (0: no throughput)")
    ap.add_argument("--sides", default="32,64", help="the colour sizes to train for the ELBO")
    ap.add_argument("--elbo-batch", type=int, default=64, help="batch size of the ELBO runs")
    ap.add_argument("--learning-rate", type=float, default=1e-3, help="of the ELBO runs")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--browser", action="store_true", help="also time the live decoder in Chromium")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--hz", type=float, default=240.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench_colour-"))
    os.environ["VAE_HOME"] = str(home)  # the datasets and bundles of this run, never the operator's
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tests.support.colour import make_shapes_dataset
    from vae.inputs.data import load_dataset
    from vae.model.config import ModelConfig
    from vae.model.train import train
    from vae.model.training_config import TrainingConfig

    out: dict = {"cpus": os.cpu_count(), "threads": args.threads,
                 "loadavg": [round(v, 2) for v in os.getloadavg()]}
    names = {side: make_shapes_dataset(f"bench{side}", side, args.n_train, args.n_test) for side in (32, 64)}
    if args.repeats:
        digits = load_dataset("digits")
        out["throughput_images_per_s"] = rates = {
            "default 28x28x1": throughput(ModelConfig(), digits.x_train[:args.n_train], args.repeats,
                                          args.batch_size)}
        for side in (32, 64):
            x = load_dataset(names[side]).x_train
            cfg = ModelConfig(preset="colour", image_shape=(side, side, 3))
            rates[f"colour {side}x{side}x3"] = throughput(cfg, x, args.repeats, args.batch_size)
        base = rates["default 28x28x1"]
        for name, rate in rates.items():
            print(f"training {name:18s}: {rate:8.0f} images/s  ({rate / base:.2f} x the 28x28 default's)")

    out["elbo"] = {}
    bundles = {}
    for side in (int(v) for v in args.sides.split(",")):
        config = TrainingConfig(dataset=names[side], preset="colour", epochs=args.epochs, latent_dim=16,
                                batch_size=args.elbo_batch, learning_rate=args.learning_rate)
        t0 = time.perf_counter()
        bundles[side] = train(config, out=home / f"colour{side}", verbose=0, replay=False)
        seconds = time.perf_counter() - t0
        card = json.loads((bundles[side] / "card.json").read_text())
        data = load_dataset(names[side])
        values = int(np.prod(data.image_shape))
        neg_elbo = card["test_metrics"]["neg_elbo"]
        mean_only = mean_image_nats(data.x_train, data.x_test)
        out["elbo"][f"{side}x{side}x3"] = {"neg_elbo": round(neg_elbo, 1), "mean_image": round(mean_only, 1),
                                           "per_value": round(neg_elbo / values, 4),
                                           "seconds": round(seconds)}
        print(f"colour {side}x{side}x3, latent 16, {args.epochs} epochs (batch {args.elbo_batch}, learning "
              f"rate {args.learning_rate:g}) on {args.n_train} shapes "
              f"({seconds:.0f} s): "
              f"test negative ELBO {neg_elbo:.1f} nats per image ({neg_elbo / values:.4f} per value); "
              f"the mean image alone: {mean_only:.1f} ({neg_elbo / mean_only:.2f} x)")
    if args.browser and 64 in bundles:
        out["live"] = live = live_fps(bundles[64], home, args.seconds, args.hz)
        for name, r in live.items():
            if "error" in r:
                print(f"live decoder {name}: failed ({r['error']})")
                continue
            for kind in ("pad", "slider"):
                s = r[kind]
                print(f"live decoder {name} ({kind}, in-page events): {s['fps']:.1f} fps, input->painted "
                      f"p50 {s['latency_p50_ms']} ms, p95 {s['latency_p95_ms']} ms; "
                      f"decode p50 {s['decode_p50_ms']} ms")
    out["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
