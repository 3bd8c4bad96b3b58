"""Components and groups: declared in warroom.yaml or over the API, and a person's status override."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.statuspage import version
from warroom.statuspage.config import COMPONENT_STATUSES, StatusPageSettings
from warroom.statuspage.models import StatusComponent, StatusGroup, StatusIncident, StatusIncidentComponent

MAX_NAME = 100
MAX_REASON = 1000


def new_public_id() -> str:
    """A random public id (12 lowercase letters and digits, as Statuspage's): never a guessable count."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def slug(name: str) -> str:
    """A stable public id for a component or group: its name in lowercase with dashes."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or new_public_id()


def _unique_slug(session: Session, model: type[StatusComponent] | type[StatusGroup], name: str) -> str:
    base = candidate = slug(name)
    n = 2
    while session.scalar(select(model.id).where(model.public_id == candidate)) is not None:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _clean_name(name: str, what: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(f"A {what} needs a name.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A {what} name is at most {MAX_NAME} characters.", field="name")
    return name


def _clean_services(services: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for service in services:
        service = service.strip()
        if len(service) > MAX_NAME:
            raise InvalidInput(f"A service name is at most {MAX_NAME} characters.", field="services")
        if service and service not in cleaned:
            cleaned.append(service)
    return cleaned


def list_groups(session: Session) -> list[StatusGroup]:
    """Groups in display order."""
    return list(session.scalars(select(StatusGroup).order_by(StatusGroup.position, StatusGroup.id)))


def list_components(session: Session) -> list[StatusComponent]:
    """Components in display order."""
    return list(session.scalars(select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id)))


def get(session: Session, name_or_id: str) -> StatusComponent:
    """The component with this name or public id, or NotFound."""
    component = session.scalar(
        select(StatusComponent).where((StatusComponent.name == name_or_id) | (StatusComponent.public_id == name_or_id))
    )
    if component is None:
        raise NotFound(f"No component {name_or_id!r}: see `warroom component list`.", field="component")
    return component


def resolve_many(session: Session, names: Sequence[str], *, field: str = "components") -> list[StatusComponent]:
    """The components named (by name or public id), in the order given, without repeats."""
    found: list[StatusComponent] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        component = session.scalar(
            select(StatusComponent).where((StatusComponent.name == name) | (StatusComponent.public_id == name))
        )
        if component is None:
            raise InvalidInput(f"Unknown component {name[:100]!r}: see `warroom component list`.", field=field)
        if component not in found:
            found.append(component)
    return found


def group_named(session: Session, name: str, now: datetime, *, source: str = "api") -> StatusGroup:
    """The group with this name, created (last in order) when there is none."""
    name = _clean_name(name, "group")
    group = session.scalar(select(StatusGroup).where(StatusGroup.name == name))
    if group is None:
        position = (session.scalar(select(func.max(StatusGroup.position))) or 0) + 1
        group = StatusGroup(
            public_id=_unique_slug(session, StatusGroup, name),
            name=name,
            position=position,
            source=source,
            created_at=now,
            updated_at=now,
        )
        session.add(group)
        session.flush()
    return group


def add(
    session: Session,
    *,
    name: str,
    now: datetime,
    description: str = "",
    group: str | None = None,
    services: Sequence[str] = (),
    position: int | None = None,
    source: str = "api",
) -> StatusComponent:
    """Create a component; a name already taken is a Conflict."""
    name = _clean_name(name, "component")
    if session.scalar(select(StatusComponent.id).where(StatusComponent.name == name)) is not None:
        raise Conflict(f"A component named {name!r} exists: change it with `warroom component set`.", field="name")
    if len(description) > 2000:
        raise InvalidInput("A description is at most 2000 characters.", field="description")
    if position is None:
        position = (session.scalar(select(func.max(StatusComponent.position))) or 0) + 1
    component = StatusComponent(
        public_id=_unique_slug(session, StatusComponent, name),
        name=name,
        description=description.strip(),
        group_id=group_named(session, group, now, source=source).id if group else None,
        position=position,
        services=_clean_services(services),
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(component)
    session.flush()
    version.bump(session, now)
    return component


def edit(
    session: Session,
    component: StatusComponent,
    *,
    now: datetime,
    description: str | None = None,
    group: str | None = None,
    services: Sequence[str] | None = None,
    position: int | None = None,
) -> StatusComponent:
    """Change a component's description, group ("" for none), services or position."""
    if description is not None:
        if len(description) > 2000:
            raise InvalidInput("A description is at most 2000 characters.", field="description")
        component.description = description.strip()
    if group is not None:
        component.group_id = group_named(session, group, now).id if group.strip() else None
    if services is not None:
        component.services = _clean_services(services)
    if position is not None:
        component.position = position
    component.updated_at = now
    version.bump(session, now)
    return component


def set_override(
    session: Session,
    component: StatusComponent,
    *,
    status: str | None,
    reason: str,
    actor: Actor,
    now: datetime,
    incident_number: int | None = None,
) -> StatusComponent:
    """Override the component's status (None clears the override). The act goes on the incident's timeline
    when one is named, else on the audit log."""
    if status is not None and status not in COMPONENT_STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}: expected one of {', '.join(COMPONENT_STATUSES)}.", field="status"
        )
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"A reason is at most {MAX_REASON} characters.", field="reason")
    if status is not None and not reason:
        raise InvalidInput("Say why you override the status (a reason).", field="reason")
    previous = component.override_status
    component.override_status = status
    component.override_reason = reason if status else ""
    component.override_by = actor.name if status else None
    component.override_at = now if status else None
    component.updated_at = now
    kind = "component_override_set" if status else "component_override_cleared"
    data: dict[str, Any] = {"component": component.name, "status": status, "previous": previous, "reason": reason}
    if incident_number is not None:
        incident = incidents.get_for_update(session, incident_number)
        message = (
            f"component {component.name} shown as {status}: {reason}"
            if status
            else f"component {component.name} override cleared"
        )
        timeline.append(session, incident, kind=kind, actor=actor, at=now, message=message, data=data)
    else:
        audit.record(session, actor, f"status.{kind}", f"component:{component.public_id}", now=now, detail=data)
    version.bump(session, now)
    return component


