"""A prepared dataset from a visitor's zip or the operator's folder: decode, fit, split, store (in a job)."""

# `python -m vae dataset …` runs this in its own process (a job), never in the web process. The checks are
# vae.inputs.image_zip's (the archive) and image_file's (each image). Every image is made the chosen size: a
# square centre crop (or the whole image padded to a square with its own edge colour), then resized with
# Lanczos; transparent pixels are laid on white. The test split is fixed by the files' names: a file is a test
# image when a salted hash of its name falls in the lowest sixth (a label of two or more keeps at least one on
# each side), so the same upload always splits the same way, adding files moves none, and the test files'
# names are recorded in split.json.
# Everything is written in a staging folder first (inside the job's folder), and moved into place only when it
# is complete: a refused upload leaves nothing outside the job's folder.

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vae.bundles.access import SERVER, set_owner, set_server_owned
from vae.inputs import image_zip, picture, prepared
from vae.inputs.image_file import ImageError, load_image
from vae.inputs.image_zip import DatasetRefused
from vae.plural import count

SIZES = {"28-grey": (28, 1), "32-colour": (32, 3), "64-colour": (64, 3)}
SIZE_NAMES = {"28-grey": "28×28 grey", "32-colour": "32×32 colour", "64-colour": "64×64 colour"}
FITS = picture.FITS
TEST_FRACTION = 1 / 6
SPLIT_SALT = "latent-explorer-split-1"
THUMBS = "thumbs.png"
SPLIT = "split.json"  # the test split's file names (dataset.json says how it was made; this file, which)
THUMBS_PER_LABEL = 8
THUMB_LABELS = 12
PROGRESS = "progress.json"
STATUS = "status.json"


def fit_image(img: Image.Image, size: str, fit: str) -> np.ndarray:
    """One image as uint8 (side, side, channels): transparency on white, cropped or padded square, resized
    (picture.fit_pixels: the same fitting Encode gives a picture for the model trained on it)."""
    side, channels = SIZES[size]
    return picture.fit_pixels(img, side, channels, fit)[1]


def _draw(name: str) -> float:
    """A file's fixed draw in [0, 1): a salted SHA-256 of its name in the upload."""
    return int(hashlib.sha256(f"{SPLIT_SALT}\0{name}".encode()).hexdigest()[:12], 16) / 16**12


def test_names(names: list[str]) -> set[str]:
    """One label's test files: those whose draw is under TEST_FRACTION, so a file's side depends on its own
    name alone (adding files moves none); a label of two or more files keeps at least one on each side."""
    draws = sorted(names, key=_draw)
    test = {n for n in draws if _draw(n) < TEST_FRACTION}
    if len(names) >= 2 and not test:
        test = {draws[0]}
    if len(names) >= 2 and len(test) == len(names):
        test.discard(draws[-1])
    return test


def prepare(found: image_zip.Found, reader, size: str, fit: str, progress=None) -> dict:
    """Decode every image `reader` yields and fit it; returns the arrays, labels, split and what was skipped.
    A decompression bomb refuses the whole upload; any other unusable file is skipped and counted."""
    if size not in SIZES or fit not in FITS:
        raise ValueError(f"size must be one of {', '.join(SIZES)} and fit one of {', '.join(FITS)}.")
    kept: dict[str, list[tuple[str, np.ndarray]]] = {label: [] for label in found.labels}
    for i, (entry, data) in enumerate(reader):
        if progress and i % 500 == 0:
            progress("preparing", 0.1 + 0.8 * i / max(len(found.entries), 1))
        if data is None:
            found.skip("larger than an image may be")
            continue
        try:
            kept[entry.label].append((entry.name, fit_image(load_image(data), size, fit)))
        except ImageError as exc:
            if "decompression bomb" in str(exc):
                raise DatasetRefused(f"'{image_zip.label_text(entry.name)}' is a decompression bomb (its "
                                     "dimensions are far too large to decode safely)") from None
            found.skip("not a readable image")
        except (OSError, ValueError, MemoryError):
            found.skip("not a readable image")
    labels = [label for label in found.labels if kept[label]]
    if not labels:
        skipped = sum(found.skipped.values())
        raise DatasetRefused(f"none of its {count(skipped, 'file')} could be read as an image")
    out = {"train": ([], []), "test": ([], [])}
    test_files = []
    for index, label in enumerate(labels):
        test = test_names([name for name, _ in kept[label]])
        for name, pixels in kept[label]:
            split = "test" if name in test else "train"
            out[split][0].append(pixels)
            out[split][1].append(index)
            if split == "test":
                test_files.append(name)
    side, channels = SIZES[size]
    arrays = {f"{k}_{s}": (np.stack(v[0]) if v[0] else np.zeros((0, side, side, channels), np.uint8))
              if k == "x" else np.asarray(v[1], np.int64) for s, v in out.items() for k in ("x", "y")}
    return {**arrays, "labels": labels, "test_files": sorted(test_files)}


