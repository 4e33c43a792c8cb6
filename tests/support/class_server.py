"""Visitors of one class server as AppTest sessions: their tokens, their models, a page as they see it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer import models
from explorer.visitors import TOKEN_KEY, owner_of_token
from jobservice import JobSpec, LocalProcessRunner, user_models
from vae.bundles.bundle import (
    CARD_JSON,
    CARD_MD,
    DEFAULT_MODEL,
    read_json,
    render_card,
    write_json,
    write_text,
)

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"
EVIL_NAME = "![x](http://evil.example/p.png) [Login](http://evil.example) **bold**"


def owner(token: str) -> str:
    return owner_of_token(token)


def visitor_model(server: LocalProcessRunner, token: str, folder: str, name: str) -> Path:
    """A model of this visitor's (the shipped default's files, hard-linked, under another name)."""
    dst = server.models_dir / folder
    shutil.copytree(DEFAULT_MODEL, dst, copy_function=os.link)
    card = {**read_json(dst / CARD_JSON), "name": name}
    write_json(dst / CARD_JSON, card)  # replaced, not written through the link
    (dst / CARD_MD).unlink()
    write_text(dst / CARD_MD, render_card(card))
    user_models.set_owner(dst, owner(token))
    return dst


def job(name: str) -> JobSpec:
    return JobSpec(dataset="digits", preset="default", latent_dim=2, beta=1.0, epochs=1, name=name)


def visit(token: str, page: str | None = None, model: str | None = None, user: dict | None = None,
          secrets: dict | None = None):
    """app.py (then `page`) in AppTest in the browser holding cookie `token`, on the link's `model`; `user`
    fakes st.user, `secrets` the operator's secrets.toml (its [auth] section: a login)."""
    models.forget_models()  # another "session" changed the folder a moment ago
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[TOKEN_KEY] = token
    if model is not None:
        at.query_params["model"] = model
    if user is not None:
        at.user = user
    if secrets:
        at.secrets = secrets
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def texts(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error,
                                           *at.success])


# Class mode: an [auth] login configured (its provider never reached: AppTest fakes st.user).
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
                 "client_id": "latent-explorer", "client_secret": "x",
                 "server_metadata_url": "https://id.example/.well-known/openid-configuration"}}
ISSUER = "https://id.example"


def signed_in(sub: str, **claims) -> dict:
    """st.user as Streamlit fills it from a provider's ID token (more claims, e.g. groups, as given)."""
    return {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email": f"{sub}@school.example",
            "name": sub.title(), **claims}


def user_owner(sub: str) -> str:
    """The owner id of a user signed in at ISSUER (explorer.visitors: "u-" + a hash of issuer and subject)."""
    from explorer.visitors import digest

    return f"u-{digest(f'oidc:{ISSUER} {sub}')}"


def owned_model(server: LocalProcessRunner, owner_id: str, folder: str, name: str) -> Path:
    """A model of this owner's (signed in or not), as visitor_model makes one for a cookie."""
    path = visitor_model(server, "unused-token-0123456789", folder, name)
    user_models.set_owner(path, owner_id)
    return path
