"""The `dataset` command: a zip or folder of a visitor's images, a folder per label, checked and prepared."""

from __future__ import annotations

import json
from pathlib import Path

from vae.inputs import own_images
from vae.inputs.own_images import FITS, SIZES


def add_parser(sub) -> None:
    """The dataset command: a zip (or a folder) of images, one folder per label, checked and prepared."""
    s = sub.add_parser("dataset", help="check and prepare a zip or folder of images (one folder per label)",
                       description="Check a zip (or folder) of images in Keras' image_dataset_from_directory "
                                   "layout, make every image the chosen size, split off a fixed test split "
                                   "and save the dataset (data.npz, dataset.json) as own/<folder name>.")
    s.add_argument("source", help="the .zip file, or with --folder a folder")
    s.add_argument("--folder", action="store_true",
                   help="the source is a folder (symbolic links not followed)")
    s.add_argument("--size", choices=list(SIZES), default="28-grey")
    s.add_argument("--fit", choices=list(FITS), default="crop")
    s.add_argument("--name", default="", help="the dataset's title")
    s.add_argument("--shown", help="the source's name in messages (default: its own)")
    s.add_argument("--licence", default="", help="the owner's licence line for the images")
    s.add_argument("--owner", help="the owner id to record (access.json); 'server': everyone's")
    s.add_argument("--max-images", type=int, default=20_000)
    s.add_argument("--max-mb", type=float, help="MB the prepared arrays may take")
    s.add_argument("--memory-mb", type=int, default=3072,
                   help="MB of memory this process may take while it decodes the images (0: no limit)")
    s.add_argument("--job-dir", help="folder for progress.json and status.json")
    s.add_argument("--out", required=True, help="the dataset folder to write (its name is the dataset's id)")


def run(args) -> int:
    """Check and prepare the images; print what was made."""
    if args.memory_mb:  # Pillow decodes a visitor's files here: a cap on this process's own memory, as an
        import resource  # import's sandbox has (RLIMIT_DATA: private memory, not reserved address space)

        limit = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    out = own_images.run(args.source, args.out, shown=args.shown or Path(args.source).name,
                         job_dir=args.job_dir, owner=args.owner, size=args.size, fit=args.fit,
                         title=args.name, licence=args.licence, kind="folder" if args.folder else "upload",
                         max_images=args.max_images,
                         max_bytes=None if args.max_mb is None else int(args.max_mb * 2**20))
    print(own_images.done_message(json.loads((out / "dataset.json").read_text())))
    return 0
