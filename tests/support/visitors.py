"""A visitor in AppTest: their cookie token, their owner id, and the Train page as they see it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.visitors import TOKEN_KEY, owner_of_token

APP = str(Path(__file__).resolve().parents[2] / "app.py")


ALICE = "alice-token-0123456789"  # a visitor's cookie token (explorer.visitors)


def owner(token: str = ALICE) -> str:
    return owner_of_token(token)


def train_page(token: str = ALICE):
    """The Train page in AppTest, as the visitor whose browser holds this cookie token."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[TOKEN_KEY] = token
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def import_page(token: str = ALICE):
    """The Import page in AppTest, as the visitor whose browser holds this cookie token."""
    at = train_page(token)
    at.switch_page("pages/import_model.py").run()
    assert not at.exception, at.exception
    return at
