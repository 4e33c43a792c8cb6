"""The component's served folder under $VAE_HOME: its frontend, copied in, and the decoders published."""

# Streamlit's components v1 serve one folder per component (`declare_component(path=...)`) and refuse any
# file that resolves outside it, symlinks included, so the folder the browser fetches decoders from must
# hold real copies of the frontend beside them. The committed frontend (live_decoder/frontend/) is copied
# into settings.decoders_dir() ($VAE_HOME/decoders) the first time a process renders the component, and
# refreshed where a file differs; decoders and pads' points are published into its models/ folder. Nothing
# is written into the checkout. Where that folder cannot be written, the committed frontend is served as it
# is and publish() returns None: the decoder then travels as an argument.
#
# A published file's name starts with its decoder's id (a hash of the ONNX bytes, model_id_of), so the files
# of a decoder no model has any more can be found and removed: at once when its model is deleted, and by the
# keeper's clean-up (explorer.published).

from __future__ import annotations

import gzip
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import settings

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
PUBLISHED = "models"  # the published files' folder inside the served one: the iframe fetches models/<name>
_ID = re.compile(r"[0-9a-f]{16}")
_LOCK = threading.Lock()
_READY: set[Path] = set()  # served folders this process has copied the frontend into


def served_folder(refresh: bool = False) -> Path:
    """The folder the component is declared with: settings.decoders_dir() with the frontend copied in (once
    per process, or again with `refresh`), or the committed frontend itself where that cannot be written."""
    target = settings.decoders_dir()
    if target in _READY and not refresh and (target / "index.html").is_file():
        return target
    with _LOCK:
        try:
            _copy_frontend(target)
        except OSError as exc:
            print(f"Latent Explorer: cannot prepare the live decoder's folder {target} ({exc!r}); decoders "
                  "will travel with each page instead.", file=sys.stderr)
            return FRONTEND_DIR
        _READY.add(target)
    return target


def _copy_frontend(target: Path) -> None:
    """Make `target` hold the committed frontend's files: copy those missing or different (size, mtime), and
    remove files the frontend no longer has (an older ONNX Runtime Web), leaving the published ones."""
    wanted = set()
    for src in sorted(FRONTEND_DIR.rglob("*")):
        rel = src.relative_to(FRONTEND_DIR)
        if not src.is_file() or rel.parts[0] == PUBLISHED:  # (published here before $VAE_HOME existed)
            continue
        wanted.add(rel)
        dst, stat = target / rel, src.stat()
        try:
            same = (dst.stat().st_size, dst.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
        except FileNotFoundError:
            same = False
        if not same:
            dst.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".", suffix=".tmp")
            os.close(fd)
            shutil.copy2(src, tmp)  # with its mtime, which the next start compares
            os.replace(tmp, dst)  # atomic: a browser never fetches half a file
    for old in target.rglob("*"):
        rel = old.relative_to(target)
        if old.is_file() and rel.parts[0] != PUBLISHED and rel not in wanted:
            old.unlink(missing_ok=True)


def publish(name: str, content: Callable[[], bytes]) -> str | None:
    """Gzip `content()` into the served folder's models/ as `name`, once (content-addressed: an existing file
    is that content); its URL relative to the iframe, or None where the folder is not writable."""
    folder = served_folder()
    if folder == FRONTEND_DIR:
        return None
    path = folder / PUBLISHED / name
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(gzip.compress(content(), compresslevel=6, mtime=0))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)  # atomic: a browser never fetches half a file
        except OSError:
            return None
    return f"{PUBLISHED}/{name}"


def published_dir() -> Path:
    """Where published decoders and points are (whether or not this process has published any)."""
    return settings.decoders_dir() / PUBLISHED


def decoder_of(name: str) -> str:
    """The decoder id a published file belongs to ("" for a file that is not one of them)."""
    head = name.split(".", 1)[0]
    return head if _ID.fullmatch(head) else ""


def unpublish(decoder_ids: Iterable[str]) -> list[str]:
    """Remove every file published for these decoders (each decoder and its pads' points) at once; the names
    removed. The browser's URL for them then answers 404."""
    gone = set(decoder_ids)
    return _remove(lambda path: decoder_of(path.name) in gone)


def remove_unused(in_use: set[str], now: float | None = None, grace_s: float = 300.0) -> list[str]:
    """Remove the published files of decoders not in `in_use` (and half-written ones), if older than
    `grace_s`: a file a page published just now, for a model saved after `in_use` was listed, stays."""
    cutoff = (time.time() if now is None else now) - grace_s
    return _remove(lambda path: decoder_of(path.name) not in in_use and path.stat().st_mtime < cutoff)


def _remove(doomed: Callable[[Path], bool]) -> list[str]:
    folder, removed = published_dir(), []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            if path.is_file() and doomed(path):
                path.unlink()
                removed.append(path.name)
        except FileNotFoundError:  # another replica removed it first
            pass
    return removed
