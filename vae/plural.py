"""Counts in words, one helper for every message, card and page: "1 epoch", "2 epochs"."""

from __future__ import annotations


def noun(n: int, one: str, many: str | None = None) -> str:
    """The noun for `n` of it: singular for exactly one, else `many` (default: `one` + "s")."""
    return one if n == 1 else (many or one + "s")


def count(n: int, one: str, many: str | None = None) -> str:
    """`n` and its noun, thousands separated: count(1, "epoch") == "1 epoch", count(1437, "image") ==
    "1,437 images"."""
    return f"{n:,} {noun(n, one, many)}"
