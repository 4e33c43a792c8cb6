"""What keeps a page view's server CPU low (issue 24, item 8): figures built once, the collector's heap."""

from __future__ import annotations

import gc
import sys
import types

import pytest

from explorer import heap
from explorer.sections import compare as compare_sections
from explorer.sections import latent_map as latent_map_sections
from tests.support.pages import app_at, on_page, select_on_map


@pytest.fixture()
def latent_figures(monkeypatch) -> list[str]:
    """Every Latent map and Compare figure built from now on (by the view or model's name)."""
    built: list[str] = []
    real = latent_map_sections.figs.latent_figure

    def counted(*args, **kwargs):
        built.append(args[7] if len(args) > 7 else "?")  # the x axis title
        return real(*args, **kwargs)

    monkeypatch.setattr(latent_map_sections.figs, "latent_figure", counted)
    monkeypatch.setattr(compare_sections, "latent_figure", counted)
    latent_map_sections.plain_map_figure.clear()
    compare_sections._map_figure.clear()
    yield built
    latent_map_sections.plain_map_figure.clear()
    compare_sections._map_figure.clear()


def test_the_latent_map_figure_is_built_once_for_every_visitor(latent_figures):
    """Plotly's validators, point by point, were most of a Latent map view's script CPU."""
    first = on_page(app_at(), "pages/latent_map.py")
    assert len(latent_figures) == 1
    spec = first.get("plotly_chart")[0].proto.spec
    again = on_page(app_at(), "pages/latent_map.py")  # another session, the same model and view
    assert len(latent_figures) == 1
    assert again.get("plotly_chart")[0].proto.spec == spec  # shown as built: plotting changed nothing
    select_on_map(again, {"points": [{"customdata": [7.0]}]})  # a pick: that session's own figure
    assert len(latent_figures) == 2
    assert on_page(app_at(), "pages/latent_map.py").get("plotly_chart")[0].proto.spec == spec


def test_compares_maps_are_built_once_per_model(latent_figures):
    on_page(app_at(), "pages/compare.py")
    assert len(latent_figures) == 2  # the left model's and the right's
    on_page(app_at(), "pages/compare.py")
    assert len(latent_figures) == 2


def test_the_garbage_collector_is_kept_off_the_imports_after_new_modules_only(monkeypatch):
    """Streamlit collects after every run; a frozen heap makes that walk the new objects only."""
    frozen: list[int] = []
    monkeypatch.setattr(heap.gc, "freeze", lambda: frozen.append(len(sys.modules)))
    monkeypatch.setattr(heap.gc, "collect", lambda *a: 0)
    monkeypatch.setattr(heap, "_modules_at_freeze", 0)
    heap.freeze_imports()
    heap.freeze_imports()  # nothing imported since: nothing to do
    assert len(frozen) == 1
    monkeypatch.setitem(sys.modules, "latent_explorer_test_module", types.ModuleType("t"))
    heap.freeze_imports()
    assert len(frozen) == 2 and frozen[1] == frozen[0] + 1


def test_the_app_freezes_its_imports():
    app_at()
    assert gc.get_freeze_count() > 0
