"""Status-update reminders: when an open incident's update is overdue, remind whoever answers for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM
from warroom.engine import jobs
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.notify import service as notify
from warroom.oncall import paging, rules
from warroom.oncall import service as oncall
from warroom.oncall.targets import resolve_targets
from warroom.timeparse import format_duration

# The kind keeps its old name: reminders already queued in a database are rows of this kind.
REMINDER = "notify.reminder"


def schedule_reminder(session: Session, runtime: Any, incident: Incident, now: datetime) -> None:
    """Plan the next status-update reminder by the severity's cadence (none for severities without one)."""
    cadence = runtime.severities.get(incident.severity).update_every
    if cadence is None or not incident.is_open:
        jobs.cancel(session, REMINDER, key=str(incident.id))
        return
    last = incident.last_update_at or incident.created_at
    jobs.schedule(session, REMINDER, key=str(incident.id), due=max(last + cadence, now), now=now)


def remind(session: Session, runtime: Any, incident: Incident, now: datetime) -> datetime | None:
    """Remind the commander (else whoever is on call for the incident) that an update is due.

    Returns when the next reminder is due, or None when the incident needs no more reminders.
    """
    if not incident.is_open:
        return None
    cadence: timedelta | None = runtime.severities.get(incident.severity).update_every
    if cadence is None:
        return None
    last: datetime = incident.last_update_at or incident.created_at
    if last + cadence > now:
        return last + cadence  # an update came in meanwhile: count from it
    recipients = responsible(session, incident, now)
    reminded = []
    for user_id in recipients:
        for contact in rules.reminder_contacts(session, user_id):
            notify.queue_reminder(session, incident, user_id, contact, since=last, every=cadence, now=now)
            reminded.append(f"{user_id} by {contact.label}")
    timeline.append(
        session,
        incident,
        kind="update_reminder",
        actor=SYSTEM,
        at=now,
        message=(
            f"status update due (every {format_duration(cadence)}); reminded {', '.join(reminded)}"
            if reminded
            else f"status update due (every {format_duration(cadence)}); nobody to remind"
        ),
        data={"to": recipients, "last_update_at": last.isoformat(), "every_seconds": cadence.total_seconds()},
    )
    return now + cadence


def responsible(session: Session, incident: Incident, now: datetime) -> list[str]:
    """Who answers for status updates: the commander when they are a known user, else who was last paged."""
    if incident.commander:
        user = oncall.resolver(session)(incident.commander)
        if user is not None:
            return [user]
    escalation = paging.get(session, incident.id)
    if escalation is None:
        return []
    if escalation.last_paged:
        return list(escalation.last_paged)
    levels = escalation.policy["levels"]
    return [u for u, _ in resolve_targets(session, levels[0]["notify"], now).users] if levels else []
