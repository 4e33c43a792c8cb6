"""Rerun an AppTest as if the browser had sent other widget states: a chart's selection, a component's value.

AppTest has no public way to send a Plotly selection event or a custom component's value, nor to hold back
a widget's state as a browser that has not drawn it yet does. Streamlit's testing ElementTree builds the
widget states each run sends (`get_widget_states`, not a public API); this is the one place that wraps it,
and tests/test_widget_states.py fails if it stops working.
"""

from __future__ import annotations

from collections.abc import Iterable

from streamlit.proto.WidgetStates_pb2 import WidgetState


def rerun_with(at, add: Iterable[WidgetState] = (), drop: Iterable[str] = ()) -> None:
    """Run `at` once more with the WidgetStates in `add` sent too and those of the ids in `drop` left out."""
    from streamlit.testing.v1 import element_tree

    add, drop = list(add), set(drop)
    original = element_tree.ElementTree.get_widget_states

    def states(self):
        got = original(self)
        kept = [w for w in got.widgets if w.id not in drop]
        del got.widgets[:]
        got.widgets.extend([*kept, *add])
        return got

    element_tree.ElementTree.get_widget_states = states
    try:
        at.run()
    finally:
        element_tree.ElementTree.get_widget_states = original
    assert not at.exception, at.exception


def json_state(widget_id: str, value: str) -> WidgetState:
    """A widget's state carrying a JSON value, as a component sends it."""
    return WidgetState(id=widget_id, json_value=value)


def string_state(widget_id: str, value: str) -> WidgetState:
    """A widget's state carrying a string, as a chart sends its selection event."""
    return WidgetState(id=widget_id, string_value=value)