def open_incidents_affecting(session: Session, component: StatusComponent) -> list[tuple[int, str]]:
    """(incident number, public title) of each unresolved public incident that names the component."""
    rows = session.execute(
        select(StatusIncident.incident_id, StatusIncident.title)
        .join(StatusIncidentComponent, StatusIncidentComponent.status_incident_id == StatusIncident.id)
        .where(StatusIncidentComponent.component_id == component.id, StatusIncident.resolved_at.is_(None))
        .order_by(StatusIncident.incident_id)
    )
    return [(int(number), str(title)) for number, title in rows]


def remove(session: Session, component: StatusComponent, *, now: datetime) -> None:
    """Delete a component; a Conflict naming the open public incidents that still affect it.

    Resolved incidents and maintenance keep their text but no longer list it; subscribers' filters that
    named it match nothing more. A component declared in warroom.yaml comes back at the next start unless
    it is taken out of the file too."""
    still = open_incidents_affecting(session, component)
    if still:
        named = ", ".join(f"incident {number} ({title!r})" for number, title in still)
        raise Conflict(
            f"Component {component.name!r} still affects open public incidents: {named}. "
            "Resolve them, or post an update without it, first.",
            field="name",
        )
    session.execute(
        delete(StatusIncidentComponent)
        .where(StatusIncidentComponent.component_id == component.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(component)
    session.flush()
    version.bump(session, now)


def sync_config(session: Session, settings: StatusPageSettings, now: datetime) -> int:
    """Write warroom.yaml's groups and components to the database (idempotent); returns how many changed.
    Config components keep their overrides; components added over the API are left alone. A component that
    came from the file and is no longer in it is removed, unless an open public incident still affects it:
    then it is kept (and `warroom config check` says so) until a later sync after that incident is resolved."""
    changed = 0
    for position, group_config in enumerate(settings.groups, start=1):
        group = group_named(session, group_config.name, now, source="config")
        if group.position != position or group.source != "config":
            group.position, group.source, group.updated_at = position, "config", now
            changed += 1
    groups = {g.name: g.id for g in list_groups(session)}
    for position, spec in enumerate(settings.components, start=1):
        row = session.scalar(select(StatusComponent).where(StatusComponent.name == spec.name))
        wanted = {
            "description": spec.description,
            "group_id": groups.get(spec.group) if spec.group else None,
            "services": list(dict.fromkeys(spec.services)),
            "position": position,
            "source": "config",
        }
        if row is None:
            add(
                session,
                name=spec.name,
                now=now,
                description=spec.description,
                group=spec.group,
                services=spec.services,
                position=position,
                source="config",
            )
            changed += 1
            continue
        if any(getattr(row, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(row, key, value)
            row.updated_at = now
            changed += 1
    declared = {spec.name for spec in settings.components}
    for row in list_components(session):
        if row.source == "config" and row.name not in declared and not open_incidents_affecting(session, row):
            remove(session, row, now=now)
            changed += 1
    if changed:
        version.bump(session, now)
    return changed


def held_back(session: Session, settings: StatusPageSettings) -> list[tuple[str, list[tuple[int, str]]]]:
    """Components taken out of warroom.yaml that sync keeps, each with the open public incidents holding it."""
    declared = {spec.name for spec in settings.components}
    found: list[tuple[str, list[tuple[int, str]]]] = []
    for row in list_components(session):
        if row.source == "config" and row.name not in declared:
            holding = open_incidents_affecting(session, row)
            if holding:
                found.append((row.name, holding))
    return found


def with_status(session: Session) -> list[tuple[StatusComponent, str, str | None]]:
    """Every component in display order with its status now and its group's name."""
    from warroom.statuspage import status as mapping

    inputs = mapping.gather(session)
    groups = {g.id: g.name for g in list_groups(session)}
    return [
        (c, mapping.status_of(c, inputs), groups.get(c.group_id) if c.group_id is not None else None)
        for c in list_components(session)
    ]
