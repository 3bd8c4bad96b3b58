"""HTTP routes managing the status page: components, publishing, public updates, announced maintenance.

Thin: parse, call the service, audit, commit. The public page and its JSON formats are the public face's
routes; these all need a token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.deps import Admin, PathId, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.errors import NotFound
from warroom.statuspage import components, maintenance, publishing
from warroom.statuspage.models import StatusComponent, StatusIncident, StatusMaintenance, StatusUpdate
from warroom.statuspage.schemas import (
    AnnouncedRead,
    ComponentChange,
    ComponentCreate,
    ComponentRead,
    MaintenanceCreate,
    OverrideBody,
    PostedUpdate,
    PublicationRead,
    PublicUpdateBody,
    PublishBody,
    UpdateRead,
)
from warroom.statuspage.service import updates_of

router = APIRouter(tags=["status page"])

ComponentName = Annotated[str, Path(min_length=1, max_length=100, description="A component's name or id.")]
PublicId = Annotated[str, Path(min_length=1, max_length=32, pattern="^[a-z0-9]+$", description="A public id.")]


def _component(session: Session, component: StatusComponent) -> ComponentRead:
    for row, status, group in components.with_status(session):
        if row.id == component.id:
            return _read(row, status, group)
    raise NotFound(f"No component {component.name!r}.", field="component")


def _read(row: StatusComponent, status: str, group: str | None) -> ComponentRead:
    return ComponentRead(
        id=row.public_id,
        name=row.name,
        description=row.description,
        group=group,
        position=row.position,
        services=list(row.services),
        source=row.source,
        status=status,
        override_status=row.override_status,
        override_reason=row.override_reason,
        override_by=row.override_by,
        override_at=row.override_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _updates(rows: list[StatusUpdate]) -> list[UpdateRead]:
    return [
        UpdateRead(id=u.public_id, status=u.status, body=u.body, created_by=u.created_by, created_at=u.created_at)
        for u in rows
    ]


def _publication(session: Session, row: StatusIncident) -> PublicationRead:
    return PublicationRead(
        id=row.public_id,
        incident=row.incident_id,
        title=row.title,
        status=row.status,
        impact=row.impact,
        components=[c.name for c in publishing.components_of(session, row)],
        published_by=row.published_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        updates=_updates(updates_of(session, incident=row)),
    )


def _announced(session: Session, row: StatusMaintenance) -> AnnouncedRead:
    return AnnouncedRead(
        id=row.public_id,
        title=row.title,
        status=row.status,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        cancelled_at=row.cancelled_at,
        components=[c.name for c in maintenance.components_of(session, row)],
        windows=maintenance.window_ids(session, row),
        updates=_updates(updates_of(session, maintenance=row)),
        created_by=row.created_by,
        created_at=row.created_at,
    )


# -- components -----------------------------------------------------------------------------------------------


@router.get("/api/v1/status/components", response_model=list[ComponentRead])
def list_components(session: ReadSession, _actor: Viewer) -> list[ComponentRead]:
    """Components in display order with their status now (override, incidents, maintenance, monitors)."""
    return [_read(row, status, group) for row, status, group in components.with_status(session)]


@router.post("/api/v1/status/components", status_code=201, response_model=ComponentRead)
def add_component(body: ComponentCreate, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> ComponentRead:
    """Add a component (the services it stands for, its group)."""
    now = runtime.clock.now()
    row = components.add(
        session,
        name=body.name,
        now=now,
        description=body.description,
        group=body.group,
        services=body.services,
        position=body.position,
    )
    audit.record(session, actor, "status.component.add", f"component:{row.public_id}", now=now)
    session.commit()
    return _component(session, row)


@router.get("/api/v1/status/components/{name}", response_model=ComponentRead)
def show_component(name: ComponentName, session: ReadSession, _actor: Viewer) -> ComponentRead:
    """One component with its status now."""
    return _component(session, components.get(session, name))


@router.patch("/api/v1/status/components/{name}", response_model=ComponentRead)
def change_component(
    name: ComponentName, body: ComponentChange, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> ComponentRead:
    """Change a component's description, group, services or position."""
    now = runtime.clock.now()
    row = components.edit(
        session,
        components.get(session, name),
        now=now,
        description=body.description,
        group=body.group,
        services=body.services,
        position=body.position,
    )
    audit.record(
        session,
        actor,
        "status.component.change",
        f"component:{row.public_id}",
        now=now,
        detail=body.model_dump(exclude_unset=True),
    )
    session.commit()
    return _component(session, row)


