"""Statuspage v2 public API bodies from a snapshot: the same keys, types and enumerations as Atlassian's.

Tools that read `https://<page>/api/v2/summary.json` (Atlassian's own widget, dashboards, chat bots) read
warroom unchanged. Checked key by key and type by type against responses recorded from real Statuspage pages
(tests/statuspage/recorded/). Fields that only exist on Atlassian's side (tweets, showcase) get their neutral
values; nothing here is read from anywhere but the snapshot.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from warroom.statuspage.snapshot import PageSnapshot, PublicComponent, PublicGroup, PublicIncident, PublicUpdate

Json = dict[str, Any]


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and a `Z`, as Statuspage writes them (None stays None)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def page_id(snapshot: PageSnapshot) -> str:
    """A stable 12-character page id derived from the page's public URL (Statuspage ids look the same)."""
    return hashlib.sha256(snapshot.url.encode()).hexdigest()[:12]


def incident_url(snapshot: PageSnapshot, public_id: str) -> str:
    """The public page of one incident (Statuspage's `shortlink`)."""
    return f"{snapshot.url.rstrip('/')}/status/incidents/{public_id}"


def page(snapshot: PageSnapshot) -> Json:
    """The `page` object every v2 body starts with."""
    return {
        "id": page_id(snapshot),
        "name": snapshot.name,
        "url": snapshot.url,
        "time_zone": snapshot.time_zone,
        "updated_at": timestamp(snapshot.updated_at),
    }


def status(snapshot: PageSnapshot) -> Json:
    """The overall `status` object: indicator none/minor/major/critical and its words."""
    return {"indicator": snapshot.indicator, "description": snapshot.description}


def component(snapshot: PageSnapshot, item: PublicComponent) -> Json:
    """One component as Statuspage lists it."""
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "position": item.position,
        "description": item.description or None,
        "showcase": True,
        "start_date": item.created_at.date().isoformat(),
        "group_id": item.group_id,
        "page_id": page_id(snapshot),
        "group": False,
        "only_show_if_degraded": False,
    }


def group(snapshot: PageSnapshot, item: PublicGroup) -> Json:
    """A group: Statuspage lists it among the components, with `group: true` and its members' ids."""
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "position": item.position,
        "description": None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page_id(snapshot),
        "group": True,
        "only_show_if_degraded": False,
        "components": list(item.component_ids),
    }


def components(snapshot: PageSnapshot) -> list[Json]:
    """Groups and components in page order (a group first, then its members), as Statuspage orders them."""
    members: dict[str | None, list[PublicComponent]] = {}
    for item in sorted(snapshot.components, key=lambda c: (c.position, c.name)):
        members.setdefault(item.group_id, []).append(item)
    known_groups = {g.id for g in snapshot.groups}
    out: list[Json] = []
    entries: list[tuple[int, str, PublicGroup | PublicComponent]] = [(g.position, g.name, g) for g in snapshot.groups]
    entries += [(c.position, c.name, c) for c in members.get(None, [])]
    # A component naming a group the snapshot does not have is shown at the top level rather than lost.
    entries += [(c.position, c.name, c) for gid, cs in members.items() if gid not in known_groups and gid for c in cs]
    for _, _, entry in sorted(entries, key=lambda e: (e[0], e[1])):
        if isinstance(entry, PublicGroup):
            out.append(group(snapshot, entry))
            out.extend(component(snapshot, c) for c in members.get(entry.id, []))
        else:
            out.append(component(snapshot, entry))
    return out


def update(incident: PublicIncident, item: PublicUpdate) -> Json:
    """One entry of `incident_updates`."""
    return {
        "id": item.id,
        "status": item.status,
        "body": item.body,
        "incident_id": incident.id,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.created_at),
        "display_at": timestamp(item.display_at),
        # Statuspage gives old and new status per affected component, recorded when the update was posted;
        # null (as Statuspage sends) for an update that recorded none.
        "affected_components": (
            None
            if item.component_changes is None
            else [
                {"code": c.code, "name": c.name, "old_status": c.old_status, "new_status": c.new_status}
                for c in item.component_changes
            ]
        ),
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident(snapshot: PageSnapshot, item: PublicIncident) -> Json:
    """An incident or a scheduled maintenance (which carries `scheduled_for` and `scheduled_until` too)."""
    by_id = {c.id: c for c in snapshot.components}
    body: Json = {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "monitoring_at": timestamp(item.monitoring_at),
        "resolved_at": timestamp(item.resolved_at),
        "impact": item.impact,
        "shortlink": incident_url(snapshot, item.id),
        "started_at": timestamp(item.started_at),
        "page_id": page_id(snapshot),
        "incident_updates": [update(item, u) for u in item.updates],
        "components": [component(snapshot, by_id[cid]) for cid in item.component_ids if cid in by_id],
        "reminder_intervals": None,
    }
    if item.kind == "maintenance":
        body["scheduled_for"] = timestamp(item.scheduled_for)
        body["scheduled_until"] = timestamp(item.scheduled_until)
    return body


def _maintenances(snapshot: PageSnapshot, which: str) -> list[PublicIncident]:
    if which == "upcoming":
        return [m for m in snapshot.maintenances if m.status == "scheduled"]
    if which == "active":
        return [m for m in snapshot.maintenances if m.status in ("in_progress", "verifying")]
    return list(snapshot.maintenances)


def summary_body(snapshot: PageSnapshot) -> Json:
    """`/api/v2/summary.json`: page, components, unresolved incidents, upcoming and active maintenance, status."""
    return {
        "page": page(snapshot),
        "components": components(snapshot),
        "incidents": [incident(snapshot, i) for i in snapshot.incidents],
        "scheduled_maintenances": [incident(snapshot, m) for m in snapshot.maintenances],
        "status": status(snapshot),
    }


def status_body(snapshot: PageSnapshot) -> Json:
    """`/api/v2/status.json`."""
    return {"page": page(snapshot), "status": status(snapshot)}


def components_body(snapshot: PageSnapshot) -> Json:
    """`/api/v2/components.json`."""
    return {"page": page(snapshot), "components": components(snapshot)}


def incidents_body(snapshot: PageSnapshot, past: list[PublicIncident], *, unresolved_only: bool) -> Json:
    """`/api/v2/incidents.json` (the 50 most recent, unresolved first) or `incidents/unresolved.json`."""
    current = list(snapshot.incidents)
    if not unresolved_only:
        seen = {i.id for i in current}
        current += [i for i in past if i.kind == "incident" and i.id not in seen]
    return {"page": page(snapshot), "incidents": [incident(snapshot, i) for i in current[:50]]}


def maintenances_body(snapshot: PageSnapshot, past: list[PublicIncident], which: str) -> Json:
    """`/api/v2/scheduled-maintenances.json` (`which="all"`: current then past), `upcoming`, `active`."""
    chosen = _maintenances(snapshot, which)
    if which == "all":
        seen = {m.id for m in chosen}
        chosen += [m for m in past if m.kind == "maintenance" and m.id not in seen]
    return {"page": page(snapshot), "scheduled_maintenances": [incident(snapshot, m) for m in chosen[:50]]}
