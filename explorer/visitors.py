"""Who is who: each browser's owner id, from a login, a trusted proxy's header, or a random cookie."""

# An owner id is a hash, never the secret it comes from: it is written into job and model folders, and a
# visitor who read one could not act as its owner with it. In order:
# 1. a login (`st.login`, when the operator configured OpenID Connect in `.streamlit/secrets.toml`):
#    "u-" + hash of the signed-in user's email (or subject);
# 2. a header set by a trusted reverse proxy that signs people in (VAE_USER_HEADER names it, e.g.
#    "X-Forwarded-User"; only set it when the proxy strips that header from what browsers send):
#    "u-" + hash of its value;
# 3. otherwise a random token in a cookie, kept across reloads for a year: "v-" + hash of the token. The
#    browser stores it (a small component, as for the pixel ratio); the first session of a new browser makes
#    one and keeps it in session state until then.

from __future__ import annotations

import hashlib
import os
import re
import secrets

import streamlit as st

from explorer.text import plain_text

COOKIE = "latent_explorer_visitor"
TOKEN_KEY = "visitor_token"  # session state: this session's cookie token (made here on a first visit)
COOKIE_KEY = "visitor_cookie_writer"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_COOKIE_JS = f"""
export default function({{ data }}) {{
  const known = document.cookie.split("; ").some((c) => c.startsWith("{COOKIE}="));
  if (!known && data) {{
    document.cookie = "{COOKIE}=" + data + "; path=/; max-age=31536000; SameSite=Strict";
  }}
}}
"""
_cookie_writer = st.components.v2.component("latent_explorer.visitor", js=_COOKIE_JS)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:24]


def owner_of_token(token: str) -> str:
    """The owner id of a cookie token (tests use it to act as a given visitor)."""
    return f"v-{digest(token)}"


def owner() -> str:
    """This visitor's owner id."""
    identity = signed_in_identity()
    if identity:
        return f"u-{digest(identity)}"
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        cookie = st.context.cookies.get(COOKIE)
        token = cookie if isinstance(cookie, str) and _TOKEN.fullmatch(cookie) else secrets.token_urlsafe(24)
        st.session_state[TOKEN_KEY] = token
    return owner_of_token(token)


def signed_in_identity() -> str | None:
    """The signed-in user (login or trusted proxy header), if the operator set either up."""
    if login_configured() and st.user.is_logged_in:
        who = st.user.get("email") or st.user.get("sub")
        if who:
            return f"oidc:{who}"
    header = os.environ.get("VAE_USER_HEADER")
    if header:
        value = st.context.headers.get(header)
        if value:
            return f"header:{value}"
    return None


def login_configured() -> bool:
    """Whether the operator configured st.login ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


def login_controls() -> None:
    """Log in / log out in the sidebar, where the operator configured a login."""
    if not login_configured():
        return
    if st.user.is_logged_in:
        st.sidebar.caption(f"Signed in as {plain_text(st.user.get('name') or st.user.get('email') or 'you')}")
        st.sidebar.button("Log out", on_click=st.logout, key="logout")
    else:
        st.sidebar.button("Log in", on_click=st.login, key="login",
                          help="Signed in, your jobs and models follow you to any browser.")


def remember_visitor() -> str:
    """Have the browser keep this session's token in a cookie (once); shows nothing. Returns the owner id."""
    who = owner()
    # Only a cookie visitor ("v-…"; a signed-in one is "u-…") needs the cookie, and only until it is there.
    if who.startswith("v-") and st.context.cookies.get(COOKIE) != st.session_state.get(TOKEN_KEY):
        with st.sidebar:
            _cookie_writer(key=COOKIE_KEY, data=st.session_state[TOKEN_KEY], height=0)
    return who
