"""The app in Streamlit's AppTest: open it (with a query string), switch pages, send a map selection."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.widget_states import rerun_with, string_state

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")


def open_page(page: str, model_path: str | None = None):
    """Run app.py in AppTest (optionally on another model), switch to `page`, and check it ran cleanly."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    if model_path:
        at.session_state["model_path"] = model_path
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def app_at(**query) -> AppTest:
    """app.py in AppTest, opened with this query string, run once and checked to have run cleanly."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def on_page(at: AppTest, page: str) -> AppTest:
    """Switch `at` to `page` (a path such as "pages/decoder.py"), run it and check it ran cleanly."""
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def select_on_map(at: AppTest, selection: dict) -> None:
    """Rerun as if the browser sent this Plotly selection event for the map (AppTest cannot click a chart).

    The event goes in as the chart widget's state, exactly as the frontend sends it (a JSON string).
    """
    chart_id = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("map_chart")).proto.id
    event = {"selection": {"points": [], "point_indices": [], "box": [], "lasso": [], **selection}}
    rerun_with(at, add=[string_state(chart_id, json.dumps(event))])
