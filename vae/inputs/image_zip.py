"""Reading a visitor's zip (or the operator's folder) of images, one folder per label, checked first."""

# The checks follow the .keras archive's (vae.importing.archive_check): the file's size, the members' count
# and sizes, the compression ratio on the bytes actually read (not only on what the zip declares), no
# absolute, `..` or symlinked member, nothing encrypted. Each image is then opened by
# vae.inputs.image_file.load_image (a size cap, Pillow's decompression-bomb limits, only
# PNG/JPEG/WEBP/BMP/GIF). A file that is not a usable image is skipped and counted; a decompression bomb
# refuses the whole upload (it is an attack, not a mistake).
#
# The layout is Keras' image_dataset_from_directory's: `label/…/image.png`, optionally under one top folder
# (what zipping a folder makes). Images directly in the top folder, with no label folders at all, are one
# unlabelled set. Nothing here writes a file: the caller gets names and bytes.

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vae.importing.archive_check import ImportRefused, _unsafe_name
from vae.inputs import image_file
from vae.plural import count

MiB = 1024 * 1024
MAX_ZIP_BYTES = 256 * MiB  # the file itself (the web's upload limit is lower)
MAX_MEMBERS = 60_000  # entries in the zip, folders included
MAX_TOTAL_BYTES = 1024 * MiB  # all members, uncompressed, as declared and as read
MAX_MEMBER_BYTES = image_file.MAX_BYTES  # one image
MAX_RATIO = 100  # uncompressed / compressed, for a member over RATIO_MIN_BYTES and for the whole zip
RATIO_MIN_BYTES = 64 * 1024
MAX_LABELS = 100
MAX_LABEL_CHARS = 40
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
UNLABELLED = "all"  # the one label of a flat folder
_IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*|Thumbs\.db|desktop\.ini)(/|$)", re.I)


class DatasetRefused(ImportRefused):
    """The upload (or folder) was refused; the message is one sentence saying why."""


@dataclass
class Entry:
    """One image file found: its label (a folder's name) and its name inside the upload."""

    label: str
    name: str


@dataclass
class Found:
    """What a zip or a folder holds: the images by label (sorted names), and the files skipped, with why."""

    entries: list[Entry]
    labels: list[str]
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> files

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


def label_text(name: str) -> str:
    """A folder's name as a label: printable characters only, spaces collapsed, at most MAX_LABEL_CHARS."""
    clean = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable())
    return " ".join(clean.split())[:MAX_LABEL_CHARS].strip()


def _layout(names: list[str], found: Found) -> list[Entry]:
    """Labels from the paths: the first folder under the one shared top folder, if any (Keras' layout)."""
    pairs = [(n.split("/"), n) for n in names]
    tops = {p[0] for p, _ in pairs}
    single = ""
    if len(tops) == 1 and all(len(p) > 1 for p, _ in pairs):
        single = label_text(next(iter(tops)))
        pairs = [(p[1:], n) for p, n in pairs]  # "mydata/cats/1.png": the zip of one folder
    flat = [n for p, n in pairs if len(p) == 1]
    nested = [(p, n) for p, n in pairs if len(p) > 1]
    if not nested:  # a flat folder: one unlabelled set (named after its folder, if it has one)
        return [Entry(single or UNLABELLED, n) for n in flat]
    if flat:  # as Keras does: files beside the label folders belong to no label
        found.skip("beside the label folders, so in no label", len(flat))
    entries = []
    for p, n in nested:
        label = label_text(p[0])
        if not label:
            found.skip("in a folder whose name has no printable character")
            continue
        entries.append(Entry(label, n))
    return entries


