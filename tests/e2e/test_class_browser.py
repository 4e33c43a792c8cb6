"""Two visitors in two real browser contexts on one server: own jobs and models, sharing, a queue that moves
with every page closed, Markdown names shown as text, and links that name paths or unknown ids; a user
signed in at a proxy (deploy/nginx.conf) in two browsers, and the same identity header forged."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from scripts.balancer import Balancer, nginx_binary
from tests.support.class_jobs import job_states, start_digits_job

from . import REPO, AppServer, exceptions, free_port, scratch_env, wait_idle

OUTPUT = REPO / "test-output"
EVIL = "![x](http://127.0.0.1:9/p.png) **bold**"


PROXY = "127.0.0.2"  # the sign-in proxy connects to the app from here (proxy_bind), browsers from 127.0.0.1
PASSWORDS = {"carol": "carol-password", "mallory": "mallory-password"}


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """An app with its own (empty) jobs and visitors' models folders; one training thread per job. It believes
    a sign-in proxy's identity header from the proxy's address only."""
    root = tmp_path_factory.mktemp("class")
    env = scratch_env(root, VAE_USER_HEADER="X-Forwarded-User", VAE_TRUSTED_PROXIES=PROXY)
    with AppServer(OUTPUT / "class_server.log", env=env) as url:
        yield url, root


@pytest.fixture(scope="module")
def sign_in_proxy(class_server, tmp_path_factory):
    """deploy/nginx.conf in front of the class server, its sign-in (auth_basic) switched on as its comment
    says; its URL."""
    if nginx_binary() is None:
        pytest.skip("no nginx (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("sign_in_proxy")
    users = folder / "users.htpasswd"
    users.write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in PASSWORDS.items()))
    port = int(class_server[0].rsplit(":", 1)[1])
    with Balancer(folder / "nginx", (port, port), free_port(), users=users, bind=PROXY) as url:
        yield url


def new_visitor(browser, signed_in_as: str | None = None, header: str | None = None):
    """A new browser (its own cookies); signed in at the proxy as a user (HTTP basic), and/or sending its
    own identity header (as a forger would)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, http_credentials={
        "username": signed_in_as, "password": PASSWORDS[signed_in_as]} if signed_in_as else None)
    if header:
        context.set_extra_http_headers({"X-Forwarded-User": header})
    context.set_default_timeout(120_000)
    return context


@pytest.mark.slow
def test_two_visitors_on_one_server(browser, class_server):
    url, root = class_server
    alice = new_visitor(browser)
    page = alice.new_page()
    start_digits_job(page, url, "first", root)
    start_digits_job(page, url, f"second {EVIL}", root)
    assert len(job_states(root)) == 2
    # The name is shown as typed: no picture fetched, no link, no bold.
    page.get_by_text("second ![x]", exact=False).first.wait_for()
    shown = page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")  # (see plain_text)
    assert "second ![x](http://127.0.0.1:9/p.png) **bold**" in shown
    assert page.locator("img[src*='127.0.0.1:9']").count() == 0
    assert page.locator("a[href*='127.0.0.1:9']").count() == 0

    # Every page closed (the browser keeps its cookie): the queue still moves, and both jobs finish.
    page.close()
    deadline = time.time() + 600
    while time.time() < deadline and set(job_states(root).values()) != {"done"}:
        time.sleep(2)
    assert set(job_states(root).values()) == {"done"}, job_states(root)

    # Bob: none of Alice's jobs or models, not even through a link naming them.
    bob = new_visitor(browser)
    bpage = bob.new_page()
    bpage.goto(f"{url}/train")
    wait_idle(bpage)
    bpage.get_by_text("No training jobs yet.").wait_for()
    assert "first" not in bpage.locator("[data-testid='stMain']").inner_text()
    [first_model] = [p.name for p in (root / "models").iterdir() if p.name.startswith("first-")]
    for link in (f"user/{first_model}", str(root / "models" / first_model), "/etc"):
        bpage.goto(f"{url}/?model={link}")
        wait_idle(bpage)
        bpage.get_by_text("is not one of this server's models").wait_for()
        assert "latent_dim 2" in bpage.locator("[data-testid='stSidebar']").inner_text()
        assert str(root) not in bpage.content()

    # Alice comes back (same browser): her jobs are there; she opens her model and shares it.
    page = alice.new_page()
    page.goto(f"{url}/train")
    wait_idle(page)
    page.get_by_role("button", name="Use this model").first.wait_for()
    page.goto(f"{url}/?model=user/{first_model}")
    wait_idle(page)
    assert "Current: user/first-" in page.locator("[data-testid='stMain']").inner_text()
    page.get_by_text("Share with the class").click()
    wait_idle(page)

    # Now Bob sees it, marked as shared, and can open it but not change it.
    bpage.goto(f"{url}/?model=user/{first_model}")
    wait_idle(bpage)
    bpage.get_by_text("A classmate shared this model").wait_for()
    assert "Current: user/first-" in bpage.locator("[data-testid='stMain']").inner_text()
    assert bpage.get_by_text("Share with the class").count() == 0

    # Alice deletes it (Home's popover); Bob, still on it, gets the default model and a word why.
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_idle(page)
    assert not (root / "models" / first_model).exists()
    bpage.get_by_role("link", name="Latent map").first.click()  # his next run, through the app's menu
    wait_idle(bpage)
    bpage.get_by_text("deleted or is no longer shared with you").wait_for()
    assert not exceptions(page) and not exceptions(bpage)
    alice.close()
    bob.close()


@pytest.mark.slow
def test_a_user_signed_in_at_the_proxy_is_the_same_owner_in_any_browser_and_nobody_else_is(
        browser, class_server, sign_in_proxy):
    """Behind a proxy that signs people in (VAE_USER_HEADER), the user, not the browser, owns jobs; the header
    counts only from the proxy (VAE_TRUSTED_PROXIES), which sets it itself: a forged one gets nobody in."""
    url, root = class_server
    laptop, phone = new_visitor(browser, "carol"), new_visitor(browser, "carol", header="mallory")
    page = laptop.new_page()
    start_digits_job(page, sign_in_proxy, "carol's", root)
    assert "Signed in as carol" in page.locator("[data-testid='stSidebar']").inner_text()
    page = phone.new_page()  # another browser, no shared cookie, a forged header: the same signed-in user
    page.goto(f"{sign_in_proxy}/train")
    wait_idle(page)
    page.get_by_text("carol's").first.wait_for()
    assert "Signed in as carol" in page.locator("[data-testid='stSidebar']").inner_text()
    # Mallory, signed in at the proxy, claims to be carol in the header; a stranger sends it to the app
    # directly (not from the proxy): neither is carol.
    mallory, stranger = new_visitor(browser, "mallory", header="carol"), new_visitor(browser, header="carol")
    for context, where in ((mallory, sign_in_proxy), (stranger, url)):
        other = context.new_page()
        other.goto(f"{where}/train")
        wait_idle(other)
        other.get_by_text("No training jobs yet.").wait_for()
        assert "carol's" not in other.locator("[data-testid='stMain']").inner_text()
        assert "Signed in as carol" not in other.locator("[data-testid='stSidebar']").inner_text()
        assert not exceptions(other)
    assert "Signed in as mallory" in mallory.pages[0].locator("[data-testid='stSidebar']").inner_text()
    # Nobody gets past the proxy without signing in.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{sign_in_proxy}/train", timeout=10)
    assert refused.value.code == 401
    for context in (laptop, phone, mallory, stranger):
        context.close()
