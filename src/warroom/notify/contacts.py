"""A person's contact methods: the labelled Apprise URLs their messages may go to, in their order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.errors import InvalidInput, NotFound
from warroom.notify.apprise_send import check_url
from warroom.notify.config_models import ContactConfig
from warroom.notify.models import ContactMethod


def contacts_of(session: Session, user_id: str) -> list[ContactMethod]:
    """The user's contact methods in their order."""
    return list(
        session.scalars(
            select(ContactMethod)
            .where(ContactMethod.user_id == user_id)
            .order_by(ContactMethod.position, ContactMethod.id)
        )
    )


def _check_contact(label: str, url: str, field: str) -> None:
    if not label.strip():
        raise InvalidInput("A contact method needs a label.", field=field)
    problem = check_url(url)
    if problem is not None:
        raise InvalidInput(f"Contact {label!r}: {problem}.", field=field)


def set_contacts(session: Session, user_id: str, contacts: Sequence[ContactConfig], *, now: datetime) -> None:
    """Replace the user's contact methods with `contacts` (keeping rows whose label and URL are unchanged)."""
    wanted: dict[str, str] = {}
    for index, contact in enumerate(contacts):
        label = contact.label or contact.url.split("://", 1)[0]
        _check_contact(label, contact.url, f"contacts.{index}")
        if label in wanted:
            raise InvalidInput(
                f"Two contacts are labelled {label!r}: give each its own label.", field=f"contacts.{index}"
            )
        wanted[label] = contact.url
    existing = {c.label: c for c in contacts_of(session, user_id)}
    for label, row in existing.items():
        if wanted.get(label) != row.url:
            session.delete(row)
    session.flush()
    for position, (label, url) in enumerate(wanted.items()):
        kept = existing.get(label)
        if kept is not None and kept.url == url:
            kept.position = position
        else:
            session.add(ContactMethod(user_id=user_id, label=label, url=url, position=position, created_at=now))
    session.flush()


def add_contact(session: Session, user_id: str, label: str, url: str, *, now: datetime) -> ContactMethod:
    """Add one contact method to a user."""
    _check_contact(label, url, "url")
    if any(c.label == label for c in contacts_of(session, user_id)):
        raise InvalidInput(f"User {user_id!r} already has a contact labelled {label!r}.", field="label")
    position = len(contacts_of(session, user_id))
    contact = ContactMethod(user_id=user_id, label=label, url=url, position=position, created_at=now)
    session.add(contact)
    session.flush()
    return contact


def remove_contact(session: Session, user_id: str, label: str) -> None:
    """Remove one of the user's contact methods by label."""
    contact = next((c for c in contacts_of(session, user_id) if c.label == label), None)
    if contact is None:
        raise NotFound(f"User {user_id!r} has no contact labelled {label!r}.", field="label")
    session.delete(contact)
