"""One person, one name: a console account and the on-call user with the same name are the same person.

The link is checked here, where both are visible (auth knows no on-call domain, on-call knows no accounts)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.oncall import service as oncall_service
from warroom.oncall.models import OncallUser


def oncall_user_of(session: Session, username: str) -> OncallUser | None:
    """The on-call user a console account is (same id as the username), or None when nobody pages them."""
    try:
        return oncall_service.get_user(session, username)
    except NotFound:
        return None


def link_note(session: Session, username: str) -> str:
    """One line saying whether pages for `username` reach the person logging in as `username`."""
    if oncall_user_of(session, username) is not None:
        return f"linked to on-call user {username!r}: pages for them and this login are one person"
    return f"no on-call user {username!r} yet: add one with that id (`warroom user add {username}`) to page them"
