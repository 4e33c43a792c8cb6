"""The queue's pause switch: a teacher holds every queued job (running ones go on) until it is resumed."""

# One file in the jobs folder, hidden from the job list (its name starts with a dot), so that every runner
# and replica sharing the folder honours it: while it exists, reconcile starts no queued job. It records
# when, and by whom (an owner id), for the teacher's page.

from __future__ import annotations

import time
from pathlib import Path

from vae.bundles.bundle import read_json, write_json

PAUSED = ".paused"


def paused(root: Path) -> dict | None:
    """{"since", "by"} while the queue is paused, else None."""
    try:
        meta = read_json(Path(root) / PAUSED)
    except ValueError:  # written atomically, so only a hand-made file: paused all the same
        meta = {}
    return None if meta is None else {"since": meta.get("since"), "by": meta.get("by")}


def set_paused(root: Path, pause: bool, by: str | None = None) -> None:
    """Pause the queue (no queued job starts) or resume it."""
    flag = Path(root) / PAUSED
    if pause:
        Path(root).mkdir(parents=True, exist_ok=True)
        write_json(flag, {"since": time.time(), "by": by})
    else:
        flag.unlink(missing_ok=True)