@router.delete("/api/v1/status/components/{name}", status_code=204, response_class=Response)
def remove_component(name: ComponentName, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Delete a component; 409 naming the open public incidents that still affect it."""
    now = runtime.clock.now()
    row = components.get(session, name)
    detail = {"name": row.name, "services": list(row.services)}
    public_id = row.public_id
    components.remove(session, row, now=now)
    audit.record(session, actor, "status.component.remove", f"component:{public_id}", now=now, detail=detail)
    session.commit()
    return Response(status_code=204)


@router.post("/api/v1/status/components/{name}/override", response_model=ComponentRead)
def override_component(
    name: ComponentName, body: OverrideBody, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> ComponentRead:
    """Override the component's status with a reason, or clear the override (status null)."""
    row = components.set_override(
        session,
        components.get(session, name),
        status=body.status,
        reason=body.reason,
        actor=actor,
        now=runtime.clock.now(),
        incident_number=body.incident,
    )
    session.commit()
    return _component(session, row)


# -- publishing -----------------------------------------------------------------------------------------------


@router.post("/api/v1/incidents/{number}/publish", status_code=201, response_model=PublicationRead)
def publish_incident(
    number: PathId, body: PublishBody, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> PublicationRead:
    """Publish the incident on the status page with a public title and components (never automatic)."""
    now = runtime.clock.now()
    row, _update = publishing.publish(
        session,
        number,
        title=body.title,
        component_names=body.components,
        body=body.body,
        impact=body.impact,
        actor=actor,
        settings=runtime.config.status_page,
        severities=runtime.severities,
        now=now,
    )
    audit.record(session, actor, "incident.publish", f"incident:{number}", now=now, detail={"public_id": row.public_id})
    session.commit()
    return _publication(session, row)


@router.get("/api/v1/incidents/{number}/publication", response_model=PublicationRead)
def show_publication(number: PathId, session: ReadSession, _actor: Viewer) -> PublicationRead:
    """The incident's public face and public updates; 404 when it is not published."""
    row = publishing.published(session, number)
    if row is None:
        raise NotFound(f"Incident #{number} is not published.", field="number")
    return _publication(session, row)


@router.post(
    "/api/v1/incidents/{number}/public-updates",
    status_code=201,
    response_model=PostedUpdate,
    responses={200: {"model": PostedUpdate, "description": "A dry run: what would be posted; nothing was."}},
)
def post_public_update(
    number: PathId,
    body: PublicUpdateBody,
    response: Response,
    session: WriteSession,
    runtime: RuntimeDep,
    actor: Responder,
) -> PostedUpdate:
    """Post a public status update (text, or the status's template when `use_template`); `dry_run` previews
    the public text and the internal message without posting anything."""
    now = runtime.clock.now()
    composed, update = publishing.post_update(
        session,
        number,
        status=body.status or "",
        body=body.body,
        use_template=body.use_template,
        actions=body.actions,
        dry_run=body.dry_run,
        actor=actor,
        settings=runtime.config.status_page,
        severities=runtime.severities,
        now=now,
    )
    if update is not None:
        audit.record(
            session,
            actor,
            "incident.public_update",
            f"incident:{number}",
            now=now,
            detail={"update_id": update.public_id, "status": composed.status},
        )
        session.commit()
    else:
        session.rollback()
        response.status_code = 200
    return PostedUpdate(
        posted=update is not None,
        update_id=update.public_id if update is not None else None,
        status=composed.status,
        public_text=composed.public_text,
        internal_message=composed.internal_message,
        next_update_at=composed.next_update_at,
        from_template=composed.from_template,
    )


# -- announced maintenance ------------------------------------------------------------------------------------


@router.post("/api/v1/status/maintenance", status_code=201, response_model=AnnouncedRead)
def announce_maintenance(
    body: MaintenanceCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> AnnouncedRead:
    """Announce maintenance over components; its services' alerts are held back while it runs."""
    now = runtime.clock.now()
    row = maintenance.announce(
        session,
        title=body.title,
        component_names=body.components,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        body=body.body,
        actor=actor,
        settings=runtime.config.status_page,
        now=now,
    )
    audit.record(session, actor, "status.maintenance.announce", f"maintenance:{row.public_id}", now=now)
    session.commit()
    return _announced(session, row)


@router.get("/api/v1/status/maintenance", response_model=list[AnnouncedRead])
def list_announced(
    session: ReadSession,
    _actor: Viewer,
    include_past: Annotated[bool, Query(description="Also completed and cancelled maintenance.")] = False,
) -> list[AnnouncedRead]:
    """Announced maintenance, soonest first."""
    return [_announced(session, row) for row in maintenance.list_announced(session, include_past=include_past)]


@router.get("/api/v1/status/maintenance/{public_id}", response_model=AnnouncedRead)
def show_announced(public_id: PublicId, session: ReadSession, _actor: Viewer) -> AnnouncedRead:
    """One announced maintenance."""
    return _announced(session, maintenance.get(session, public_id))


@router.post("/api/v1/status/maintenance/{public_id}/cancel", response_model=AnnouncedRead)
def cancel_announced(
    public_id: PublicId, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> AnnouncedRead:
    """Cancel announced maintenance: it leaves the page and its alert windows end now."""
    now = runtime.clock.now()
    row = maintenance.cancel(session, maintenance.get(session, public_id), actor=actor, now=now)
    audit.record(session, actor, "status.maintenance.cancel", f"maintenance:{row.public_id}", now=now)
    session.commit()
    return _announced(session, row)
