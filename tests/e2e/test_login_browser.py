"""Sign-in for real: the app with an `[auth]` login (st.login, OpenID Connect) against a local OpenID Connect
provider (oidc-provider-mock), in Chromium: two users, each in two browsers, see only their own jobs; signed
out, or never signed in, nobody starts a job."""

from __future__ import annotations

import importlib.util
import json
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.class_jobs import job_states, start_digits_job

from . import REPO, AppServer, exceptions, free_port, scratch_env, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OUTPUT = REPO / "test-output"
SIDEBAR, MAIN = "[data-testid='stSidebar']", "[data-testid='stMain']"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """oidc-provider-mock on a free port (any client id is accepted; its login form asks for a subject); its
    issuer URL. Ended by its own process id."""
    if importlib.util.find_spec("oidc_provider_mock") is None:
        pytest.skip("no oidc-provider-mock (pip install -r requirements.txt)")
    port = free_port()
    log = open(OUTPUT / "oidc_provider.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port",
                             str(port)], stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as r:
                    assert json.load(r)["issuer"].rstrip("/") == issuer
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the OpenID Connect provider did not start: {log.name}") from None
                time.sleep(0.2)
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def class_app(provider, tmp_path_factory):
    """The app in class mode: its [auth] section (in a secrets.toml of the test's own, never the checkout's)
    names the provider. Jobs stay queued (VAE_MAX_JOBS=0): nothing trains."""
    root = tmp_path_factory.mktemp("login")
    port = free_port()
    secrets_toml = root / "secrets.toml"
    secrets_toml.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_urlsafe(32)}"
client_id = "latent-explorer"
client_secret = "{secrets.token_urlsafe(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    env = scratch_env(root, VAE_MAX_JOBS="0")
    with AppServer(OUTPUT / "login_server.log", env=env, port=port,
                   args=("--secrets.files", str(secrets_toml))) as url:
        yield url, root


def sign_in(browser, url: str, subject: str):
    """A new browser that signs in as `subject` through the provider's form; its page, on Home."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    page.locator(SIDEBAR).get_by_role("button", name="Sign in").click()
    page.locator("input[name='sub']").fill(subject)  # the provider's own page
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")
    wait_idle(page)
    assert f"Signed in as {subject}" in page.locator(SIDEBAR).inner_text()
    return page


def train_page_text(page, url: str) -> str:
    page.goto(f"{url}/train")
    wait_idle(page)
    return page.locator(MAIN).inner_text()


def test_two_users_each_in_two_browsers_see_their_own_jobs_and_anonymous_visitors_start_none(
        browser, class_app):
    url, root = class_app
    alice = [sign_in(browser, url, "alice"), sign_in(browser, url, "alice")]
    bob = [sign_in(browser, url, "bob"), sign_in(browser, url, "bob")]
    start_digits_job(alice[0], url, "alice $x^2$ digits", root)
    start_digits_job(bob[1], url, "bob's digits", root)
    assert set(job_states(root)) == {"alice $x^2$ digits", "bob's digits"}
    for page in alice:
        shown = train_page_text(page, url)
        assert "alice $x^2$ digits" in shown and "bob's digits" not in shown
        assert page.locator(".katex").count() == 0  # a name's $…$ is text, not math
    for page in bob:
        shown = train_page_text(page, url)
        assert "bob's digits" in shown and "alice" not in shown

    # Alice signs out (the provider asks to end its session too): the page is anonymous, her jobs are not
    # listed, and there is no form to start one with.
    page = alice[0]
    page.locator(SIDEBAR).get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's own page
    page.wait_for_url(f"{url}/**")
    wait_idle(page)
    assert page.locator(SIDEBAR).get_by_role("button", name="Sign in").count() == 1
    shown = train_page_text(page, url)
    assert "Sign in to train a model." in shown and "alice $x^2$ digits" not in shown
    assert page.get_by_role("button", name="Start training").count() == 0

    # A visitor who never signed in: the same, on the Import page too (no uploader).
    anonymous = browser.new_context(viewport={"width": 1400, "height": 1000})
    anonymous.set_default_timeout(120_000)
    stranger = anonymous.new_page()
    assert "Sign in to train a model." in train_page_text(stranger, url)
    assert stranger.get_by_role("button", name="Start training").count() == 0
    stranger.goto(f"{url}/import_model")
    wait_idle(stranger)
    assert "Sign in to import a model." in stranger.locator(MAIN).inner_text()
    assert stranger.locator("[data-testid='stFileUploader']").count() == 0
    assert len(job_states(root)) == 2
    for p in [*alice, *bob, stranger]:
        assert not exceptions(p), exceptions(p)
    for p in [*alice, *bob]:
        p.context.close()
    anonymous.close()
