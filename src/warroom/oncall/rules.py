"""A person's notification rules: which of their contact methods a page or a reminder goes to, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.notify.contacts import contacts_of
from warroom.notify.models import ContactMethod
from warroom.oncall import service as oncall
from warroom.timeparse import parse_duration


def urgency_of(runtime: Any, severity: str) -> str:
    """`high` for the two most severe ranks (P0, P1 by default), else `low`."""
    return "high" if runtime.severities.get(severity).rank <= 1 else "low"


def page_deliveries(
    session: Session, runtime: Any, severity: str, user_id: str, now: datetime
) -> list[tuple[ContactMethod, datetime]]:
    """The (contact method, when due) a page of this severity goes to, following the user's rules in order."""
    user = oncall.get_user(session, user_id)
    urgency = urgency_of(runtime, severity)
    contacts = {c.label: c for c in contacts_of(session, user_id)}
    deliveries: list[tuple[ContactMethod, datetime]] = []
    for rule in oncall.rules_of(user):
        if rule.urgency not in ("any", urgency):
            continue
        labels = list(contacts) if rule.contacts == "all" else [c for c in rule.contacts if c in contacts]
        due = now + parse_duration(rule.after)
        deliveries.extend((contacts[label], due) for label in labels)
    return deliveries


def reminder_contacts(session: Session, user_id: str) -> list[ContactMethod]:
    """The contact methods of the user's first rule: where an update reminder goes (none for an unknown user)."""
    contacts = contacts_of(session, user_id)
    try:
        user = oncall.get_user(session, user_id)
    except NotFound:
        return []
    rule = oncall.rules_of(user)[0]
    if rule.contacts == "all":
        return contacts
    return [c for c in contacts if c.label in rule.contacts]
