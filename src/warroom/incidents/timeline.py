"""The append-only timeline, and the hooks other domains use to react to it in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.incidents.models import Incident, TimelineEvent

# A hook runs inside the transaction that appended the event: it may add rows (jobs, alerts) but must not
# commit. Hooks are registered on the runtime (session.info["hooks"]) so tests and processes stay apart.
TimelineHook = Callable[[Session, Incident, TimelineEvent], None]


def append(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    actor: Actor,
    at: datetime,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to the incident's timeline and run the timeline hooks."""
    event = TimelineEvent(
        incident_id=incident.id,
        at=at,
        kind=kind,
        actor=actor.name,
        actor_kind=actor.kind,
        message=message,
        data=data or {},
    )
    session.add(event)
    hooks: list[TimelineHook] = session.info.get("timeline_hooks", [])
    for hook in hooks:
        hook(session, incident, event)
    return event


def events(session: Session, incident_id: int) -> list[TimelineEvent]:
    """The incident's timeline, oldest first."""
    return list(
        session.scalars(
            select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.id)
        )
    )