def _finish(found: Found, entries: list[Entry], max_images: int) -> Found:
    entries.sort(key=lambda e: (e.label, e.name))
    labels = sorted({e.label for e in entries})
    if not entries:
        raise DatasetRefused("it holds no image files (PNG, JPEG, GIF, BMP or WEBP) in label folders")
    if len(labels) > MAX_LABELS:
        raise DatasetRefused(f"it has {count(len(labels), 'label folder')}; at most {MAX_LABELS} are allowed")
    if len(entries) > max_images:
        raise DatasetRefused(f"it holds {count(len(entries), 'image')}; a dataset may have at most "
                             f"{max_images:,}")
    found.entries, found.labels = entries, labels
    return found


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def scan_zip(path: str | Path, max_images: int) -> Found:
    """The zip's images by label, or DatasetRefused saying why the whole zip is refused (before decoding)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise DatasetRefused(f"the file is {size / MiB:.0f} MB, over the {MAX_ZIP_BYTES // MiB} MB cap")
    if not zipfile.is_zipfile(path):
        raise DatasetRefused("it is not a zip file")
    found = Found([], [])
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise DatasetRefused("the zip file is damaged or unreadable") from None
    if len(infos) > MAX_MEMBERS:
        raise DatasetRefused(f"it has {len(infos):,} members, over the {MAX_MEMBERS:,} cap")
    declared = 0
    names = []
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise DatasetRefused(f"member '{label_text(name)}' has an unsafe path (absolute or with '..')")
        if _is_symlink(info):
            raise DatasetRefused(f"member '{label_text(name)}' is a symbolic link")
        if info.flag_bits & 0x1:
            raise DatasetRefused(f"member '{label_text(name)}' is encrypted")
        declared += info.file_size
        if info.is_dir() or _IGNORED.search(name):
            continue
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise DatasetRefused(f"member '{label_text(name)}' expands {ratio:.0f}x when unpacked"
                                 f", over the {MAX_RATIO}x compression-ratio cap (a zip bomb?)")
        if not name.lower().endswith(IMAGE_SUFFIXES):
            found.skip("not an image file by its name")
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            found.skip("compressed with a method other than deflate")
            continue
        names.append(name)
    if declared > MAX_TOTAL_BYTES:
        raise DatasetRefused(f"its members unpack to {declared / MiB:.0f} MB, over the "
                             f"{MAX_TOTAL_BYTES // MiB} MB cap")
    return _finish(found, _layout(names, found), max_images)


def read_zip(path: str | Path, found: Found) -> Iterator[tuple[Entry, bytes | None]]:
    """Each entry's bytes, read with the caps counted on the bytes actually read (a zip that under-declares
    its sizes still hits them); None for a member too large to be an image (the caller skips it)."""
    path = Path(path)
    budget = min(MAX_TOTAL_BYTES, MAX_RATIO * max(path.stat().st_size, RATIO_MIN_BYTES))
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for entry in found.entries:
                info = zf.getinfo(entry.name)
                data = _read_member(zf, info)
                total += len(data) if data is not None else MAX_MEMBER_BYTES
                if total > budget:
                    raise DatasetRefused(f"its members unpack to more than {MAX_RATIO}x the zip's size (or "
                                         f"over {MAX_TOTAL_BYTES // MiB} MB) when read: a zip bomb?")
                yield entry, data
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise DatasetRefused(f"the zip file is damaged or unreadable ({type(exc).__name__})") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    chunks, total = [], 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(256 * 1024):
                total += len(chunk)
                if total > MAX_MEMBER_BYTES:
                    return None
                if total > RATIO_MIN_BYTES and total > MAX_RATIO * max(info.compress_size, 1):
                    raise DatasetRefused(f"member '{label_text(info.filename)}' expands over "
                                         f"{MAX_RATIO}x when read (a zip bomb?)")
                chunks.append(chunk)
    except zipfile.BadZipFile:
        return b""  # a bad CRC or a broken stream: skipped as unreadable, the rest goes on
    return b"".join(chunks)


def scan_folder(root: str | Path, max_images: int) -> Found:
    """The operator's folder's images by label: the same layout and caps as a zip; symbolic links are not
    followed (a link could reach anywhere on the server)."""
    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        raise DatasetRefused("the server folder is missing or is not a folder")
    found = Found([], [])
    names = []
    for here, dirs, files in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not (Path(here) / d).is_symlink())
        for f in sorted(files):
            name = (rel / f).as_posix()
            if _IGNORED.search(name):
                continue
            if (Path(here) / f).is_symlink():
                found.skip("a symbolic link")
            elif not f.lower().endswith(IMAGE_SUFFIXES):
                found.skip("not an image file by its name")
            else:
                names.append(name)
            if len(names) > MAX_MEMBERS:
                raise DatasetRefused(f"it holds over {MAX_MEMBERS:,} files")
    return _finish(found, _layout(names, found), max_images)


def read_folder(root: str | Path, found: Found) -> Iterator[tuple[Entry, bytes | None]]:
    """Each entry's bytes (None for a file over the image size cap, or gone meanwhile)."""
    for entry in found.entries:
        path = Path(root) / entry.name
        try:
            data = path.read_bytes() if path.stat().st_size <= MAX_MEMBER_BYTES else None
        except OSError:
            data = None
        yield entry, data
