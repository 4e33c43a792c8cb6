"""Published decoders follow their models: which decoders some model still has; the others are removed."""

# The live decoder publishes a model's decoder.onnx as a file that anyone who knows its id (a hash) can
# fetch (live_decoder.published). When a visitor deletes a model, its decoder's files go at once, unless
# another model has the very same decoder (one trained with --decoder-from keeps its decoder's bytes); the
# keeper's hourly clean-up removes the files of any other decoder no model has any more (an idle visitor's
# models removed, a bundle deleted by hand). Nothing here imports Streamlit.

from __future__ import annotations

import threading
from pathlib import Path

import settings
from live_decoder import model_id_of_file
from live_decoder.published import remove_unused, unpublish
from vae.bundles.bundle import DECODER_ONNX, SHIPPED_DIR, list_bundles

_LOCK = threading.Lock()
_IDS: dict[str, tuple[int, int, str]] = {}  # decoder.onnx -> (mtime_ns, size, id): each file hashed once


def bundle_decoder(bundle: str | Path) -> tuple[str, int] | None:
    """(the id the browser knows this bundle's decoder by, its size in bytes), or None if it has no readable
    decoder."""
    found = decoder_id(bundle)
    try:
        return (found, (Path(bundle) / DECODER_ONNX).stat().st_size) if found else None
    except OSError:
        return None


def decoder_id(bundle: str | Path) -> str | None:
    """The id the browser knows this bundle's decoder by (None if it has no readable decoder)."""
    path = Path(bundle) / DECODER_ONNX
    try:
        stat = path.stat()
        with _LOCK:
            known = _IDS.get(str(path))
        if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        found = model_id_of_file(path)
    except OSError:
        return None
    with _LOCK:
        _IDS[str(path)] = (stat.st_mtime_ns, stat.st_size, found)
    return found


def model_roots() -> list[Path]:
    """Every folder of models: the shipped ones, the operator's extra roots and the visitors'."""
    return [SHIPPED_DIR, *(Path(r) for r in settings.model_roots()), settings.user_models_dir()]


def in_use(size: int | None = None) -> set[str]:
    """The ids of every model's decoder (of those `size` bytes long only, if given: a cheap look first, so
    that a deletion hashes only the decoders that could be the same)."""
    bundles = list_bundles(*model_roots())
    with _LOCK:  # forget files that are gone, so the table stays as large as the models
        for path in set(_IDS) - {str(b / DECODER_ONNX) for b in bundles}:
            del _IDS[path]
    if size is not None:
        bundles = [b for b in bundles if _size(b / DECODER_ONNX) == size]
    return {found for found in map(decoder_id, bundles) if found}


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def model_deleted(decoder: tuple[str, int] | None) -> list[str]:
    """After a model was deleted (its bundle_decoder, read before): remove its decoder's published files now,
    unless another model has the same decoder."""
    if not decoder or decoder[0] in in_use(size=decoder[1]):
        return []
    return unpublish([decoder[0]])


def clean_up(now: float) -> list[str]:
    """Remove the published files of decoders no model has (the keeper, hourly)."""
    return remove_unused(in_use(), now)
