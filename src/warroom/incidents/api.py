"""HTTP routes of the incidents domain (thin: parse, call the service, audit, commit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor
from warroom.deps import PathId, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.incidents import durations, service, timeline
from warroom.incidents.models import Incident
from warroom.incidents.schemas import (
    ActionBody,
    IncidentCreate,
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    IncidentUpdate,
    MeasureRead,
    MilestonesRead,
    NoteCreate,
    TimelineEventRead,
)
from warroom.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["incidents"])


def detail(session: Session, runtime: Runtime, incident: Incident) -> IncidentDetail:
    """The incident with its timeline and durations as of now."""
    events = timeline.events(session, incident.id)
    stones = durations.milestones(events)
    measures = durations.measure(stones, runtime.severities.get(incident.severity), runtime.clock.now())
    return IncidentDetail(
        **IncidentRead.model_validate(incident).model_dump(),
        milestones=MilestonesRead.model_validate(stones),
        durations=[MeasureRead.model_validate(m) for m in measures],
        timeline=[TimelineEventRead.model_validate(e) for e in events],
    )


def _done(
    session: Session,
    runtime: Runtime,
    actor: Actor,
    action: str,
    incident: Incident,
    extra: dict[str, object] | None = None,
) -> IncidentDetail:
    audit.record(session, actor, action, f"incident:{incident.id}", now=runtime.clock.now(), detail=extra)
    session.commit()
    return detail(session, runtime, incident)


@router.post("/incidents", status_code=201, response_model=IncidentDetail)
def declare_incident(
    body: IncidentCreate, response: Response, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> IncidentDetail:
    """Declare an incident."""
    incident = service.declare(
        session,
        title=body.title,
        severity=body.severity,
        severities=runtime.severities,
        actor=actor,
        now=runtime.clock.now(),
        description=body.description,
        services=body.services,
        impact=body.impact,
        labels=body.labels,
        commander=body.commander,
        started_at=body.started_at,
        detected_at=body.detected_at,
        # Read by the on-call domain's hook on the `declared` event.
        data={k: v for k, v in {"policy": body.policy, "category": body.category}.items() if v},
    )
    result = _done(
        session, runtime, actor, "incident.declare", incident, {"severity": incident.severity, "title": incident.title}
    )
    response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    return result


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    status: Annotated[str | None, Query(description="Comma list of statuses; `open` = not resolved.")] = None,
    severity: Annotated[str | None, Query(description="Comma list, e.g. P0,P1.")] = None,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> IncidentPage:
    """Incidents, newest first, with cursor pagination."""
    filters = service.parse_filters(status, severity, service_name, runtime.severities)
    items, next_cursor = service.list_incidents(session, filters, limit=limit, cursor=cursor)
    return IncidentPage(items=[IncidentRead.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/incidents/{number}", response_model=IncidentDetail)
def show_incident(number: PathId, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> IncidentDetail:
    """One incident with its timeline and durations."""
    return detail(session, runtime, service.get_or_404(session, number))


@router.patch("/incidents/{number}", response_model=IncidentDetail)
def update_incident(
    number: PathId, body: IncidentUpdate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> IncidentDetail:
    """Change fields and/or the status (with a message)."""
    incident = service.get_for_update(session, number)
    changes = service.Changes(**body.model_dump(exclude_unset=True))
    service.update(session, incident, changes, severities=runtime.severities, actor=actor, now=runtime.clock.now())
    return _done(session, runtime, actor, "incident.update", incident, body.model_dump(mode="json", exclude_unset=True))


@router.post("/incidents/{number}/acknowledge", response_model=IncidentDetail)
def acknowledge_incident(
    number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder, body: ActionBody | None = None
) -> IncidentDetail:
    """Acknowledge: someone is on it; escalation stops."""
    incident = service.get_for_update(session, number)
    service.acknowledge(session, incident, actor, runtime.clock.now(), body.message if body else "")
    return _done(session, runtime, actor, "incident.acknowledge", incident)


@router.post("/incidents/{number}/resolve", response_model=IncidentDetail)
def resolve_incident(
    number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder, body: ActionBody | None = None
) -> IncidentDetail:
    """Resolve the incident."""
    incident = service.get_for_update(session, number)
    service.resolve(session, incident, actor, runtime.clock.now(), body.message if body else "")
    return _done(session, runtime, actor, "incident.resolve", incident)


@router.post("/incidents/{number}/reopen", response_model=IncidentDetail)
def reopen_incident(
    number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder, body: ActionBody | None = None
) -> IncidentDetail:
    """Reopen a resolved incident."""
    incident = service.get_for_update(session, number)
    service.reopen(session, incident, actor, runtime.clock.now(), body.message if body else "")
    return _done(session, runtime, actor, "incident.reopen", incident)


@router.post("/incidents/{number}/notes", status_code=201, response_model=TimelineEventRead)
def add_note(
    number: PathId, body: NoteCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> TimelineEventRead:
    """Add a note to the timeline."""
    incident = service.get_for_update(session, number)
    event = service.add_note(session, incident, actor, runtime.clock.now(), body.message)
    audit.record(session, actor, "incident.note", f"incident:{incident.id}", now=runtime.clock.now())
    session.commit()
    return TimelineEventRead.model_validate(event)


@router.get("/severities")
def list_severities(runtime: RuntimeDep, _actor: Viewer) -> list[dict[str, object]]:
    """The severity table with its targets, in seconds."""
    return [
        {
            "name": s.name,
            "description": s.description,
            "page": s.page,
            "targets": {
                "acknowledge": s.acknowledge.total_seconds(),
                "response": s.response.total_seconds(),
                "detection": s.detection.total_seconds(),
                "mitigation": s.mitigation.total_seconds(),
                "recovery": s.recovery.total_seconds(),
                "resolve": s.resolve.total_seconds(),
            },
            "update_every": s.update_every.total_seconds() if s.update_every else None,
        }
        for s in runtime.severities
    ]
