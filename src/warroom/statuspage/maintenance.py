"""Announced maintenance: a public window over components that also holds back paging for their services.

One object, not two: the announcement owns one alert maintenance window (`alerts.maintenance`) per
service of its components, created and cancelled with it, so the window that the page shows is the window
that suppresses alerts (same start, same end). The page's part (title, text, status) lives here; engine
jobs move it from scheduled to in_progress at its start and to completed at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.alerts import maintenance as windows
from warroom.auth.actor import Actor
from warroom.engine import jobs
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.statuspage import components as components_service
from warroom.statuspage import templates, version
from warroom.statuspage.config import StatusPageSettings
from warroom.statuspage.hooks import MaintenanceEvent, emit
from warroom.statuspage.models import (
    StatusComponent,
    StatusMaintenance,
    StatusMaintenanceComponent,
    StatusMaintenanceWindow,
    StatusUpdate,
)
from warroom.statuspage.publishing import MAX_BODY, shown_time

TRANSITION = "statuspage.maintenance"


def get(session: Session, public_id: str) -> StatusMaintenance:
    """The announced maintenance with this public id, or NotFound."""
    found = session.scalar(select(StatusMaintenance).where(StatusMaintenance.public_id == public_id))
    if found is None:
        raise NotFound(f"No announced maintenance {public_id[:40]!r}: see `warroom maintenance list`.", field="id")
    return found


def components_of(session: Session, maintenance: StatusMaintenance) -> list[StatusComponent]:
    """The components the maintenance covers, in display order."""
    return list(
        session.scalars(
            select(StatusComponent)
            .join(StatusMaintenanceComponent, StatusMaintenanceComponent.component_id == StatusComponent.id)
            .where(StatusMaintenanceComponent.maintenance_id == maintenance.id)
            .order_by(StatusComponent.position, StatusComponent.id)
        )
    )


def list_announced(session: Session, *, include_past: bool = False) -> list[StatusMaintenance]:
    """Announced maintenance, soonest first; completed and cancelled only when asked."""
    query = select(StatusMaintenance).order_by(StatusMaintenance.starts_at, StatusMaintenance.id)
    if not include_past:
        query = query.where(StatusMaintenance.status != "completed", StatusMaintenance.cancelled_at.is_(None))
    return list(session.scalars(query))


def _text(settings: StatusPageSettings, status: str, maintenance: StatusMaintenance, names: list[str]) -> str:
    context = {
        "title": maintenance.title,
        "components": names,
        "status": status,
        "next_update": "",
        "starts_at": shown_time(maintenance.starts_at, settings),
        "ends_at": shown_time(maintenance.ends_at, settings),
        "page": settings.name,
    }
    return templates.render(settings.public_template(status), context, field=f"templates.{status}.public")


def _update(
    session: Session, maintenance: StatusMaintenance, status: str, body: str, by: str, now: datetime
) -> StatusUpdate:
    update = StatusUpdate(
        public_id=components_service.new_public_id(),
        maintenance_id=maintenance.id,
        status=status,
        body=body,
        created_by=by,
        created_at=now,
        display_at=now,
    )
    session.add(update)
    session.flush()
    return update


def announce(
    session: Session,
    *,
    title: str,
    component_names: Sequence[str],
    starts_at: datetime,
    ends_at: datetime,
    actor: Actor,
    settings: StatusPageSettings,
    now: datetime,
    body: str | None = None,
) -> StatusMaintenance:
    """Announce a window over components: the page shows it (upcoming, then in progress, then completed, by
    engine jobs) and alerts of the components' services are held back while it runs."""
    title = title.strip()
    if not title or len(title) > 300:
        raise InvalidInput("Announced maintenance needs a title of at most 300 characters.", field="title")
    if ends_at <= starts_at:
        raise InvalidInput("The maintenance must end after it starts.", field="ends_at")
    if ends_at <= now:
        raise InvalidInput("The maintenance would already be over.", field="ends_at")
    affected = components_service.resolve_many(session, component_names)
    if not affected:
        raise InvalidInput("Name the components under maintenance.", field="components")
    if body is not None and len(body.strip()) > MAX_BODY:
        raise InvalidInput(f"The text is at most {MAX_BODY} characters.", field="body")
    maintenance = StatusMaintenance(
        public_id=components_service.new_public_id(),
        title=title,
        status="scheduled",
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(maintenance)
    session.flush()
    session.add_all(StatusMaintenanceComponent(maintenance_id=maintenance.id, component_id=c.id) for c in affected)
    services = list(dict.fromkeys(s for c in affected for s in c.services))
    for service in services:
        window = windows.create(
            session,
            service=service,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=actor.name,
            now=now,
            comment=f"announced maintenance {maintenance.public_id}: {title}",
        )
        session.add(StatusMaintenanceWindow(maintenance_id=maintenance.id, window_id=window.id))
    names = [c.name for c in affected]
    text = (body or "").strip() or _text(settings, "scheduled", maintenance, names)
    update = _update(session, maintenance, "scheduled", text, actor.name, now)
    key = maintenance.public_id
    jobs.schedule(session, TRANSITION, key=f"{key}:start", due=starts_at, payload={"to": "in_progress"}, now=now)
    jobs.schedule(session, TRANSITION, key=f"{key}:end", due=ends_at, payload={"to": "completed"}, now=now)
    emit(session, MaintenanceEvent("maintenance_scheduled", key, update.public_id, "scheduled", now))
    version.bump(session, now)
    return maintenance


def advance(
    session: Session, maintenance: StatusMaintenance, target: str, settings: StatusPageSettings, now: datetime
) -> bool:
    """Move the maintenance to `target` (in_progress or completed) if it is not there yet; safe to run twice
    (an engine job at the start and at the end). Returns whether anything changed."""
    if maintenance.cancelled_at is not None or maintenance.status == "completed" or maintenance.status == target:
        return False
    names = [c.name for c in components_of(session, maintenance)]
    if target == "completed" and maintenance.started_at is None:
        maintenance.started_at = maintenance.starts_at
    if target == "in_progress":
        maintenance.started_at = now
    else:
        maintenance.completed_at = now
    maintenance.status = target
    maintenance.updated_at = now
    update = _update(session, maintenance, target, _text(settings, target, maintenance, names), "warroom", now)
    kind = "maintenance_started" if target == "in_progress" else "maintenance_completed"
    emit(session, MaintenanceEvent(kind, maintenance.public_id, update.public_id, target, now))
    version.bump(session, now)
    return True


def cancel(session: Session, maintenance: StatusMaintenance, *, actor: Actor, now: datetime) -> StatusMaintenance:
    """Cancel announced maintenance: it leaves the page, and its alert windows end at once."""
    if maintenance.cancelled_at is not None:
        return maintenance
    if maintenance.status == "completed":
        raise Conflict("This maintenance is already completed.", field="id")
    maintenance.cancelled_at = now
    maintenance.updated_at = now
    for link in session.scalars(
        select(StatusMaintenanceWindow).where(StatusMaintenanceWindow.maintenance_id == maintenance.id)
    ):
        windows.cancel(session, windows.get(session, link.window_id), now=now)
    jobs.cancel(session, TRANSITION, key_prefix=f"{maintenance.public_id}:")
    emit(session, MaintenanceEvent("maintenance_cancelled", maintenance.public_id, None, maintenance.status, now))
    version.bump(session, now)
    return maintenance


def window_ids(session: Session, maintenance: StatusMaintenance) -> list[int]:
    """The alert maintenance windows the announcement owns."""
    return list(
        session.scalars(
            select(StatusMaintenanceWindow.window_id).where(StatusMaintenanceWindow.maintenance_id == maintenance.id)
        )
    )
