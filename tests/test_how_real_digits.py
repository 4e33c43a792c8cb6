"""How it works on real digits, mended (issue 18, items 5 and 6): gallery inputs offline, two different
digits, the z_std magnifier, reconstruction and KL against the spread, the replay link, batch shapes and a
glossary; and the Decoder's "start from" a gallery digit offline."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from explorer import cache, explain
from explorer.sections import decoder as decoder_sections
from explorer.sections.how_it_works import (
    MAGNIFY_KEY,
    SRC_GALLERY,
    SRC_RANDOM,
    SRC_TEST,
    SRC_YOURS,
    input_options,
)
from tests.support.bundles import REPO
from tests.support.pages import open_page
from vae.bundles.bundle import DEFAULT_MODEL, load_gallery, load_reference, read_training_config
from vae.bundles.serving import ServedModel

PAGE = "pages/how_it_works.py"
MODEL_16D = str((REPO / "models" / "mnist-16d").resolve())


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No dataset on this machine: an empty data folder, and no test images cached from before."""
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "test_images", lambda dataset: None)


def _images(at) -> list[tuple[str, bytes]]:
    """(caption, PNG bytes) of the page's inline PNG pictures."""
    prefix = "data:image/png;base64,"
    return [(img.caption, base64.b64decode(img.url[len(prefix):])) for element in at.get("image")
            for img in element.proto.imgs if img.url.startswith(prefix)]


def _vectors(at, name: str) -> list[np.ndarray]:
    """Every `name = [...]` vector in the page's code blocks."""
    found = [re.findall(rf"^{name}\s*=\s*\[([^\]]*)\]", c.value, re.M) for c in at.code]
    return [np.array([float(v) for v in m.split(",")]) for ms in found for m in ms]


# ----------------------------------------------------------------------------- pure


def test_input_options_offer_real_digits_and_a_random_z_only_without_them():
    assert input_options(True, True, False) == [SRC_TEST]
    assert input_options(False, True, True) == [SRC_GALLERY, SRC_YOURS]
    assert input_options(False, False, True) == [SRC_YOURS]
    assert input_options(False, False, False) == [SRC_RANDOM]


def test_gallery_choices():
    labels = np.array([0, 1, 2, 0, 1, 2])
    assert explain.first_of_another_label(labels, 0) == 1
    assert explain.first_of_another_label(np.zeros(3), 0) == 0
    assert explain.gallery_row(labels, 1, 1) == 4 and explain.gallery_row(labels, 1, 9) == 4
    assert decoder_sections.gallery_options(labels, [10, 11, 12, 13, 14, 15]) == [10, 13, 11, 14, 12, 15]


def test_spread_curve_is_kl_in_closed_form_plus_expected_reconstruction():
    z_mean, z_log_var = np.array([0.5, -1.0]), np.log(np.array([0.25, 0.25]) ** 2)
    flat = explain.spread_curve(lambda z: np.full((len(z), 4), 0.5), np.ones(4), z_mean, z_log_var)
    assert flat["factor"][flat["learned"]] == 1.0
    np.testing.assert_allclose(flat["reconstruction"], 4 * np.log(2))  # the decoder ignores z
    assert flat["kl"][flat["learned"]] == pytest.approx(explain.kl_per_dim(z_mean, z_log_var).sum())
    # With nothing to gain in reconstruction the sum is lowest where the KL is: z_std × 4 = 1, the prior's.
    assert abs(np.log(flat["factor"][flat["best"]] / 4.0)) <= np.log(20) / 16
    assert np.allclose(explain.magnified(z_mean, z_mean + [[1.0, 2.0]], 3.0), z_mean + [[3.0, 6.0]])


# ----------------------------------------------------------------------------- the page


