"""Prepared datasets on this server: whose each is, who may train on it, quotas, sharing and deletion."""

# Each prepared dataset is a folder under settings.datasets_dir() (vae.inputs.prepared), named by its id and
# holding an `access.json` like a bundle's (vae.bundles.access): a visitor's upload is theirs alone until they
# share it with the class; the operator's VAE_DATASET_FOLDERS, prepared on first use, belong to SERVER and
# every visitor may train on them. Visitors name a dataset by its id ("own/<id>"), never by a path; the web
# process checks here, when a job is submitted, that the visitor may use it. Nothing here imports Streamlit or
# TensorFlow.

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import settings
from jobservice.user_models import (  # noqa: F401 (set_shared: the pages')
    NotYours,
    folder_bytes,
    last_seen,
    mb,
    remove,
    set_shared,
)
from vae.bundles.access import SERVER, Access, access
from vae.bundles.bundle import read_json_or_none
from vae.inputs import prepared
from vae.plural import count


@dataclass(frozen=True)
class OwnDataset:
    """A prepared dataset as a visitor sees it: its name for jobs, its dataset.json, who owns it."""

    id: str
    folder: Path
    meta: dict
    access: Access

    @property
    def name(self) -> str:
        return prepared.PREFIX + self.id

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.id)

    @property
    def images(self) -> int:
        return int(self.meta.get("n_train", 0)) + int(self.meta.get("n_test", 0))

    def mine(self, owner: str | None) -> bool:
        return owner is not None and self.access.owner == owner

    def usable_by(self, owner: str | None) -> bool:
        """Its owner, anyone if shared, everyone for the server's."""
        return self.mine(owner) or self.access.owner == SERVER or (self.access.owner is not None
                                                                  and self.access.shared)


def all_datasets(root: Path | None = None) -> list[OwnDataset]:
    """Every complete prepared dataset on the server (with a dataset.json), by title."""
    root = Path(root) if root else settings.datasets_dir()
    found = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or folder.is_symlink() or not (folder / "dataset.json").is_file():
                continue
            meta = read_json_or_none(folder / "dataset.json")
            if not isinstance(meta, dict):
                continue
            found.append(OwnDataset(folder.name, folder, meta, access(folder)))
    return sorted(found, key=lambda d: (d.title.lower(), d.id))


def visible(owner: str | None, root: Path | None = None) -> list[OwnDataset]:
    """The datasets this visitor may train on: theirs, the class's shared ones and the server's."""
    return [d for d in all_datasets(root) if d.usable_by(owner)]


def find(name: str, root: Path | None = None) -> OwnDataset | None:
    """The prepared dataset of that name ("own/<id>"), or None."""
    try:
        folder = prepared.folder_of(name) if root is None else Path(root) / name[len(prepared.PREFIX):]
    except ValueError:
        return None
    return next((d for d in all_datasets(folder.parent) if d.id == folder.name), None)


def check_use(name: str, owner: str | None) -> None:
    """Raise ValueError unless this visitor may train on the dataset `name` (a built-in one: anyone)."""
    if not prepared.is_prepared_name(name):
        return
    dataset = find(name)
    if dataset is None or not dataset.usable_by(owner):
        raise ValueError("That dataset is not on this server, or it is another visitor's and not shared.")


def owned(dataset_id: str, owner: str) -> OwnDataset:
    """The owner's own dataset of that id; NotYours for another's (or the server's), LookupError if none."""
    dataset = find(prepared.PREFIX + dataset_id)
    if dataset is None:
        raise LookupError("That dataset is no longer on this server.")
    if not dataset.mine(owner):
        raise NotYours("Only the visitor who uploaded a dataset can share or delete it.")
    return dataset


def delete(dataset_id: str, owner: str) -> None:
    """Delete the owner's dataset (models trained on it stay)."""
    remove(owned(dataset_id, owner).folder)


def remove_idle(models_root: Path, idle_days: float, now: float | None = None,
                root: Path | None = None) -> list[str]:
    """Delete the unshared datasets of visitors not seen for `idle_days` (when they were last seen is kept
    beside the models: user_models.last_seen), as their models go; 0 or less keeps everything. Returns the
    removed datasets' ids."""
    if idle_days <= 0:
        return []
    now = time.time() if now is None else now
    removed = []
    for dataset in all_datasets(root):
        owner = dataset.access.owner
        if owner is None or owner == SERVER or dataset.access.shared:
            continue
        seen = max(last_seen(models_root, owner) or 0.0, dataset.access.created)
        if now - seen > idle_days * 86400:
            remove(dataset.folder)
            removed.append(dataset.id)
    return removed


def usage(owner: str, root: Path | None = None) -> tuple[int, int]:
    """The owner's datasets: how many, and their bytes on disk."""
    mine = [d for d in all_datasets(root) if d.mine(owner)]
    return len(mine), sum(folder_bytes(d.folder) for d in mine)


def check_quota(owner: str, adding: int, active_jobs: int, per_owner: int, bytes_per_owner: int,
                root: Path | None = None) -> None:
    """Raise ValueError (a LimitReached, from the caller's view) when the owner may not prepare another
    dataset: their count (with their dataset jobs under way) or their bytes (with this upload) over quota."""
    n, used = usage(owner, root)
    if n + active_jobs >= per_owner:
        raise ValueError(f"You have {count(n, 'dataset')} and {count(active_jobs, 'dataset job')} under way; "
                         f"each visitor may keep {per_owner}. Delete a dataset on Train to make room.")
    if used + adding > bytes_per_owner:
        raise ValueError(f"Your datasets take {mb(used)} and this upload {mb(adding)}; each visitor may keep "
                         f"{mb(bytes_per_owner)}. Delete a dataset on Train to make room.")


def room(owner: str, bytes_per_owner: int, root: Path | None = None) -> int:
    """Bytes left of the owner's datasets quota."""
    return max(0, bytes_per_owner - usage(owner, root)[1])


# -- the operator's folders (VAE_DATASET_FOLDERS) ---------------------------------------------------------


def folder_id(path: str) -> str:
    """An operator folder's id: its name in lowercase letters, digits and dashes, and a hash of its path."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(path).name.lower()).strip("-")[:30] or "folder"
    return f"{slug}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def operator_folders() -> dict[str, str]:
    """The operator's folders by id (the web process shows ids and names, never the paths)."""
    return {folder_id(path): path for path in settings.dataset_folders()}


def folder_path(fid: str) -> str:
    """The server path of the operator folder of that id (the runner's, never a visitor's); LookupError."""
    folders = operator_folders()
    if fid not in folders:
        raise LookupError("That server folder is no longer offered on this server.")
    return folders[fid]


def folder_dataset_id(fid: str, size: str, fit: str) -> str:
    """The prepared dataset of an operator folder at one size and fit (one per server, shared by all)."""
    return f"server-{fid}-{size}-{fit}"
