"""No server path on a card, a caption or a message: the shipped bundles' cards and every page's text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.pages import open_page
from vae.bundles.bundle import CARD_JSON, CARD_MD, SHIPPED_DIR

REPO = Path(__file__).resolve().parent.parent
# Path-like strings a visitor must never read: a relative climb out of the app, the usual server roots, and
# wherever this checkout and its home happen to be.
PATHLIKE = re.compile("|".join([r"\.\./", r"(?<![\w.])/(?:work|usr|home|tmp|root|srv|var|opt)/",
                                *(re.escape(str(p)) for p in (REPO, REPO.parent, Path.home()))]))
SHIPPED = sorted(p for p in SHIPPED_DIR.iterdir() if (p / CARD_JSON).is_file())
PAGES = ["pages/home.py", "pages/latent_map.py", "pages/decoder.py", "pages/encode.py",
         "pages/how_it_works.py", "pages/compare.py", "pages/train.py", "pages/import_model.py",
         "pages/directions.py", "pages/interpolate.py"]
TEXT = ("title", "header", "subheader", "markdown", "caption", "text", "code", "latex", "info", "warning",
        "error", "success", "toast")
WIDGETS = ("selectbox", "radio", "toggle", "slider", "select_slider", "number_input", "text_input",
           "checkbox", "button", "download_button", "page_link", "file_uploader", "expander", "metric",
           "image")


def page_text(at) -> str:
    """Every word an AppTest run shows: text elements, widgets' labels, help and options, images' captions."""
    parts = [str(e.value) for kind in TEXT for e in getattr(at, kind)]
    for kind in WIDGETS:
        for e in getattr(at, kind):
            parts += [str(getattr(e, name, "") or "") for name in ("label", "help", "caption", "alt")]
            parts += [str(o) for o in getattr(e, "options", None) or []]
            if kind == "metric":
                parts.append(str(e.value))
    return "\n".join(parts)


def around(text: str) -> str:
    """The first path-like string in `text`, with some of what surrounds it."""
    found = PATHLIKE.search(text)
    return f"{found.group()!r} in …{text[max(0, found.start() - 80):found.end() + 20]}…"


def test_the_pattern_catches_what_a_card_once_showed():
    assert PATHLIKE.search("mnist training images (from ../shared/data/mnist)")
    for path in ("/work/shared/data", "/usr/share/datasets/fashion-mnist", "/home/u/.keras", "/tmp/x/y"):
        assert PATHLIKE.search(f"from {path}"), path
    assert not PATHLIKE.search("Debian's dataset-fashion-mnist package, z ~ N(0, I), 28×28, and/or 1/2")


@pytest.mark.parametrize("bundle", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_card_names_no_path(bundle):
    """A card once read "(from ../shared/data/mnist)"."""
    assert SHIPPED, "no shipped bundles found"
    for name in (CARD_JSON, CARD_MD):
        text = (bundle / name).read_text()
        assert not PATHLIKE.search(text), f"{bundle.name}/{name}: {around(text)}"
    json.loads((bundle / CARD_JSON).read_text())  # still a card


def test_a_new_card_names_where_its_data_came_from_in_words(tmp_path, monkeypatch):
    """The trainer once wrote the data's folder into the card; now its origin, in words."""
    from tests.support.data import write_dataset
    from vae.bundles.save import _trained_on
    from vae.inputs import data

    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    write_dataset(tmp_path / "mnist")
    loaded = data.load_dataset("mnist", tmp_path, allow_download=False)
    assert str(tmp_path) in loaded.source  # for whoever runs it
    assert loaded.origin == "a local copy of its IDX files"
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    assert data.load_dataset("mnist", allow_download=False).origin == "a local copy of its IDX files"
    assert data.load_dataset("digits").origin == "scikit-learn's load_digits()"
    said = _trained_on("digits", 12, loaded.source)  # even a path handed to it is not written
    assert said == "12 digits training images (from a local copy of its IDX files)"


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_server_path(page):
    shown = page_text(open_page(page))
    assert shown.strip()
    assert not PATHLIKE.search(shown), f"{page}: {around(shown)}"


@pytest.mark.parametrize("bundle", SHIPPED, ids=lambda p: p.name)
def test_home_shows_each_shipped_card_without_a_path(bundle):
    shown = page_text(open_page("pages/home.py", str(bundle)))
    assert "Trained on" in shown
    assert not PATHLIKE.search(shown), f"{bundle.name}: {around(shown)}"
