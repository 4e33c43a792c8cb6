"""Class mode (an `[auth]` login configured), in AppTest with a faked st.user: anonymous visitors explore but
do not train, import or share; a signed-in user's jobs are theirs in any browser. And the proxy's identity
header is believed only from VAE_TRUSTED_PROXIES."""

from __future__ import annotations

import pytest

from tests.support import class_server
from tests.support.class_server import ALICE, BOB, texts, visitor_model

AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
                 "client_id": "latent-explorer", "client_secret": "x",
                 "server_metadata_url": "https://id.example/.well-known/openid-configuration"}}
ISSUER = "https://id.example"
ANONYMOUS = {"is_logged_in": False}


def signed_in(sub: str) -> dict:
    """st.user as Streamlit fills it from a provider's ID token."""
    return {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email": f"{sub}@school.example",
            "name": sub.title()}


def visit(token: str, user: dict, page: str | None = None, auth: bool = True, model: str | None = None):
    """app.py (then `page`) in the browser holding cookie `token`, as `user`, with or without a login."""
    return class_server.visit(token, page, model, user=user, secrets=AUTH if auth else None)


def labels(at) -> list[str]:
    return [b.label for b in [*at.button, *at.get("form_submit_button")]]


def user_owner(sub: str) -> str:
    from explorer.visitors import digest

    return f"u-{digest(f'oidc:{ISSUER} {sub}')}"


def test_class_mode_anonymous_visitors_get_a_sign_in_button_instead_of_the_forms(server):
    at = visit(ALICE, ANONYMOUS)  # Home: exploring stays open, the shipped models listed
    assert len(at.selectbox(key="home_model").options) >= 2 and not at.get("toggle")
    assert "Sign in" in [b.label for b in at.sidebar.button]
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert "Start training" not in labels(at) and "Sign in" in labels(at)
    assert "Sign in to train a model." in texts(at)
    at.switch_page("pages/import_model.py").run()
    assert not at.exception, at.exception
    assert not at.get("file_uploader") and "Import" not in labels(at)
    assert "Sign in to import a model." in texts(at)


def test_class_mode_a_signed_in_users_job_is_theirs_in_any_browser(server):
    at = visit(ALICE, signed_in("alice"), "pages/train.py")
    assert "Sign in" not in labels(at)
    at.selectbox[0].select("digits")
    at.text_input[0].input("alice's digits")
    next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()
    assert not at.exception and not at.error, at.error
    [queued] = server.list()
    assert queued.owner == user_owner("alice")  # not the cookie's owner
    # Alice on another browser (another cookie): her job; Bob signed in on Alice's browser: not his.
    assert "alice's digits" in texts(visit(BOB, signed_in("alice"), "pages/train.py"))
    bob = visit(ALICE, signed_in("bob"), "pages/train.py")
    assert "alice's digits" not in texts(bob) and "No training jobs yet." in texts(bob)
    # The sidebar names who is signed in, with a way out.
    home = visit(ALICE, signed_in("alice"))
    assert "Signed in as Alice" in " ".join(c.value for c in home.sidebar.caption)
    assert "Sign out" in [b.label for b in home.sidebar.button]


def test_class_mode_sharing_needs_a_signed_in_user(server):
    visitor_model(server, ALICE, "old-abc123", "From before the login")  # a cookie visitor's, from before
    key, link = "share-user/old-abc123", "user/old-abc123"
    assert visit(ALICE, ANONYMOUS, model=link).toggle(key=key).disabled
    assert not visit(ALICE, {}, model=link, auth=False).toggle(key=key).disabled  # no login: as before


def test_without_a_login_anonymous_visitors_train_as_before(server):
    at = visit(ALICE, {}, "pages/train.py", auth=False)
    assert "Start training" in labels(at) and "Sign in" not in labels(at)


def test_starting_a_job_is_refused_to_an_anonymous_visitor_in_class_mode_whatever_the_page():
    """acting_owner, which every start and share goes through, refuses even where a form was shown."""
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from explorer import visitors

        try:
            st.write(visitors.acting_owner("train a model"))
        except visitors.SignInNeeded as exc:
            st.error(str(exc))

    at = AppTest.from_function(script)
    at.user, at.secrets = ANONYMOUS, AUTH
    at.run()
    assert [e.value for e in at.error] == [
        "Sign in to train a model: on this server, training, importing and sharing are for signed-in users."]
    at.user = signed_in("alice")
    at.run()
    assert not at.error and user_owner("alice") in at.markdown[0].value


@pytest.mark.parametrize("class_mode, identity, allowed", [
    (False, None, True),  # one person on their own machine: as before
    (False, "header:carol", True),
    (True, None, False),  # class mode: anonymous visitors explore only
    (True, "oidc:https://id.example alice", True),
])
def test_who_may_train_import_and_share(class_mode, identity, allowed):
    from explorer.visitors import may_act

    assert may_act(class_mode, identity) is allowed


@pytest.mark.parametrize("ip, trusted, believed", [
    ("203.0.113.7", "", False),  # nothing trusted by default: the header is ignored
    (None, "", False),
    ("203.0.113.7", "127.0.0.1", False),  # a browser straight to the app
    (None, "127.0.0.1", True),  # nginx on this machine (Streamlit says None for 127.0.0.1 and ::1)
    (None, "::1", True),
    ("10.0.0.2", "10.0.0.0/24, 192.0.2.1", True),
    ("192.0.2.1", "10.0.0.0/24, 192.0.2.1", True),
    ("::ffff:10.0.0.2", "10.0.0.0/24", True),  # IPv4 on a dual-stack socket
    ("10.0.1.2", "10.0.0.0/24", False),
    ("10.0.0.2", "10.0.0.0/24x", False),  # a typo trusts nobody
    ("not an address", "0.0.0.0/0", False),
])
def test_the_identity_header_is_believed_only_from_a_trusted_proxy(ip, trusted, believed):
    from explorer.visitors import trusted_peer

    assert trusted_peer(ip, trusted) is believed
