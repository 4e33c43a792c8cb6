"""Shared links in a real browser: a link to a model this server does not have says so."""

from __future__ import annotations

import pytest

from . import MENU, wait_idle

pytestmark = pytest.mark.e2e

ALERTS = "[data-testid='stMain'] [data-testid='stAlert']"


def test_a_bad_model_link_shows_a_message_that_stays(page, app_url):
    page.goto(f"{app_url}/?model=models/does-not-exist", wait_until="domcontentloaded")
    wait_idle(page)
    alerts = " ".join(page.locator(ALERTS).all_inner_texts())
    assert "models/does-not-exist" in alerts and "not one of this server's models" in alerts
    assert "model=mnist-2d" in page.url  # the link now names, by its id, what is shown
    page.locator(MENU, has_text="Decoder").click()
    wait_idle(page)
    assert "not one of this server's models" in " ".join(page.locator(ALERTS).all_inner_texts())
    # Picking a model on Home answers the notice.
    page.locator(MENU, has_text="Home").click()
    wait_idle(page)
    page.get_by_text("Model for every page").wait_for()
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="MNIST, 16-D", exact=False).first.click()
    wait_idle(page)
    assert "not one of this server's models" not in " ".join(page.locator(ALERTS).all_inner_texts())
