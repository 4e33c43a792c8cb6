"""A visitor's text shown as text: shortened, Markdown escaped, and no bare URL made a link."""

from __future__ import annotations

import re

MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$")


def plain_text(text: str, limit: int = 80) -> str:
    """Text from a visitor, shortened and with Markdown's special characters escaped, to show as is."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in no_autolinks(text))


# Streamlit's Markdown (GFM) turns bare "http://…", "www.…" and "name@host.tld" into links after escapes are
# resolved, so escaping cannot stop it: an invisible word joiner (U+2060) inside each, before escaping, does.
_AUTOLINK = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=www)(?=\.)|(?=@)")


def no_autolinks(text: str) -> str:
    """Markdown source in which no bare URL or e-mail address becomes a link (it reads the same)."""
    return _AUTOLINK.sub("\u2060", text)
