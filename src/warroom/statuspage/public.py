"""Building what the public sees (snapshot.py's objects) from the status page's tables, and nothing else.

Only public columns are read: public titles, public update texts, component names. The internal incident
is never loaded here, so its title, notes, labels and people cannot reach a public route by mistake.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.incidents.models import TimelineEvent
from warroom.monitors.models import Monitor, MonitorRollup
from warroom.statuspage import status as mapping
from warroom.statuspage.config import StatusPageSettings
from warroom.statuspage.models import (
    StatusComponent,
    StatusGroup,
    StatusIncident,
    StatusIncidentComponent,
    StatusMaintenance,
    StatusMaintenanceComponent,
    StatusUpdate,
)
from warroom.statuspage.snapshot import (
    ComponentChange,
    PageSnapshot,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicUpdate,
    UptimeDay,
)
from warroom.statuspage.version import page_version

UPTIME_DAYS = 90
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000


def _uptime(session: Session, components: list[StatusComponent], now: datetime) -> dict[int, tuple[UptimeDay, ...]]:
    """90 days of uptime per component from its services' monitors' daily rollups (oldest first)."""
    today = now.date()
    first = today - timedelta(days=UPTIME_DAYS - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    monitors_by_service: dict[str, list[int]] = defaultdict(list)
    for monitor_id, service in session.execute(select(Monitor.id, Monitor.service)):
        monitors_by_service[service].append(monitor_id)
    per_monitor: dict[int, dict[object, tuple[int, int]]] = defaultdict(dict)
    rows = session.execute(
        select(MonitorRollup.monitor_id, MonitorRollup.bucket, MonitorRollup.checks, MonitorRollup.up).where(
            MonitorRollup.resolution == "d", MonitorRollup.bucket >= since
        )
    )
    for monitor_id, bucket, checks, up in rows:
        per_monitor[monitor_id][bucket.date()] = (checks, up)
    days = [first + timedelta(days=offset) for offset in range(UPTIME_DAYS)]
    out: dict[int, tuple[UptimeDay, ...]] = {}
    for component in components:
        ids = [m for service in component.services for m in monitors_by_service.get(service, [])]
        totals: dict[object, list[int]] = {}
        for monitor_id in ids:
            for day, (checks, up) in per_monitor.get(monitor_id, {}).items():
                total = totals.setdefault(day, [0, 0])
                total[0] += checks
                total[1] += up
        bar = []
        for day in days:
            checks, up = totals.get(day, (0, 0))
            uptime = up / checks if checks else None
            bar.append(UptimeDay(day=day, uptime=uptime, worst_status=mapping.uptime_status(uptime)))  # type: ignore[arg-type]
        out[component.id] = tuple(bar)
    return out


def _updates(
    session: Session, *, incident_ids: Sequence[int] = (), maintenance_ids: Sequence[int] = ()
) -> dict[tuple[str, int], list[StatusUpdate]]:
    conditions = []
    if incident_ids:
        conditions.append(StatusUpdate.incident_id.in_(incident_ids))
    if maintenance_ids:
        conditions.append(StatusUpdate.maintenance_id.in_(maintenance_ids))
    found: dict[tuple[str, int], list[StatusUpdate]] = defaultdict(list)
    if not conditions:
        return found
    for update in session.scalars(select(StatusUpdate).where(or_(*conditions)).order_by(StatusUpdate.id.desc())):
        if update.incident_id is not None:
            found[("incident", update.incident_id)].append(update)
        else:
            found[("maintenance", update.maintenance_id or 0)].append(update)
    return found


def _component_ids(
    session: Session, table: type[StatusIncidentComponent] | type[StatusMaintenanceComponent], ids: list[int]
) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return found
    owner = (
        StatusIncidentComponent.status_incident_id
        if table is StatusIncidentComponent
        else StatusMaintenanceComponent.maintenance_id
    )
    component = table.component_id
    rows = session.execute(
        select(owner, StatusComponent.public_id)
        .join(StatusComponent, StatusComponent.id == component)
        .where(owner.in_(ids))
        .order_by(StatusComponent.position, StatusComponent.id)
    )
    for owner_id, public_id in rows:
        found[owner_id].append(public_id)
    return found


UPDATE_KINDS = ("status_published", "status_update_published")  # the timeline events public updates are posted as


def _changes(session: Session, incident_ids: list[int]) -> dict[str, tuple[ComponentChange, ...]]:
    """Update id → the component statuses recorded when it was posted (on its timeline event, public fields only)."""
    found: dict[str, tuple[ComponentChange, ...]] = {}
    if not incident_ids:
        return found
    rows: Iterable[Any] = session.scalars(
        select(TimelineEvent.data).where(
            TimelineEvent.incident_id.in_(incident_ids), TimelineEvent.kind.in_(UPDATE_KINDS)
        )
    )
    for data in rows:
        recorded = data.get("component_changes") if isinstance(data, dict) else None
        if not isinstance(recorded, list) or not isinstance(data.get("update_id"), str):
            continue
        found[data["update_id"]] = tuple(
            ComponentChange(
                code=str(c["code"]),
                name=str(c["name"]),
                old_status=str(c["old_status"]),
                new_status=str(c["new_status"]),
            )
            for c in recorded
            if isinstance(c, dict)
        )
    return found


def _public_update(
    update: StatusUpdate, component_ids: tuple[str, ...], changes: tuple[ComponentChange, ...] | None = None
) -> PublicUpdate:
    return PublicUpdate(
        id=update.public_id,
        status=update.status,  # type: ignore[arg-type]
        body=update.body,
        created_at=update.created_at,
        display_at=update.display_at,
        affected_component_ids=component_ids,
        component_changes=changes,
    )


def _incidents(session: Session, rows: list[StatusIncident]) -> list[PublicIncident]:
    ids = [r.id for r in rows]
    updates = _updates(session, incident_ids=ids)
    components = _component_ids(session, StatusIncidentComponent, ids)
    changes = _changes(session, [r.incident_id for r in rows])
    out = []
    for row in rows:
        component_ids = tuple(components.get(row.id, []))
        out.append(
            PublicIncident(
                id=row.public_id,
                kind="incident",
                name=row.title,
                status=row.status,  # type: ignore[arg-type]
                impact=row.impact,  # type: ignore[arg-type]
                created_at=row.created_at,
                updated_at=row.updated_at,
                started_at=row.created_at,
                monitoring_at=row.monitoring_at,
                resolved_at=row.resolved_at,
                component_ids=component_ids,
                updates=tuple(
                    _public_update(u, component_ids, changes.get(u.public_id))
                    for u in updates.get(("incident", row.id), [])
                ),
            )
        )
    return out


def _maintenances(session: Session, rows: list[StatusMaintenance]) -> list[PublicIncident]:
    ids = [r.id for r in rows]
    updates = _updates(session, maintenance_ids=ids)
    components = _component_ids(session, StatusMaintenanceComponent, ids)
    out = []
    for row in rows:
        component_ids = tuple(components.get(row.id, []))
        out.append(
            PublicIncident(
                id=row.public_id,
                kind="maintenance",
                name=row.title,
                status=row.status,  # type: ignore[arg-type]
                impact="maintenance",
                created_at=row.created_at,
                updated_at=row.updated_at,
                started_at=row.started_at or row.starts_at,
                monitoring_at=None,
                resolved_at=row.completed_at,
                component_ids=component_ids,
                updates=tuple(_public_update(u, component_ids) for u in updates.get(("maintenance", row.id), [])),
                scheduled_for=row.starts_at,
                scheduled_until=row.ends_at,
            )
        )
    return out


def build_snapshot(session: Session, *, settings: StatusPageSettings, now: datetime) -> PageSnapshot:
    """Everything the public page shows at `now`."""
    token = page_version(session)
    component_rows = [
        c for c in session.scalars(select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id))
    ]
    group_rows = list(session.scalars(select(StatusGroup).order_by(StatusGroup.position, StatusGroup.id)))
    inputs = mapping.gather(session)
    uptime = _uptime(session, component_rows, now)
    group_public = {g.id: g.public_id for g in group_rows}
    components = tuple(
        PublicComponent(
            id=c.public_id,
            name=c.name,
            description=c.description,
            status=mapping.status_of(c, inputs),  # type: ignore[arg-type]
            position=c.position,
            group_id=group_public.get(c.group_id) if c.group_id is not None else None,
            created_at=c.created_at,
            updated_at=c.updated_at,
            uptime_days=uptime.get(c.id, ()),
        )
        for c in component_rows
    )
    members: dict[str, list[PublicComponent]] = defaultdict(list)
    for component in components:
        if component.group_id is not None:
            members[component.group_id].append(component)
    groups = tuple(
        PublicGroup(
            id=g.public_id,
            name=g.name,
            position=g.position,
            status=mapping.worst(c.status for c in members[g.public_id]),  # type: ignore[arg-type]
            component_ids=tuple(c.id for c in members[g.public_id]),
            created_at=g.created_at,
            updated_at=g.updated_at,
        )
        for g in group_rows
        if members.get(g.public_id)
    )
    open_incidents = _incidents(
        session,
        list(
            session.scalars(
                select(StatusIncident).where(StatusIncident.resolved_at.is_(None)).order_by(StatusIncident.id.desc())
            )
        ),
    )
    maintenances = _maintenances(
        session,
        list(
            session.scalars(
                select(StatusMaintenance)
                .where(StatusMaintenance.status != "completed", StatusMaintenance.cancelled_at.is_(None))
                .order_by(StatusMaintenance.starts_at, StatusMaintenance.id)
            )
        ),
    )
    indicator = max(
        [mapping.STATUS_TO_INDICATOR[c.status] for c in components]
        + [i.impact for i in open_incidents if i.impact in mapping.INDICATOR_RANK],
        key=mapping.INDICATOR_RANK.__getitem__,
        default="none",
    )
    description = mapping.DESCRIPTIONS[indicator]
    if indicator == "none" and any(c.status == "under_maintenance" for c in components):
        description = "Service Under Maintenance"
    changed = (
        [c.updated_at for c in components]
        + [i.updated_at for i in open_incidents]
        + [m.updated_at for m in maintenances]
    )
    return PageSnapshot(
        name=settings.name,
        url=settings.url,
        time_zone=settings.time_zone,
        updated_at=max(changed, default=now),
        version=token,
        indicator=indicator,  # type: ignore[arg-type]
        description=description,
        components=components,
        groups=groups,
        incidents=tuple(open_incidents),
        maintenances=tuple(maintenances),
    )


def history(session: Session, *, page: int, per_page: int, now: datetime) -> tuple[list[PublicIncident], int]:
    """Resolved incidents and completed maintenance, newest first (by when they ended), one page of them,
    and how many there are in all."""
    page = min(max(page, 1), MAX_PAGE)  # an absurd page is the empty last page, not an overflowing OFFSET
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    ended = union_all(
        select(
            StatusIncident.id.label("id"), literal("incident").label("kind"), StatusIncident.resolved_at.label("at")
        ).where(StatusIncident.resolved_at.is_not(None)),
        select(StatusMaintenance.id, literal("maintenance"), StatusMaintenance.completed_at).where(
            StatusMaintenance.status == "completed", StatusMaintenance.cancelled_at.is_(None)
        ),
    ).subquery()
    total = int(session.scalar(select(func.count()).select_from(ended)) or 0)
    rows = session.execute(
        select(ended.c.id, ended.c.kind)
        .order_by(ended.c.at.desc(), ended.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    incident_ids = [i for i, kind in rows if kind == "incident"]
    maintenance_ids = [i for i, kind in rows if kind == "maintenance"]
    built: dict[tuple[str, int], PublicIncident] = {}
    if incident_ids:
        incident_rows = list(session.scalars(select(StatusIncident).where(StatusIncident.id.in_(incident_ids))))
        for row, public in zip(incident_rows, _incidents(session, incident_rows), strict=True):
            built[("incident", row.id)] = public
    if maintenance_ids:
        maintenance_rows = list(
            session.scalars(select(StatusMaintenance).where(StatusMaintenance.id.in_(maintenance_ids)))
        )
        for mrow, public in zip(maintenance_rows, _maintenances(session, maintenance_rows), strict=True):
            built[("maintenance", mrow.id)] = public
    order: list[tuple[str, int]] = [(str(kind), int(str(i))) for i, kind in rows]
    return [built[key] for key in order], total


def public_incident(session: Session, public_id: str, *, now: datetime) -> PublicIncident:
    """One published incident or announced maintenance by its public id (NotFound otherwise, and for
    cancelled maintenance)."""
    if not public_id or len(public_id) > 32:
        raise NotFound("No such incident.", field="id")
    incident = session.scalar(select(StatusIncident).where(StatusIncident.public_id == public_id))
    if incident is not None:
        return _incidents(session, [incident])[0]
    maintenance = session.scalar(
        select(StatusMaintenance).where(
            StatusMaintenance.public_id == public_id, StatusMaintenance.cancelled_at.is_(None)
        )
    )
    if maintenance is not None:
        return _maintenances(session, [maintenance])[0]
    raise NotFound("No such incident.", field="id")