def thumbnails(x: np.ndarray, y: np.ndarray, labels: list[str]) -> tuple[bytes, list[str]]:
    """A grid PNG: a row of up to THUMBS_PER_LABEL images for each of the first THUMB_LABELS labels, each
    drawn about 56 pixels wide or more; returns it with the labels of its rows, top to bottom."""
    rows = [i for i in range(len(labels)) if np.any(y == i)][:THUMB_LABELS]
    side, channels = x.shape[1], x.shape[3]
    scale = max(1, -(-56 // side))  # 28 and 32 pixels drawn twice as large, 64 as they are
    grid = np.full((len(rows) * (side + 2), THUMBS_PER_LABEL * (side + 2), channels), 255, np.uint8)
    for r, label in enumerate(rows):
        for c, image in enumerate(x[y == label][:THUMBS_PER_LABEL]):
            top, left = r * (side + 2) + 1, c * (side + 2) + 1
            grid[top:top + side, left:left + side] = image
    picture = Image.fromarray(grid[..., 0] if channels == 1 else grid)
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue(), [labels[i] for i in rows]


def build(source: str, *, size: str, fit: str, title: str, licence: str = "", kind: str = "upload",
          max_images: int = 20_000, max_bytes: int | None = None, progress=None) -> tuple[dict, dict, bytes]:
    """Check and prepare a zip (`kind` "upload") or a folder ("folder"): (meta, arrays, thumbnails PNG)."""
    started = time.time()
    if progress:
        progress("checking", 0.05)
    if kind == "upload":
        found = image_zip.scan_zip(source, max_images)
        reader = image_zip.read_zip(source, found)
    else:
        found = image_zip.scan_folder(source, max_images)
        reader = image_zip.read_folder(source, found)
    side, channels = SIZES[size]
    if max_bytes is not None and len(found.entries) * side * side * channels > max_bytes:
        raise DatasetRefused(f"its {count(len(found.entries), 'image')} at {SIZE_NAMES[size]} would take "
                             f"{len(found.entries) * side * side * channels / 2**20:.0f} MB, more than the "
                             f"{max_bytes / 2**20:.0f} MB left of your datasets' quota")
    arrays = prepare(found, reader, size, fit, progress)
    labels = arrays.pop("labels")
    test_files = arrays.pop("test_files")
    per_label = {label: {split: int(np.sum(arrays[f"y_{split}"] == i)) for split in ("train", "test")}
                 for i, label in enumerate(labels)}
    thumbs, thumb_rows = thumbnails(np.concatenate([arrays["x_train"], arrays["x_test"]]),
                                    np.concatenate([arrays["y_train"], arrays["y_test"]]), labels)
    meta = {
        "title": " ".join(title.split())[:80] or "My images", "labels": labels, "licence": licence[:200],
        "origin": "images uploaded by their owner" if kind == "upload" else "images on this server",
        "size": size, "fit": fit, "size_text": SIZE_NAMES[size], "fit_text": FITS[fit],
        "counts": per_label, "n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"]),
        "skipped": found.skipped, "unlabelled": labels == [image_zip.UNLABELLED] and len(labels) == 1,
        "split": {"test_fraction": round(TEST_FRACTION, 4), "by": "salted hash of each file's name",
                  "salt": SPLIT_SALT, "test_files_in": SPLIT},
        "thumbnail_rows": thumb_rows, "created": time.time(), "seconds": round(time.time() - started, 2),
    }
    return meta, {**arrays, "test_files": test_files}, thumbs


