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
         "pages/how_it_works.py", "pages/directions.py", "pages/interpolate.py"]


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
    at.toggle(key="replay_on").set_value(True).run()  # the replay of its training: its grid, its words
    assert not at.exception, at.exception
    assert "digit" not in _text(at).lower()


def _photo_png(width: int = 120, height: int = 90) -> bytes:
    """A wide colour picture that is no digit: an orange field with a blue square off its centre."""
    img = Image.new("RGB", (width, height), (230, 150, 60))
    img.paste((40, 60, 200), (50, 30, 80, 60))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_encode_takes_any_picture_for_a_colour_model_and_says_which_pipeline_ran(colour_bundle):
    from vae.bundles.serving import ServedModel
    from vae.inputs.picture import fit_bytes

    at = open_page("pages/encode.py", str(colour_bundle))
    png = _photo_png()
    at.file_uploader(key="encode_upload").upload("field.png", png, "image/png")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = _text(at)
    assert "Pipeline: **your own images'**" in text and "32×32 in colour" in text
    assert "did not run" in text and "digit" not in text.replace("digit clean-up", "").replace(
        "for digit models", "").lower()
    fitted = fit_bytes(png, (32, 32, 3))
    assert fitted.image.shape == (32, 32, 3) and fitted.cropped.shape == (90, 90, 3)  # the centred square
    z_mean, _ = ServedModel(colour_bundle).encode(fitted.image[None])
    shown = next(t.value["z_mean"].to_numpy(np.float64) for t in at.dataframe if "z_mean" in t.value.columns)
    assert np.allclose(shown, z_mean[0], atol=1e-3)  # the page encoded the centred, resized colour picture


def test_encode_on_a_digit_model_says_the_digit_pipeline_ran():
    from tests.support.bundles import REPO

    at = open_page("pages/encode.py", str((REPO / "models" / "mnist-2d").resolve()))
    at.file_uploader(key="encode_upload").upload("field.png", _photo_png(), "image/png")
    at.run()
    assert not at.exception, at.exception
    assert "Pipeline: **MNIST's digit clean-up**" in _text(at)


def test_how_it_works_on_a_colour_model_shows_colour(colour_bundle):
    at = open_page("pages/how_it_works.py", str(colour_bundle))
    assert _colour_pictures(at), "the input and its reconstruction in colour"


def test_a_colour_model_carries_its_classifier_and_the_map_overlays_it(colour_bundle):
    """The job's classifier is trained on the colour images too, and the Latent map's overlay draws it."""
    from vae.bundles.serving import ServedModel

    served = ServedModel(colour_bundle)
    assert served.classifier is not None
    images = served.decode(np.zeros((3, served.latent_dim), np.float32))
    probabilities = served.classifier.probabilities(images)
    assert probabilities.shape == (3, len(served.classifier.labels))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    at = open_page("pages/latent_map.py", str(colour_bundle))
    overlay = [t for t in at.toggle if t.label.startswith("Classifier overlay")]
    assert overlay, [t.label for t in at.toggle]
    overlay[0].set_value(True).run()
    assert not at.exception, at.exception
