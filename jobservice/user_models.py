"""Visitors' model bundles: who owns each, whether the class may see it, quotas, deletion and clean-up."""

# Each bundle trained or imported for a visitor sits in its own folder under the user-models root, with an
# `access.json` beside its model files: {"owner": ..., "shared": false, "created": ...}. The owner is an
# opaque id (explorer.visitors makes it: a hash of the visitor's cookie, login or proxy identity). A bundle
# without one (copied in by hand, or from before owners existed) belongs to nobody and is listed for nobody;
# one the command line made belongs to SERVER and is listed for everyone, read-only.
# Nothing here imports Streamlit or TensorFlow.

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vae.bundles.access import (  # noqa: F401  (the job service's and pages' user_models.access, SERVER, ...)
    ACCESS,
    SERVER,
    Access,
    access,
    set_owner,
    set_server_owned,
)
from vae.bundles.bundle import list_bundles, read_json_or_none, write_json

VISITORS = ".visitors"  # one empty file per owner id, touched when they visit: when they were last seen


class NotYours(PermissionError):
    """Only a model's (or job's) owner may change or delete it."""


def set_shared(bundle: str | Path, owner: str, shared: bool) -> None:
    """Share a model with the class, or stop sharing it: only its owner may, and not one a teacher
    published (it stays listed until a teacher withdraws it)."""
    now = _owned(bundle, owner)
    if now.published and not shared:
        raise NotYours("Your teacher published this model to the class: ask them to withdraw it.")
    _write_access(bundle, now, shared=bool(shared))


def set_published(bundle: str | Path, published: bool) -> None:
    """A teacher publishes a model to the class (shared, read-only for everyone but its owner), or withdraws
    it (no longer shared). The caller checks that a teacher asks (explorer.teachers)."""
    now = access(bundle)
    if now.owner is None:
        raise NotYours("This model belongs to nobody on this server; it cannot be published.")
    _write_access(bundle, now, shared=bool(published), published=bool(published))


def _write_access(bundle: str | Path, now: Access, *, shared: bool, published: bool | None = None) -> None:
    record = {"owner": now.owner, "shared": shared, "created": now.created}
    if now.published if published is None else published:
        record["published"] = True
    write_json(Path(bundle) / ACCESS, record)


def delete(bundle: str | Path, owner: str) -> None:
    """Delete a model: only its owner may (a teacher's page, and the quota at a job's end, call remove)."""
    _owned(bundle, owner)
    remove(bundle)


def remove(bundle: str | Path) -> None:
    """Remove a bundle (or a job's or dataset's folder), whoever owns it. It is renamed aside first, so no
    reader sees half of it; one already gone is fine."""
    bundle = Path(bundle)
    aside = bundle.with_name(f".{bundle.name}.deleted-{os.getpid()}")
    try:
        os.rename(bundle, aside)
    except FileNotFoundError:
        return  # deleted meanwhile (its owner on Home, a teacher in another tab): what was asked is done
    shutil.rmtree(aside, ignore_errors=True)


def _owned(bundle: str | Path, owner: str) -> Access:
    now = access(bundle)
    if not owner or now.owner != owner:
        raise NotYours("Only the model's owner can change or delete it.")
    return now


def bundles(root: str | Path) -> list[tuple[Path, Access]]:
    """Every complete bundle under the root with its access record (ownerless ones included)."""
    return [(p, access(p)) for p in list_bundles(root)]


def visible(root: str | Path, owner: str | None) -> list[tuple[Path, Access]]:
    """The bundles a visitor may open: their own, and those their owners shared with the class."""
    return [(p, a) for p, a in bundles(root) if a.owner is not None and (a.owner == owner or a.shared)]


@dataclass(frozen=True)
class Usage:
    models: int
    bytes: int


def usage(root: str | Path, owner: str) -> Usage:
    """How many models an owner keeps under the root, and their size on disk."""
    mine = [p for p, a in bundles(root) if a.owner == owner]
    return Usage(len(mine), sum(folder_bytes(p) for p in mine))


def mb(n: float) -> str:
    """Bytes in whole MB (MiB), as every quota's sentence says them: "1,024 MB"."""
    return f"{n / 2**20:,.0f} MB"


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def touch_visitor(root: str | Path, owner: str, name: str | None = None) -> None:
    """Note that a visitor is active now (for the idle clean-up), with the name a signed-in user goes by
    (for a teacher's page)."""
    folder = Path(root) / VISITORS
    folder.mkdir(parents=True, exist_ok=True)
    if name:
        write_json(folder / _safe(owner), {"name": str(name)[:200]})
    else:
        (folder / _safe(owner)).touch()


def visitor_name(root: str | Path, owner: str) -> str | None:
    """The name a signed-in visitor last went by, if one was noted."""
    try:
        meta = read_json_or_none(Path(root) / VISITORS / _safe(owner))  # an empty file: a visit, no name
    except ValueError:  # not an owner id
        return None
    return meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else None


def last_seen(root: str | Path, owner: str) -> float | None:
    try:
        return (Path(root) / VISITORS / _safe(owner)).stat().st_mtime
    except OSError:
        return None


def remove_idle(root: str | Path, idle_days: float, now: float | None = None) -> list[Path]:
    """Delete the unshared models of visitors not seen for `idle_days` (0 or less: keep everything)."""
    if idle_days <= 0:
        return []
    now = time.time() if now is None else now
    removed = []
    for path, acc in bundles(root):
        if acc.owner is None or acc.shared:
            continue
        seen = max(last_seen(root, acc.owner) or 0.0, acc.created)
        if now - seen > idle_days * 86400:
            delete(path, acc.owner)
            removed.append(path)
    return removed


def _safe(owner: str) -> str:
    """Owner ids are made by explorer.visitors ("v-1a2b…"); anything else cannot name a file outside."""
    if not owner or not all(c.isalnum() or c in "-_" for c in owner):
        raise ValueError("not an owner id")
    return owner
