"""A bundle's access record (access.json): which visitor owns it, whether the class may see it, and whether a
teacher published it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vae.bundles.bundle import read_json_or_none, write_json

ACCESS = "access.json"
SERVER = "server"  # the owner of bundles made at the command line: the operator's, listed for everyone


@dataclass(frozen=True)
class Access:
    owner: str | None
    shared: bool = False
    created: float = 0.0
    published: bool = False  # shared by a teacher: listed for the class until a teacher withdraws it


def access(bundle: str | Path) -> Access:
    """Who owns a bundle and whether it is shared; Access(None) for a bundle nobody owns."""
    meta = _read_access(Path(bundle))
    if not isinstance(meta, dict) or not isinstance(meta.get("owner"), str):
        return Access(None)
    published = bool(meta.get("published", False))
    shared = bool(meta.get("shared", False)) or published
    return Access(meta["owner"], shared, float(meta.get("created", 0.0)), published)


def _read_access(bundle: Path):
    path = bundle / ACCESS
    return None if path.is_symlink() else read_json_or_none(path)


def set_owner(bundle: str | Path, owner: str) -> None:
    """Record the owner of a freshly saved bundle (not shared)."""
    write_json(Path(bundle) / ACCESS, {"owner": owner, "shared": False, "created": time.time()})


def set_server_owned(bundle: str | Path) -> None:
    """Mark a bundle made outside any job (the CLI) as the server's: everyone sees it; no visitor owns it."""
    write_json(Path(bundle) / ACCESS, {"owner": SERVER, "shared": True, "created": time.time()})
