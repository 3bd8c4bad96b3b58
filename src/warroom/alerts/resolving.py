"""After an incident's alerts stop firing: the delayed auto-resolve, and whether a person took charge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from warroom.alerts.queries import firing_alerts_of
from warroom.auth.actor import PERSON_KINDS, SYSTEM
from warroom.errors import NotFound
from warroom.incidents import service as incidents
from warroom.incidents.models import Status, TimelineEvent

AUTO_RESOLVE = "alerts.auto_resolve"


def auto_resolve(session: Session, runtime: Any, incident_id: int, *, now: datetime, waited: timedelta) -> str:
    """After resolve_after with nothing firing: resolve (by warroom), or only note it when a person is in charge."""
    try:
        incident = incidents.get_for_update(session, incident_id)
    except NotFound:
        return "gone"
    if incident.status == Status.RESOLVED:
        return "already resolved"
    if firing_alerts_of(session, incident_id):
        return "firing again"
    minutes = int(waited.total_seconds() // 60)
    span = f"{minutes} min" if minutes else f"{int(waited.total_seconds())} s"
    if person_acknowledged(session, incident_id):
        incidents.add_note(
            session,
            incident,
            SYSTEM,
            now,
            f"No alert has fired for {span}. A person acknowledged this incident, so warroom leaves resolving "
            "it to the responders.",
        )
        return "noted"
    incidents.resolve(session, incident, SYSTEM, now, f"All alerts resolved and quiet for {span}.")
    return "resolved"


def person_acknowledged(session: Session, incident_id: int) -> bool:
    """True when a person (not warroom, not an integration) has acknowledged the incident."""
    return _a_person_did(session, incident_id, "acknowledged")


def person_set_severity(session: Session, incident_id: int) -> bool:
    """True when a person has changed the incident's severity (warroom then stops re-deriving it)."""
    return _a_person_did(session, incident_id, "severity_changed")


def _a_person_did(session: Session, incident_id: int, kind: str) -> bool:
    found = session.scalar(
        select(TimelineEvent.id)
        .where(
            TimelineEvent.incident_id == incident_id,
            TimelineEvent.kind == kind,
            TimelineEvent.actor_kind.in_(PERSON_KINDS),
        )
        .limit(1)
    )
    return found is not None
