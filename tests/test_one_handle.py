"""One model handle per run: app.py resolves the current model once, and every page works from that handle."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import cache, models
from tests.support.pages import app_at, on_page

PAGES = ["home", "latent_map", "decoder", "encode", "train", "import_model", "how_it_works", "compare",
         "directions", "interpolate"]


@pytest.fixture()
def served_calls(monkeypatch) -> list[str]:
    """Every served_model call from now on (the bundle folder asked for); models are still loaded."""
    calls: list[str] = []
    real = models.served_model

    def counted(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(models, "served_model", counted)
    return calls


def test_app_py_resolves_the_model_once_and_the_page_takes_it_from_there(served_calls):
    """app.py and the page it runs (Home): one served_model call (the sidebar's, then Home's, were two)."""
    at = app_at()
    assert len(served_calls) == 1, served_calls
    assert models.HANDLE_KEY not in at.session_state  # let go at the run's end: nothing kept loaded


# AppTest runs a page other than the first on its own, without app.py: the page resolves the handle itself.
@pytest.mark.parametrize("page", PAGES)
def test_served_model_runs_once_per_run(page, served_calls):
    """One Decoder run used to call it 4 times (and the catalogue twice, the current model's path twice)."""
    at = app_at()
    at.switch_page(f"pages/{page}.py")
    served_calls.clear()
    on_page(at, f"pages/{page}.py")
    # Compare opens on the β pair: each of its two models is a handle of its own, resolved once too (beside
    # the current model's); Import needs no model.
    assert len(served_calls) == {"compare": 3, "import_model": 0}.get(page, 1), served_calls
    assert len(set(served_calls)) == len(served_calls), served_calls
    assert models.HANDLE_KEY not in at.session_state


def test_a_decoder_slider_move_resolves_the_model_once(served_calls):
    at = on_page(app_at(), "pages/decoder.py")
    lo, hi = at.slider[0].min, at.slider[0].max
    served_calls.clear()
    at.slider[0].set_value((lo + hi) / 3).run()
    assert not at.exception
    assert len(served_calls) == 1, served_calls


def test_compare_takes_the_current_models_handle_and_resolves_the_other_once(served_calls):
    at = app_at(compare="mnist-16d")  # the current model (mnist-2d) on the left
    served_calls.clear()
    on_page(at, "pages/compare.py")
    assert sorted(p.rsplit("/", 1)[-1] for p in served_calls) == ["mnist-16d", "mnist-2d"]


class _Fake:
    """Stands in for a ServedModel without reference encodings: enough for cache.latent_ranges."""

    latent_dim, reference = 3, None


def test_the_cache_keys_a_handle_by_its_bundle_and_save_alone():
    """Not by its served model (which Streamlit would copy to hash) nor by its id (one visitor's name)."""
    cache.latent_ranges.clear()
    try:
        first = cache.latent_ranges(models.Handle("/nowhere/a", 1.0, _Fake()))
        same = cache.latent_ranges(models.Handle("/nowhere/a", 1.0, _Fake(), models.Entry("a", "/a", "A")))
        resaved = models.Handle("/nowhere/a", 2.0, type("Wider", (_Fake,), {"latent_dim": 5})())
        assert np.array_equal(first["mean"], same["mean"])
        assert cache.latent_ranges(resaved)["mean"].shape == (5,)  # a new save: computed afresh
    finally:
        cache.latent_ranges.clear()


def test_while_the_browser_decodes_a_slider_move_decodes_no_single_z_on_the_server(monkeypatch):
    """The Decoder's decoder(z) image is the browser's while live decoding runs: the server used to decode z
    and make its PNG on every slider move all the same. Now it does only when it shows the image (live
    decoding off), or when the PNG is downloaded."""
    from vae.bundles.serving import ServedModel

    rows: list[int] = []
    real = ServedModel.decode

    def counted(self, z):
        rows.append(len(z))
        return real(self, z)

    monkeypatch.setattr(ServedModel, "decode", counted)
    at = on_page(app_at(), "pages/decoder.py")
    lo, hi = at.slider[0].min, at.slider[0].max
    rows.clear()
    at.slider[0].set_value((lo + hi) / 3).run()
    assert not at.exception and 1 not in rows, rows
    at.toggle(key="dec_live_on").set_value(False).run()
    rows.clear()
    at.slider[0].set_value((lo + hi) / 4).run()
    assert not at.exception and rows.count(1) == 1, rows
