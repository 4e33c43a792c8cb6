"""Who is who: each browser's owner id, from a login, a trusted proxy's header, or a random cookie."""

# An owner id is a hash, never the secret it comes from: it is written into job and model folders, and a
# visitor who read one could not act as its owner with it. In order:
# 1. a login (`st.login`, when the operator configured OpenID Connect: `[auth]` in `.streamlit/secrets.toml`):
#    "u-" + hash of the provider (`iss`) and the user's subject (`sub`), the one claim a provider promises
#    never to reuse or let a user change (an e-mail claim can be unverified, or pass to someone else);
# 2. a header set by a reverse proxy that signs people in (VAE_USER_HEADER names it, e.g. "X-Forwarded-User"),
#    believed only on a connection from the proxy's own address (VAE_TRUSTED_PROXIES): "u-" + hash of it;
# 3. otherwise a random token in a cookie, kept across reloads for a year: "v-" + hash of the token. The
#    browser stores it (a small component, as for the pixel ratio); the first session of a new browser makes
#    one and keeps it in session state until then.
#
# With a login configured the app runs in class mode: anyone may explore the shipped and shared models, but
# training, importing and sharing need a signed-in user (`may_act`), so that what a person does follows them
# to any browser and a new cookie is not a new person.

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import secrets

import streamlit as st

import settings
from explorer import icons
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
        sub = st.user.get("sub")  # every OpenID Connect ID token has one
        if sub:
            return f"oidc:{st.user.get('iss') or ''} {sub}"
    user = proxy_user()
    return f"header:{user}" if user else None


def proxy_user() -> str | None:
    """The user named by the sign-in proxy's header (VAE_USER_HEADER), on a connection from the proxy only.

    Anyone can send any header: it counts only when the connection comes from an address in
    VAE_TRUSTED_PROXIES (none by default: the header is then ignored), and the proxy sets it itself,
    replacing what a browser sent (deploy/nginx.conf)."""
    header = settings.text("VAE_USER_HEADER")
    if not header:
        return None
    value = (st.context.headers.get(header) or "").strip()
    if not value:
        return None
    trusted = settings.text("VAE_TRUSTED_PROXIES")
    if not trusted_peer(st.context.ip_address, trusted):
        # (once per process: the address is left out, or each new one would be another line kept)
        _warn_once(f"a request carried the {header} header from an address not in VAE_TRUSTED_PROXIES"
                   f"{'' if trusted.strip() else ' (which is empty)'}: ignored")
        return None
    return value


def trusted_peer(ip: str | None, trusted: str) -> bool:
    """Whether a connection from `ip` comes from one of `trusted`'s comma-separated addresses or networks
    ("127.0.0.1", "10.0.0.0/8"). `ip` is st.context.ip_address, which is None for this machine's own
    127.0.0.1 and ::1 (a proxy on the same machine)."""
    if ip is None:
        peers = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    else:
        try:
            peer = ipaddress.ip_address(ip.split("%")[0])  # (an IPv6 zone, "fe80::1%eth0", is no address)
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
            peer = peer.ipv4_mapped  # "::ffff:10.0.0.2" on a dual-stack socket is 10.0.0.2
        peers = [peer]
    return any(peer in net for peer in peers for net in _networks(trusted))  # (v4 is never in a v6 net)


@functools.lru_cache(maxsize=8)
def _networks(trusted: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    found = []
    for item in (part.strip() for part in trusted.split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:  # a typo trusts nobody rather than something unintended
            _warn_once(f"VAE_TRUSTED_PROXIES: {item!r} is not an IP address or network; left out")
    return tuple(found)


_WARNED: set[str] = set()


def _warn_once(text: str) -> None:
    """A line in the server's log for the operator, once per process (not once per request)."""
    if text not in _WARNED:
        _WARNED.add(text)
        print(f"Latent Explorer: {text}", flush=True)


def login_configured() -> bool:
    """Whether the operator configured st.login ([auth] in .streamlit/secrets.toml): class mode."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


def may_act(class_mode: bool, identity: str | None) -> bool:
    """Whether a visitor may train, import or share: anyone where nobody signs in (one person on their own
    machine, or a trusted network), only a signed-in user in class mode."""
    return not class_mode or identity is not None


class SignInNeeded(ValueError):
    """Refused: in class mode, training, importing and sharing need a signed-in user."""


def can_act() -> bool:
    """Whether this visitor may train, import and share (see may_act)."""
    return may_act(login_configured(), signed_in_identity())


def acting_owner(what: str = "do this") -> str:
    """This visitor's owner id, for something that creates or shares (a job, an import, sharing a model);
    an anonymous visitor in class mode is refused, whatever the page showed them."""
    if not can_act():
        raise SignInNeeded(f"Sign in to {what}: on this server, training, importing and sharing are for "
                           "signed-in users.")
    return owner()


def sign_in_prompt(what: str, key: str) -> bool:
    """In class mode, for an anonymous visitor: say that `what` needs signing in, with a sign-in button
    (instead of the form); True when shown."""
    if can_act():
        return False
    with st.container(border=True):
        st.info(f"Sign in to {what}. Signed in, your jobs and models are yours on any browser; anyone may "
                "explore the shipped models and those shared with the class.", icon=icons.LOCK)
        st.button("Sign in", on_click=st.login, key=key, type="primary")
    return True


def login_controls() -> None:
    """Sign in / sign out in the sidebar, where the operator configured a login; a proxy's user is named."""
    if login_configured() and st.user.is_logged_in:
        st.sidebar.caption(f"Signed in as {plain_text(st.user.get('name') or st.user.get('email') or 'you')}",
                           help=f"Your id on this server: {owner()} (VAE_TEACHERS names teachers by it).")
        st.sidebar.button("Sign out", on_click=st.logout, key="logout")
    elif login_configured():
        st.sidebar.button("Sign in", on_click=st.login, key="login",
                          help="Signed in, your jobs and models follow you to any browser.")
    if not (login_configured() and st.user.is_logged_in) and proxy_user():
        st.sidebar.caption(f"Signed in as {plain_text(proxy_user())} (by this server's sign-in)")


def remember_visitor() -> str:
    """Have the browser keep this session's token in a cookie (once); shows nothing. Returns the owner id."""
    who = owner()
    # Only a cookie visitor ("v-…"; a signed-in one is "u-…") needs the cookie, and only until it is there.
    if who.startswith("v-") and st.context.cookies.get(COOKIE) != st.session_state.get(TOKEN_KEY):
        with st.sidebar:
            _cookie_writer(key=COOKIE_KEY, data=st.session_state[TOKEN_KEY], height=0)
    return who
