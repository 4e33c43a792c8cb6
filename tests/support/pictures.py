"""Pictures for and from the pages: a synthetic photographed digit to upload, the SVG clouds a page drew."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest


def digit_png(dark_on_light: bool = True) -> bytes:
    """A synthetic '7' drawn with thick strokes, as a phone photo of paper would look (or inverted)."""
    bg, ink = (245, 245, 240), (20, 20, 30)
    if not dark_on_light:
        bg, ink = ink, bg
    img = Image.new("RGB", (120, 140), bg)
    d = ImageDraw.Draw(img)
    d.line([(30, 30), (90, 30)], fill=ink, width=12)
    d.line([(90, 30), (50, 115)], fill=ink, width=12)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def cloud_pictures(at: AppTest) -> list[str]:
    """The SVG documents of the page's cloud maps (st.image of an SVG string: a data URL)."""
    prefix = "data:image/svg+xml;base64,"
    urls = [img.url for element in at.get("image") for img in element.proto.imgs]
    return [base64.b64decode(u[len(prefix):]).decode() for u in urls if u.startswith(prefix)]


def thin_one_png() -> bytes:
    """A photographed "1": dark ink on light paper, a tall thin stroke in a 3:4 picture."""
    img = Image.new("RGB", (300, 400), (245, 245, 240))
    ImageDraw.Draw(img).line([(150, 60), (158, 340)], fill=(20, 20, 30), width=16)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
