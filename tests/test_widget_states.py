"""The one private Streamlit hook the page tests use (tests/support/widget_states.py) still does its job."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support.widget_states import rerun_with, string_state

# A widget without a key: its value on a run is what that run's widget states say, or its default.
SCRIPT = """
import streamlit as st
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
st.session_state["seen"] = st.text_input("t", "default")
"""


def test_a_dropped_state_reaches_the_script_as_no_state():
    at = AppTest.from_string(SCRIPT).run()
    at.text_input[0].input("typed").run()
    assert at.session_state["seen"] == "typed"
    rerun_with(at, drop=[at.text_input[0].proto.id])  # as a browser that has not drawn it yet
    # The script ran again; with no state from the browser, the server keeps the last value it had.
    assert at.session_state["runs"] == 3 and at.session_state["seen"] == "typed"


def test_an_added_state_reaches_the_script():
    at = AppTest.from_string(SCRIPT).run()
    widget_id = at.text_input[0].proto.id
    rerun_with(at, drop=[widget_id], add=[string_state(widget_id, "sent")])
    assert at.session_state["seen"] == "sent"
