"""Every page on a colour model (issue 27, item 2): a 32x32x3 model trained on shapes the tests draw."""

from __future__ import annotations

import base64
import io
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.support.pages import app_at, on_page, open_page, select_on_map

PAGES = ["pages/home.py", "pages/latent_map.py", "pages/decoder.py", "pages/encode.py",
         "pages/how_it_works.py"]


def _inline_pngs(url: str) -> list[Image.Image]:
    """The PNGs in a data: URL: the PNG itself, or those an SVG picture embeds (a decoded grid with axes)."""
    if url.startswith("data:image/png;base64,"):
        return [Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))]
    if url.startswith("data:image/svg+xml;base64,"):
        svg = base64.b64decode(url.split(",", 1)[1]).decode()
        return [Image.open(io.BytesIO(base64.b64decode(found)))
                for found in re.findall(r'href="data:image/png;base64,([^"]+)"', svg)]
    return []


def _colour_pictures(at) -> list[Image.Image]:
    """The page's inline pictures (st.image) that are RGB with more than grey in them."""
    found = []
    for element in at.get("image"):
        for img in element.proto.imgs:
            for picture in _inline_pngs(img.url):
                arr = np.asarray(picture.convert("RGB"), np.int16)
                if np.abs(arr[..., 0] - arr[..., 1]).max() > 8 or np.abs(arr[..., 1] - arr[..., 2]).max() > 8:
                    found.append(picture)
    return found


def _text(at) -> str:
    """What the page says: its text, and its widgets' labels."""
    parts = [e.value for kind in ("markdown", "caption", "subheader", "header", "title", "info", "warning")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    for kind in ("button", "number_input", "selectbox", "radio", "slider", "toggle", "tab", "expander"):
        parts += [str(getattr(e, "label", "")) for e in at.get(kind)]
    parts += [str(option) for e in at.get("selectbox") for option in (e.options or [])]
    parts += [str(option) for e in at.get("radio") for option in (e.options or [])]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_colour_model_and_never_says_digit(colour_bundle, page):
    at = open_page(page, str(colour_bundle))
    text = _text(at)
    assert "digit" not in text.lower(), [line for line in text.splitlines() if "digit" in line.lower()][:5]


def test_compare_puts_two_colour_models_side_by_side(server, colour_bundle):
    """Two colour models, listed as the server's (the CLI marked the bundle), compared by a link."""
    for name in ("colour-a", "colour-b"):
        shutil.copytree(colour_bundle, server.models_dir / name)
    at = on_page(app_at(left="user/colour-a", compare="user/colour-b"), "pages/compare.py")
    assert at.selectbox(key="compare_left").value == "user/colour-a"
    text = _text(at)
    assert "digit" not in text.lower(), [line for line in text.splitlines() if "digit" in line.lower()][:5]
    assert "The same test images on both maps" in text
    from explorer.models import handle_of
    from explorer.sections.compare import _reconstruction_rows

    pair = (handle_of(server.models_dir / "colour-a"), handle_of(server.models_dir / "colour-b"))
    rows = _reconstruction_rows(*pair)
    assert [Image.open(io.BytesIO(png)).mode for _, png, _ in rows] == ["RGB"] * 3  # inputs, both models'


def test_the_decoder_shows_colour(colour_bundle):
    at = open_page("pages/decoder.py", str(colour_bundle))
    at.toggle(key="dec_live_on").set_value(False).run()
    assert not at.exception, at.exception
    assert _colour_pictures(at)


def test_the_latent_map_shows_a_clicked_colour_image_by_its_label_and_a_colour_grid(colour_bundle):
    at = open_page("pages/latent_map.py", str(colour_bundle))
    select_on_map(at, {"points": [{"curve_number": 4, "point_index": 3, "customdata": [5]}],
                       "point_indices": [3]})
    assert not at.exception, at.exception
    label = np.load(colour_bundle / "reference.npz")["labels"][5]
    from tests.support.colour import SHAPES

    assert any(f"**Test image #5** — label **{SHAPES[label]}**" in m.value for m in at.markdown)
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert captions[:2] == ["input", "reconstruction: decoder(z_mean)"]
    grid = [p for p in _colour_pictures(at) if p.size[0] > 64]
    assert grid and grid[0].mode == "RGB"  # the decoded grid, in colour
