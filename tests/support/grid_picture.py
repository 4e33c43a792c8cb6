"""Read the Latent map's decoded grid back from the page: its PNG's size and its axes' tick labels."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

from PIL import Image

SVG = "{http://www.w3.org/2000/svg}"


def grid_of(at) -> tuple[tuple[int, int], dict]:
    """((width, height) of the decoded PNG, {"x": x tick labels, "y": y tick labels, "svg": the text}) of
    the grid picture on an AppTest's Latent map page (an inline SVG holding the PNG)."""
    url = next(i.url for el in at.get("image") for i in el.proto.imgs if i.url.startswith("data:image/svg"))
    svg = base64.b64decode(url.split(",", 1)[1]).decode()
    root = ET.fromstring(svg)
    href = root.find(f"{SVG}image").get("href")
    assert href.startswith("data:image/png;base64,")  # inside the page's message, no media request
    size = Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))).size
    ticks = {axis: [t.text for t in root.iter(f"{SVG}text") if t.get("class") == f"{axis}tick"]
             for axis in ("x", "y")}
    return size, {**ticks, "svg": svg}
