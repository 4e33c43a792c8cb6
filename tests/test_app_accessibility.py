"""Every picture on the pages has alternative text saying what it shows, code is shown in colours that meet
WCAG AA contrast, and icons are Material Symbols, not emoji (Streamlit AppTest).

In a browser, axe-core checks the same and the contrast: tests/e2e/test_accessibility.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from explorer import alt_text
from tests.support.bundles import REPO
from tests.support.pages import app_at, on_page, select_on_map
from tests.support.pictures import digit_png

# The pages that show pictures as soon as they open (Home, Train and Import show none).
PICTURE_PAGES = ["pages/latent_map.py", "pages/decoder.py", "pages/how_it_works.py", "pages/compare.py",
                 "pages/interpolate.py"]
MENU_PAGES = ["pages/home.py", "pages/latent_map.py", "pages/decoder.py", "pages/encode.py", "pages/train.py",
              "pages/import_model.py", "pages/how_it_works.py", "pages/compare.py", "pages/directions.py",
              "pages/interpolate.py"]
# Emoji and pictographs (with the variation selector that asks for an emoji's colour form): without an
# emoji font a browser shows them as empty boxes. Arrows such as → and ↺ are ordinary text.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def pictures(at) -> list[tuple[str, str | None]]:
    """(the start of its URL, its alt text or None) of every picture on the page."""
    # AppTest's Image element exposes urls and captions; the alt text is only in its proto (a public field).
    return [(img.url[:40], img.alt if img.HasField("alt") else None)
            for element in at.get("image") for img in element.proto.imgs]


def assert_all_described(at, where: str, at_least: int = 1) -> list[str]:
    shown = pictures(at)
    assert len(shown) >= at_least, f"{where}: {len(shown)} pictures, expected at least {at_least}"
    bare = [url for url, alt in shown if not (alt or "").strip()]
    assert not bare, f"{where}: {len(bare)} of {len(shown)} pictures have no alt text: {bare}"
    return [alt for _, alt in shown]


@pytest.mark.parametrize("model", ["mnist-2d", "mnist-2d-beta0"])
@pytest.mark.parametrize("page", PICTURE_PAGES)
def test_every_picture_on_a_page_has_alt_text(page, model):
    at = on_page(app_at(model=model), page)
    assert_all_described(at, f"{page} ({model})")


def test_the_decoded_image_says_which_z():
    """With live decoding off the server's image shows (with it on, the browser's canvas carries the label:
    tests/e2e), and its alt text names z."""
    from explorer.sections.decoder import LIVE_KEY

    at = on_page(app_at(), "pages/decoder.py")
    at.session_state[LIVE_KEY] = False
    at.run()
    z = np.asarray(at.session_state["dec_z"], float)
    alts = assert_all_described(at, "Decoder", at_least=4)  # decoded image, its map, traversal, interpolation
    assert alts[0] == f"decoded image of z = ({alt_text.number(z[0])}, {alt_text.number(z[1])})", alts[0]
    assert "\u2212" in alt_text.point([-1.2]) and "-" not in alt_text.point([-1.2])


def test_encode_pictures_of_an_upload_have_alt_text():
    at = on_page(app_at(), "pages/encode.py")
    at.file_uploader(key="encode_upload").upload("seven.png", digit_png(), "image/png")
    at.run()
    assert not at.exception, at.exception
    # 4 preprocessing steps, input, reconstruction and samples; the nearest test images where the data is.
    alts = assert_all_described(at, "Encode after an upload", at_least=7)
    assert any(a.startswith("reconstruction: decoded image of z = (") for a in alts), alts


def test_latent_map_selections_have_alt_text():
    at = on_page(app_at(), "pages/latent_map.py")
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "x": 1.0, "y": 2.0,
                                   "customdata": [42]}], "point_indices": [3]})
    alts = assert_all_described(at, "Latent map, a test image clicked", at_least=2)
    assert any(a.startswith("reconstruction of test image #42: decoded image of z = (") for a in alts), alts
    (x0, x1), (y0, y1) = [tuple(np.quantile(c, [0.3, 0.7]))
                          for c in np.load(REPO / "models" / "mnist-2d" / "reference.npz")["z_mean"].T]
    select_on_map(at, {"box": [{"xref": "x", "yref": "y", "x": [x0, x1], "y": [y0, y1]}]})
    alts = assert_all_described(at, "Latent map, a box dragged", at_least=2)
    assert any("grid of decoded images" in a and alt_text.number(x0) in a for a in alts), alts


@pytest.mark.parametrize("page", ["pages/how_it_works.py"])
def test_code_is_shown_without_syntax_colours(page):
    """Streamlit's syntax colours for comments and numbers fall below WCAG AA contrast (3.5:1, 2.5:1).
    (Encode shows z_mean and z_std once, in its table, and no code since issue 26's clean-up.)"""
    at = on_page(app_at(), page)
    assert at.code, f"{page} shows no code"
    coloured = [c.value[:40] for c in at.code if c.language not in (None, "", "text", "plaintext")]
    assert not coloured, f"{page}: syntax-coloured code: {coloured}"


def test_the_menu_uses_material_icons_not_emoji():
    at = app_at()
    menu = [(link.proto.label, link.proto.icon) for link in at.get("page_link")]
    assert [label for label, _ in menu][:8] == ["Home", "Latent map", "Decoder", "Encode", "Train", "Import",
                                                "How it works", "Compare"], menu
    assert all(icon.startswith(":material/") for _, icon in menu), menu


@pytest.mark.parametrize("page", MENU_PAGES)
def test_titles_buttons_and_notices_use_no_emoji(page):
    at = on_page(app_at(), page)
    assert at.title and at.title[0].value.startswith(":material/"), [t.value for t in at.title]
    texts = [h.value for kind in ("title", "header", "subheader") for h in at.get(kind)]
    for kind in ("button", "download_button", "page_link"):
        texts += [text for b in at.get(kind) for text in (b.proto.label, b.proto.icon)]
    texts += [a.icon for kind in ("error", "warning", "info", "success") for a in at.get(kind)]
    assert not [text for text in texts if EMOJI.search(text)], [text for text in texts if EMOJI.search(text)]
