"""Who teaches: the signed-in users VAE_TEACHERS names (owner ids), or the login's group VAE_TEACHER_GROUP."""

# A teacher sees the whole class on the Class page (pages/teacher.py): every job and model with its owner,
# usage, the queue's pause switch; and may stop, delete or publish anything. Only a signed-in identity can
# be a teacher (a login, or a trusted proxy's header: explorer.visitors), never a cookie, which anyone can
# make afresh. Every action the page offers checks again here (require), whatever the menu showed.

from __future__ import annotations

import streamlit as st

import settings
from explorer import visitors

GROUP_CLAIMS = ("groups", "roles")  # where providers list a user's groups (Keycloak, Entra) or app roles


class NotATeacher(PermissionError):
    """Refused: only a teacher may do this."""


def teacher_ids() -> frozenset[str]:
    """VAE_TEACHERS: the teachers' owner ids ("u-…", as the sidebar's "Signed in as" tip shows each user
    theirs), comma-separated; none by default."""
    return frozenset(part.strip() for part in settings.text("VAE_TEACHERS").split(",") if part.strip())


def teacher_group() -> str:
    """VAE_TEACHER_GROUP: a group (or app role) in the login's ID token whose members are teachers; none by
    default. The provider must send it in a `groups` or `roles` claim."""
    return settings.text("VAE_TEACHER_GROUP")


def is_teacher() -> bool:
    """Whether this visitor is signed in as one of the teachers."""
    if visitors.signed_in_identity() is None:
        return False
    if visitors.owner() in teacher_ids():
        return True
    group = teacher_group()
    return bool(group) and group in _claimed_groups()


def _claimed_groups() -> list[str]:
    if not (visitors.login_configured() and st.user.is_logged_in):
        return []
    found = []
    for claim in GROUP_CLAIMS:
        value = st.user.get(claim)
        found += [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
    return found


def require() -> str:
    """The teacher's owner id, for an action only a teacher may take; NotATeacher for anyone else."""
    if not is_teacher():
        raise NotATeacher("Only a teacher can do this.")
    return visitors.owner()


def shown_name() -> str | None:
    """What a signed-in user goes by (their name and e-mail from the login, or the proxy's user), noted
    for the teachers' page; None for a visitor who is not signed in."""
    if visitors.login_configured() and st.user.is_logged_in:
        parts = [st.user.get("name"), st.user.get("email")]
        text = " · ".join(str(p) for p in parts if isinstance(p, str) and p.strip())
        return text or None
    return visitors.proxy_user()