def store(meta: dict, arrays: dict, thumbs: bytes, out: Path, staging: Path, owner: str | None) -> Path:
    """Write the dataset in `staging` (its dataset.json last), give it its owner (SERVER: everyone's), then
    move it to `out` whole."""
    if out.exists():
        raise ValueError("A dataset of that id exists already.")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / SPLIT).write_text(json.dumps({"test_files": arrays["test_files"]}))
    (staging / THUMBS).write_bytes(thumbs)
    prepared.write(staging, meta, arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"])
    if owner == SERVER:
        set_server_owned(staging)
    elif owner:
        set_owner(staging, owner)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging, out)
    except OSError:  # another file system: copy, then remove the staging copy
        shutil.copytree(staging, out)
        shutil.rmtree(staging, ignore_errors=True)
    return out


def write_job_file(job_dir: Path | None, name: str, record: dict) -> None:
    """progress.json or status.json of a dataset job, written whole (a reader never sees half of it)."""
    if job_dir is None:
        return
    job_dir.mkdir(parents=True, exist_ok=True)
    tmp = job_dir / f".{name}.tmp"
    tmp.write_text(json.dumps(record))
    tmp.replace(job_dir / name)


def done_message(meta: dict) -> str:
    """What a finished job says: images, labels, size, what was skipped."""
    skipped = sum(meta["skipped"].values())
    return (f"Prepared {count(meta['n_train'] + meta['n_test'], 'image')} in "
            f"{count(len(meta['labels']), 'label')} at {meta['size_text']} ({meta['n_test']:,} for the test "
            f"split)" + (f"; {count(skipped, 'file')} skipped." if skipped else "."))


def run(source: str | Path, out: str | Path, *, shown: str, job_dir: str | Path | None = None,
        owner: str | None = None, **options) -> Path:
    """The dataset job: build (checks and preparation), then store at `out`; its stage in
    JOB_DIR/progress.json and how it ended in JOB_DIR/status.json (a refusal says why in one sentence,
    naming the file `shown`)."""
    from vae.importing.job import write_ended  # the import job's wording of a refusal or a failure

    out = Path(out)
    job_dir = Path(job_dir) if job_dir else None

    def progress(stage: str, fraction: float) -> None:
        write_job_file(job_dir, PROGRESS, {"stage": stage, "fraction": round(fraction, 3), "at": time.time()})

    try:
        try:
            meta, arrays, thumbs = build(str(source), progress=progress, **options)
        except DatasetRefused as exc:
            raise DatasetRefused(f"{shown}: {exc}") from None
        except MemoryError:  # the job's memory cap (python -m vae dataset --memory-mb)
            raise RuntimeError(f"{shown}: preparing these images needs more memory than a dataset job may "
                               "take on this server; try fewer images, or a smaller size.") from None
        progress("saving", 0.95)
        staging = job_dir / "dataset" if job_dir else out.with_name(f".{out.name}.staging")
        store(meta, arrays, thumbs, out, staging, owner)
    except BaseException as exc:
        if job_dir:
            write_ended(job_dir, exc)
        raise
    write_job_file(job_dir, STATUS, {"state": "done", "message": done_message(meta), "bundle": None,
                                     "dataset": out.name, "finished": time.time()})
    return out
