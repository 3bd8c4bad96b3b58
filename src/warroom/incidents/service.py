"""The rules of the incidents domain. Every mutation appends to the timeline in the caller's transaction;
the caller (route, CLI, engine handler) commits once."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents import timeline
from warroom.incidents.lifecycle import RESPONDING, check_transition, parse_status
from warroom.incidents.models import OPEN_STATUSES, Incident, IncidentService, Status, TimelineEvent
from warroom.incidents.severities import SeverityTable

MAX_LIMIT = 500


def _clean_services(services: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for name in services:
        name = name.strip()
        if not name:
            continue
        if len(name) > 100:
            raise InvalidInput(f"Service name {name[:20]!r}... is longer than 100 characters.", field="services")
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidInput("An incident needs a title.", field="title")
    if len(title) > 300:
        raise InvalidInput("The title is longer than 300 characters.", field="title")
    return title


def declare(
    session: Session,
    *,
    title: str,
    severity: str,
    severities: SeverityTable,
    actor: Actor,
    now: datetime,
    description: str = "",
    services: Sequence[str] = (),
    impact: str = "",
    labels: dict[str, str] | None = None,
    commander: str | None = None,
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    drill: bool = False,
) -> Incident:
    """Open a new incident in `triggered` and record its declaration on the timeline."""
    sev = severities.get(severity)
    detected = detected_at or now
    started = started_at or detected
    if started > detected:
        raise InvalidInput(
            "started_at cannot be after detected_at: the problem began before it was seen.", field="started_at"
        )
    if detected > now:
        raise InvalidInput("detected_at cannot be in the future.", field="detected_at")
    incident = Incident(
        title=_clean_title(title),
        description=description,
        severity=sev.name,
        status=Status.TRIGGERED.value,
        commander=commander or None,
        created_by=actor.name,
        impact=impact,
        labels=dict(labels or {}),
        started_at=started,
        detected_at=detected,
        created_at=now,
        updated_at=now,
        drill=drill,
    )
    incident.service_links = [IncidentService(service=s) for s in _clean_services(services)]
    session.add(incident)
    session.flush()
    timeline.append(
        session,
        incident,
        kind="declared",
        actor=actor,
        at=now,
        message=incident.title,
        data={
            "severity": sev.name,
            "services": incident.services,
            "started_at": started.isoformat(),
            "detected_at": detected.isoformat(),
            **(data or {}),
        },
    )
    return incident


def is_drill(incident: Incident) -> bool:
    """Whether the incident is a drill: the one test the status page, reports and messages ask."""
    return bool(incident.drill)


def without_drills(query: Select[Any], *, include_drills: bool = False) -> Select[Any]:
    """`query` over incidents without the drills (unless `include_drills`): what reports and the status page
    filter with, so that a rehearsal never counts as, or shows as, a real outage."""
    return query if include_drills else query.where(Incident.drill.is_(False))


def mark_drill(session: Session, incident: Incident, *, actor: Actor, now: datetime, message: str) -> None:
    """Flag the incident as a drill, in the transaction that declared it (before anyone is paged)."""
    if incident.drill:
        return
    incident.drill = True
    timeline.append(session, incident, kind="drill_marked", actor=actor, at=now, message=message)


def get(session: Session, number: int) -> Incident | None:
    """The incident with this public number, or None."""
    return session.get(Incident, number)


def get_or_404(session: Session, number: int) -> Incident:
    """The incident with this number, or NotFound."""
    incident = get(session, number)
    if incident is None:
        raise NotFound(f"No incident #{number}.", field="number")
    return incident


def get_for_update(session: Session, number: int) -> Incident:
    """The incident locked for a change (FOR UPDATE on PostgreSQL; SQLite already holds the write lock)."""
    incident = session.scalars(select(Incident).where(Incident.id == number).with_for_update()).one_or_none()
    if incident is None:
        raise NotFound(f"No incident #{number}.", field="number")
    return incident


def _move(
    session: Session,
    incident: Incident,
    target: Status,
    actor: Actor,
    now: datetime,
    message: str,
    kind: str = "status_changed",
) -> TimelineEvent:
    current = Status(incident.status)
    check_transition(current, target, incident.id)
    if actor.is_person and incident.acknowledged_at is None and target is not Status.ACKNOWLEDGED:
        # A person moving the incident on has seen it: that is an acknowledgement, and it counts for MTTA.
        incident.acknowledged_at = now
        timeline.append(
            session,
            incident,
            kind="acknowledged",
            actor=actor,
            at=now,
            message=f"acknowledged by moving to {target.value}",
            data={"implicit": True},
        )
    incident.status = target.value
    incident.updated_at = now
    if target in RESPONDING and incident.responded_at is None:
        incident.responded_at = now
    if target is Status.IDENTIFIED and incident.identified_at is None:
        incident.identified_at = now
    if target is Status.MONITORING and incident.mitigated_at is None:
        incident.mitigated_at = now
    if target is Status.RESOLVED:
        incident.resolved_at = now
        incident.mitigated_at = incident.mitigated_at or now
    if message:
        incident.last_update_at = now
    return timeline.append(
        session,
        incident,
        kind=kind,
        actor=actor,
        at=now,
        message=message,
        data={"from": current.value, "to": target.value},
    )


def acknowledge(session: Session, incident: Incident, actor: Actor, now: datetime, message: str = "") -> Incident:
    """Mark the incident acknowledged by `actor`; hooks stop its escalation."""
    check_transition(Status(incident.status), Status.ACKNOWLEDGED, incident.id)
    incident.status = Status.ACKNOWLEDGED.value
    incident.acknowledged_at = incident.acknowledged_at or now
    incident.updated_at = now
    timeline.append(
        session,
        incident,
        kind="acknowledged",
        actor=actor,
        at=now,
        message=message,
        data={"from": Status.TRIGGERED.value, "to": Status.ACKNOWLEDGED.value},
    )
    return incident


def change_status(
    session: Session, incident: Incident, status: str, actor: Actor, now: datetime, message: str = ""
) -> Incident:
    """Move the incident to `status` with an optional public message."""
    target = parse_status(status)
    if target is Status.ACKNOWLEDGED:
        return acknowledge(session, incident, actor, now, message)
    if target is Status.RESOLVED:
        return resolve(session, incident, actor, now, message)
    _move(session, incident, target, actor, now, message)
    return incident


def resolve(session: Session, incident: Incident, actor: Actor, now: datetime, message: str = "") -> Incident:
    """Resolve the incident; hooks stop all its escalation and reminders."""
    _move(session, incident, Status.RESOLVED, actor, now, message, kind="resolved")
    return incident


def reopen(session: Session, incident: Incident, actor: Actor, now: datetime, message: str = "") -> Incident:
    """Bring a resolved incident back to investigating."""
    if incident.status != Status.RESOLVED:
        raise Conflict(
            f"Incident #{incident.id} is {incident.status}, not resolved: only resolved incidents can be reopened.",
            field="status",
        )
    incident.status = Status.INVESTIGATING.value
    incident.resolved_at = None
    incident.mitigated_at = None
    incident.updated_at = now
    timeline.append(
        session,
        incident,
        kind="reopened",
        actor=actor,
        at=now,
        message=message,
        data={"from": Status.RESOLVED.value, "to": Status.INVESTIGATING.value},
    )
    return incident


def add_note(session: Session, incident: Incident, actor: Actor, now: datetime, message: str) -> TimelineEvent:
    """Add a note to the timeline (notes are internal; they do not count as status updates)."""
    message = message.strip()
    if not message:
        raise InvalidInput("A note needs some text.", field="message")
    incident.updated_at = now
    return timeline.append(session, incident, kind="note", actor=actor, at=now, message=message)


@dataclass
class Changes:
    """Fields a PATCH may change; None means leave alone."""

    title: str | None = None
    description: str | None = None
    severity: str | None = None
    commander: str | None = None
    impact: str | None = None
    services: list[str] | None = None
    labels: dict[str, str] | None = None
    status: str | None = None
    message: str | None = None
    started_at: datetime | None = None
    detected_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def update(
    session: Session, incident: Incident, changes: Changes, *, severities: SeverityTable, actor: Actor, now: datetime
) -> Incident:
    """Apply `changes`, one timeline event per kind of change; a status change carries the message."""
    if changes.severity is not None:
        sev = severities.get(changes.severity)
        if sev.name != incident.severity:
            old = incident.severity
            incident.severity = sev.name
            direction = "raised" if sev.rank < severities.get(old).rank else "lowered"
            timeline.append(
                session,
                incident,
                kind="severity_changed",
                actor=actor,
                at=now,
                message=f"severity {direction} from {old} to {sev.name}",
                data={"from": old, "to": sev.name, "direction": direction},
            )
    if changes.title is not None:
        title = _clean_title(changes.title)
        if title != incident.title:
            timeline.append(
                session,
                incident,
                kind="title_changed",
                actor=actor,
                at=now,
                message=title,
                data={"from": incident.title, "to": title},
            )
            incident.title = title
    if changes.commander is not None:
        commander = changes.commander.strip() or None
        if commander != incident.commander:
            timeline.append(
                session,
                incident,
                kind="commander_changed",
                actor=actor,
                at=now,
                message=f"commander is now {commander or 'nobody'}",
                data={"from": incident.commander, "to": commander},
            )
            incident.commander = commander
    for name in ("description", "impact"):
        value = getattr(changes, name)
        if value is not None and value != getattr(incident, name):
            timeline.append(
                session,
                incident,
                kind=f"{name}_changed",
                actor=actor,
                at=now,
                message=value,
                data={"from": getattr(incident, name), "to": value},
            )
            setattr(incident, name, value)
    if changes.services is not None:
        services = _clean_services(changes.services)
        if services != incident.services:
            timeline.append(
                session,
                incident,
                kind="services_changed",
                actor=actor,
                at=now,
                message=", ".join(services),
                data={"from": incident.services, "to": services},
            )
            incident.service_links = [IncidentService(service=s) for s in services]
    if changes.labels is not None and changes.labels != incident.labels:
        timeline.append(
            session,
            incident,
            kind="labels_changed",
            actor=actor,
            at=now,
            data={"from": incident.labels, "to": changes.labels},
        )
        incident.labels = dict(changes.labels)
    if changes.started_at is not None or changes.detected_at is not None:
        started = changes.started_at or incident.started_at
        detected = changes.detected_at or incident.detected_at
        if started > detected:
            raise InvalidInput("started_at cannot be after detected_at.", field="started_at")
        incident.started_at, incident.detected_at = started, detected
        timeline.append(
            session,
            incident,
            kind="times_changed",
            actor=actor,
            at=now,
            data={"started_at": started.isoformat(), "detected_at": detected.isoformat()},
        )
    if changes.status is not None:
        change_status(session, incident, changes.status, actor, now, changes.message or "")
    elif changes.message:
        # A message without a status change is a status update at the current status.
        incident.last_update_at = now
        timeline.append(
            session,
            incident,
            kind="update",
            actor=actor,
            at=now,
            message=changes.message,
            data={"status": incident.status},
        )
    incident.updated_at = now
    return incident


@dataclass(frozen=True)
class Filters:
    """What `GET /incidents` and `warroom incident list` filter on."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    service: str | None = None
    # "Mine" (the console): incidents this person commands, or any of these numbers (those paged to them).
    mine: tuple[str, tuple[int, ...]] | None = None


