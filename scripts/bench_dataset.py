"""Benchmark a dataset job: the time to check and prepare 10,000 images (issue 27, item 4).

    nice -n 10 python scripts/bench_dataset.py [--images 10000] [--repeats 3]

Two zips are made in a scratch folder: MNIST's 10,000 test digits as 28×28 grey PNGs in one folder per label
(scikit-learn's digits, repeated, where MNIST is not on this machine), and 10,000 coloured shapes drawn with
Pillow (64×48 PNGs, three label folders). Each is checked and prepared by the job's own code
(vae.inputs.own_images.run, in this process, one thread) at each size it suits: the checks before decoding
(members, sizes, paths, ratio: image_zip.scan_zip), the decoding, fitting and split (own_images.build, which
includes the scan) and the whole job (build and store: data.npz, dataset.json, thumbnails). Prints the
medians; then one run of the job as the Train page starts it (`python -m vae dataset`, a new process).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def mnist_files(n: int, data_dir: str | None) -> tuple[dict[str, bytes], str]:
    """n test digits as PNG files in label folders, and where they came from."""
    from PIL import Image

    from tests.support.image_folders import png
    from vae.inputs.data import DataUnavailable, load_dataset

    try:
        data = load_dataset("mnist", data_dir)
        x, y, source = data.x_test, data.y_test, "MNIST's test digits"
    except (DataUnavailable, ValueError, OSError):
        data = load_dataset("digits")
        x, y, source = data.x_train, data.y_train, "scikit-learn's digits, repeated"
    reps = -(-n // len(x))
    x, y = np.concatenate([x] * reps)[:n], np.concatenate([y] * reps)[:n]
    return {f"digits/{label}/{i:05d}.png": png(Image.fromarray(np.uint8(np.round(img[..., 0] * 255))))
            for i, (img, label) in enumerate(zip(x, y))}, source


def shapes(n: int) -> dict[str, bytes]:
    from tests.support.image_folders import SHAPES, png, shape_image

    return {f"shapes/{SHAPES[i % 3]}/{i:05d}.png": png(shape_image(SHAPES[i % 3], i)) for i in range(n)}


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    shared = ROOT.parent / "shared" / "data"  # the workplace's copy of MNIST, if there is one
    parser.add_argument("--data-dir", default=str(shared) if shared.is_dir() else None,
                        help="the IDX files' folder (default: $VAE_DATA_DIR, or ../shared/data)")
    args = parser.parse_args()

    from tests.support.image_folders import zip_bytes
    from vae.inputs import image_zip, own_images

    scratch = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    digits, source = mnist_files(args.images, args.data_dir)
    cases = [("digits", digits, ("28-grey", "32-colour", "64-colour")),
             ("shapes", shapes(args.images), ("32-colour", "64-colour"))]
    print(f"{args.images:,} images each: {source} (28×28 grey PNG) and coloured shapes (64×48 PNG); "
          f"median of {args.repeats} runs, one thread\n")
    print("| zip | zip MB | size | checks (scan) s | check + prepare s | whole job s | whole job CPU s | "
          "CPU ms per image |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, files, sizes in cases:
        path = scratch / f"{name}.zip"
        path.write_bytes(zip_bytes(files))
        scan = statistics.median(timed(lambda: image_zip.scan_zip(path, 60_000))[0]
                                 for _ in range(args.repeats))
        for size in sizes:
            builds, jobs, cpus = [], [], []
            for r in range(args.repeats):
                builds.append(timed(lambda: own_images.build(str(path), size=size, fit="crop",
                                                             title=name))[0])
                out = scratch / "datasets" / f"{name}-{size}-{r}"
                wall, cpu = timed(lambda: own_images.run(path, out, shown=path.name, job_dir=scratch / "job",
                                                         owner="u-bench", size=size, fit="crop", title=name))
                jobs.append(wall)
                cpus.append(cpu)
            build, job, cpu = statistics.median(builds), statistics.median(jobs), statistics.median(cpus)
            print(f"| {name} | {path.stat().st_size / 2**20:.1f} | {size} | {scan:.2f} | {build:.2f} | "
                  f"{job:.2f} | {cpu:.2f} | {1000 * cpu / args.images:.2f} |", flush=True)
    path = scratch / "digits.zip"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vae", "dataset", str(path),
                    "--out", str(scratch / "datasets" / "cli"), "--job-dir", str(scratch / "cli-job")],
                   check=True, cwd=ROOT, capture_output=True)
    print(f"\nThe job as the Train page starts it (`python -m vae dataset`, digits at 28-grey, one run, a "
          f"new process): {time.perf_counter() - start:.2f} s wall")


if __name__ == "__main__":
    main()