def test_offline_the_inputs_are_two_different_real_digits_from_the_gallery(offline):
    at = open_page(PAGE)
    assert at.radio(key="how_source_a").value == SRC_GALLERY
    assert SRC_RANDOM not in at.radio(key="how_source_a").options
    gallery = load_gallery(DEFAULT_MODEL)
    z_mean, _ = ServedModel(DEFAULT_MODEL).encode(gallery["images"][:1] / 255.0)
    np.testing.assert_allclose(_vectors(at, "z_mean")[0], z_mean[0], atol=1e-3)
    captions = [c for c, _ in _images(at) if c.startswith("a real ")]
    assert len(captions) == 3 and captions[0] == captions[1] != captions[2]  # input 1 twice, then input 2
    assert captions[1].split(",")[0] != captions[2].split(",")[0]  # two different labels
    first, second = _vectors(at, "z_mean")[-2:]
    assert not np.allclose(first, second)
    links = {link.proto.label: link.proto.page for link in at.main.get("page_link")}
    assert links[next(k for k in links if "become a mean and a spread" in k)] == "latent_map"
    assert links[next(k for k in links if "on Encode" in k)] == "encode"
    at.selectbox(key="how_gal_label_a").set_value(7)
    at.number_input(key="how_gal_k_a").set_value(3)
    at.run()
    assert not at.exception and any(c.startswith("a real 7, test image #") for c, _ in _images(at))


def _array(data) -> np.ndarray:
    """A trace's array: a plain list, or Plotly's typed array ({dtype, bdata})."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).astype(np.float64)
    return np.asarray(data, np.float64)


def _sample_decodes(at) -> list[np.ndarray]:
    pngs = [png for caption, png in _images(at) if caption.startswith("z #")]
    assert len(pngs) == 8
    return [np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float64) / 255 for png in pngs]


def _spread(images: list[np.ndarray]) -> float:
    """Mean absolute pixel difference of each decode from the first."""
    return float(np.mean([np.abs(im - images[0]).mean() for im in images[1:]]))


def test_magnify_makes_the_sample_decodes_differ():
    at = open_page(PAGE)
    plain = _sample_decodes(at)
    assert not at.warning
    at.slider(key=MAGNIFY_KEY).set_value(20).run()
    assert not at.exception
    magnified = _sample_decodes(at)
    assert [a.tobytes() for a in plain] != [b.tobytes() for b in magnified]
    assert _spread(magnified) > 5 * _spread(plain) and _spread(magnified) > 0.05
    assert any("for your eyes only" in w.value for w in at.warning)


def test_reconstruction_and_kl_against_the_spread_mark_the_minimum_and_the_learned_value():
    at = open_page(PAGE)
    at.session_state["how_q_collapse"] = True
    at.run()
    assert not at.exception
    chart = next(c for c in at.get("plotly_chart") if "how_spread_curve" in c.proto.id)
    traces = {t["name"]: {k: _array(t[k]) for k in ("x", "y")} for t in json.loads(chart.proto.spec)["data"]}
    total, minimum = traces["sum = −ELBO"], next(t for n, t in traces.items() if n.startswith("minimum"))
    assert {"reconstruction (expected)", "KL", "learned z_std (× 1)"} <= set(traces)
    assert minimum["y"][0] == pytest.approx(total["y"].min())
    assert minimum["x"][0] == pytest.approx(total["x"][total["y"].argmin()])
    assert traces["learned z_std (× 1)"]["x"].tolist() == [1.0]
    assert any("lowest at" in c.value for c in at.caption)


def test_batch_shapes_and_the_glossary_use_the_models_latent_dim():
    at = open_page(PAGE, MODEL_16D)
    batch = read_training_config(MODEL_16D).batch_size
    shapes = next(c.value for c in at.code if "tf.random.normal" in c.value)
    assert f"tf.random.normal(shape=({batch}, 16))" in shapes and "Dense(16)(h)" in shapes
    assert "per image, per dimension, per step" in shapes
    expected = next(c.value for c in at.code if "tf.reduce_mean(x)" in c.value)
    assert "16 learned numbers" in expected
    glossary = next(c.value for c in at.caption if c.value.startswith("**nats**"))
    assert all(f"**{w}**" in glossary for w in ("ELBO", "KL", "prior"))


# ----------------------------------------------------------------------------- the Decoder


def test_decoder_starts_from_a_gallery_digit_offline(offline):
    at = open_page("pages/decoder.py")
    gallery, ref = load_gallery(DEFAULT_MODEL), load_reference(DEFAULT_MODEL)
    box = at.selectbox(key=decoder_sections.GALLERY_KEY)
    assert box.value == int(gallery["indices"][0]) and "dec_idx" not in {w.key for w in at.number_input}
    pick = int(gallery["indices"][gallery["labels"] == 7][2])
    box.set_value(pick).run()
    next(b for b in at.button if b.label.startswith(f"Start from digit #{pick} (7)")).click().run()
    assert not at.exception
    assert at.session_state["dec_z"] == pytest.approx(ref["z_mean"][pick].tolist(), abs=1e-5)