def parse_filters(status: str | None, severity: str | None, service: str | None, severities: SeverityTable) -> Filters:
    """Filters from comma lists; `open` stands for every status but resolved."""
    statuses: list[str] = []
    for part in (status or "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "open":
            statuses.extend(OPEN_STATUSES)
        else:
            statuses.append(parse_status(part).value)
    sevs = [severities.get(p, field="severity").name for p in (severity or "").split(",") if p.strip()]
    return Filters(tuple(dict.fromkeys(statuses)), tuple(dict.fromkeys(sevs)), (service or "").strip() or None)


def encode_cursor(number: int) -> str:
    """An opaque cursor after incident `number`."""
    return base64.urlsafe_b64encode(f"n:{number}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The incident number a cursor points after; InvalidInput when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "n":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor: pass the next_cursor of a previous page.", field="cursor") from None


def _filtered(filters: Filters) -> Select[Incident]:
    query = select(Incident)
    if filters.statuses:
        query = query.where(Incident.status.in_(filters.statuses))
    if filters.severities:
        query = query.where(Incident.severity.in_(filters.severities))
    if filters.service:
        query = query.where(
            Incident.id.in_(select(IncidentService.incident_id).where(IncidentService.service == filters.service))
        )
    if filters.mine is not None:
        who, numbers = filters.mine
        query = query.where(or_(Incident.commander == who, Incident.id.in_(numbers)))
    return query


def list_incidents(
    session: Session, filters: Filters, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Incident], str | None]:
    """A page of incidents, newest first, and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    query = _filtered(filters)
    if cursor:
        query = query.where(Incident.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Incident.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def all_incidents(session: Session, filters: Filters) -> list[Incident]:
    """Every incident matching `filters`, oldest first (exports)."""
    return list(session.scalars(_filtered(filters).order_by(Incident.id)))


def count_by_status_and_severity(session: Session) -> dict[tuple[str, str], int]:
    """How many incidents there are in each (status, severity): the /metrics gauge."""
    rows = session.execute(
        select(Incident.status, Incident.severity, func.count()).group_by(Incident.status, Incident.severity)
    )
    return {(status, severity): count for status, severity, count in rows}
