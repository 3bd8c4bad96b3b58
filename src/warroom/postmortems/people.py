"""Who a post-mortem or an action item answers to: on-call users and the contacts a reminder goes to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.errors import InvalidInput, NotFound
from warroom.notify.models import ContactMethod
from warroom.oncall import rules
from warroom.oncall import service as oncall


def check_owner(session: Session, owner: str, *, field: str = "owner") -> str:
    """The id of the on-call user `owner` names (id, name or email); InvalidInput when there is none."""
    name = owner.strip().lstrip("@")
    try:
        return oncall.get_user(session, name).id
    except NotFound:
        found = oncall.resolver(session)(name)
        if found is None:
            raise InvalidInput(
                f"Owner {owner!r} is not an on-call user: see `warroom user list`.", field=field
            ) from None
        return str(found)


def user_of(session: Session, name: str | None) -> str | None:
    """The on-call user a commander's name means, or None."""
    if not name:
        return None
    found = oncall.resolver(session)(name)
    return str(found) if found is not None else None


def reminder_contacts(session: Session, user_id: str) -> list[ContactMethod]:
    """Where a reminder to `user_id` goes (their first notification rule's contacts)."""
    return rules.reminder_contacts(session, user_id)
