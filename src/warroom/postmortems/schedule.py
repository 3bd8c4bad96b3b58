"""When post-mortems and action items are due, and the engine jobs that remind about them.

A resolve of an incident whose severity needs a post-mortem schedules two reminders to its commander: one
at once (it is due by ...) and one at the due time if it is not published by then (repeated daily). A
reopen of the incident or the publishing of its post-mortem cancels them. An open action item with a due
date gets a reminder to its owner the day after (repeated weekly until it is done or won't be)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.incidents.models import Incident, Status, TimelineEvent
from warroom.postmortems.config import PostmortemsConfig
from warroom.postmortems.models import ActionItem, Postmortem
from warroom.timeparse import parse_duration

REMIND = "postmortems.remind"
ITEM_OVERDUE = "postmortems.item_overdue"
TIMELINE_KINDS = ("resolved", "auto_resolved", "reopened")
OVERDUE_EVERY = timedelta(days=1)
ITEM_EVERY = timedelta(days=7)


def _config(runtime: Any) -> PostmortemsConfig:
    section = getattr(runtime.config, "postmortems", None)
    return section if isinstance(section, PostmortemsConfig) else PostmortemsConfig()


def required(runtime: Any, incident: Incident) -> bool:
    """Whether the incident's severity needs a post-mortem."""
    return incident.severity in _config(runtime).required_for


def due_at(runtime: Any, incident: Incident) -> datetime | None:
    """When the incident's post-mortem is due: `due_after` past its resolve, for required severities."""
    if not required(runtime, incident) or incident.resolved_at is None:
        return None
    return incident.resolved_at + parse_duration(_config(runtime).due_after)


def on_timeline(session: Session, incident: Incident, event: TimelineEvent) -> None:
    """Resolve: schedule the reminders of a required post-mortem. Reopen: cancel them."""
    runtime = session.info["runtime"]
    if event.kind == "reopened":
        cancel(session, incident.id)
        return
    due = due_at(runtime, incident)
    if due is None:
        return
    postmortem = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident.id))
    if postmortem is not None:
        if postmortem.state == "published":
            return
        postmortem.required, postmortem.due_at = True, due
    now = event.at
    jobs.schedule(session, REMIND, key=f"{incident.id}:due", due=now, payload={"stage": "due"}, now=now)
    jobs.schedule(session, REMIND, key=f"{incident.id}:overdue", due=due, payload={"stage": "overdue"}, now=now)


def cancel(session: Session, incident_id: int) -> None:
    """Stop the reminders of the incident's post-mortem."""
    jobs.cancel(session, REMIND, key_prefix=f"{incident_id}:")


def required_without_postmortem(session: Session, runtime: Any) -> list[Incident]:
    """Resolved incidents of required severities that have no post-mortem yet."""
    severities = _config(runtime).required_for
    if not severities:
        return []
    return list(
        session.scalars(
            select(Incident).where(
                Incident.status == Status.RESOLVED.value,
                Incident.severity.in_(severities),
                Incident.id.not_in(select(Postmortem.incident_id)),
            )
        )
    )


def day_after(day: date) -> datetime:
    """Midnight UTC at the end of `day`: the moment an item due that day becomes overdue."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def plan_item(session: Session, item: ActionItem, now: datetime) -> None:
    """Schedule (or cancel) the overdue reminder of an action item by its state and due date."""
    if item.status != "open" or item.due_on is None or item.owner is None:
        cancel_item(session, item)
        return
    jobs.schedule(session, ITEM_OVERDUE, key=str(item.id), due=max(day_after(item.due_on), now), now=now)


def cancel_item(session: Session, item: ActionItem) -> None:
    """Stop the item's overdue reminders."""
    jobs.cancel(session, ITEM_OVERDUE, key=str(item.id))
