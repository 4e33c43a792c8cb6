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


_ROW = re.compile(r"^\|(.*)\|\s*$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _ROW.match(line).group(1).split("|")]


def narrow_tables(markdown: str, max_columns: int = 3) -> str:
    """Markdown whose one-row tables of more than `max_columns` columns are turned on their side (a row per
    column: name, value), so a card's metrics fit a phone's width instead of pushing the page sideways."""
    lines, out, i = markdown.split("\n"), [], 0
    while i < len(lines):
        block = lines[i:i + 4]
        is_one_row_table = (len(block) >= 3 and all(_ROW.match(line) for line in block[:3])
                            and set(block[1].replace("|", "").replace(":", "").strip()) == {"-"}
                            and (len(block) == 3 or not _ROW.match(block[3])))
        wide = is_one_row_table and len(_cells(block[0])) > max_columns
        if wide and len(_cells(block[0])) == len(_cells(block[2])):
            out += ["| measure | value |", "|---|---|"]
            out += [f"| {name} | {value} |" for name, value in zip(_cells(block[0]), _cells(block[2]))]
            i += 3
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)
