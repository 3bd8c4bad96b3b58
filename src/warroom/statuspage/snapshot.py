"""What the public status page shows at one instant: plain data, with no internal detail in it.

This is the seam between the statuspage domain (which builds a snapshot from its tables: components,
public incidents and their public updates, scheduled maintenance, uptime) and the public face (HTML page,
Statuspage v2 JSON, feeds, badges), which renders nothing but what is here. Nothing internal — notes, alert
labels, runbook output, people's names, internal titles — may ever be put into these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

# Statuspage v2 enumerations, used verbatim so that tools reading Statuspage read warroom unchanged.
ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical", "maintenance"]
Indicator = Literal["none", "minor", "major", "critical"]


@dataclass(frozen=True)
class UptimeDay:
    """One day of a component's uptime bar; `uptime` is None when nothing was measured that day."""

    day: date
    uptime: float | None
    worst_status: ComponentStatus


@dataclass(frozen=True)
class PublicComponent:
    """A component as the public sees it."""

    id: str  # stable public id (a slug of the name, or a generated id); never a database number guessable as a count
    name: str
    description: str
    status: ComponentStatus
    position: int
    group_id: str | None
    created_at: datetime
    updated_at: datetime
    uptime_days: tuple[UptimeDay, ...] = ()  # oldest first, up to 90


@dataclass(frozen=True)
class PublicGroup:
    """A group of components, with its own derived status (the worst of its members)."""

    id: str
    name: str
    position: int
    status: ComponentStatus
    component_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ComponentChange:
    """One component's status before and after a public update (Statuspage's `affected_components` entry)."""

    code: str  # the component's public id
    name: str
    old_status: str
    new_status: str


@dataclass(frozen=True)
class PublicUpdate:
    """One public status update, with the text a person wrote for the public."""

    id: str
    status: IncidentStatus | MaintenanceStatus
    body: str
    created_at: datetime
    display_at: datetime
    affected_component_ids: tuple[str, ...] = ()
    # Recorded when the update was posted; None for updates that recorded none (maintenance, older ones).
    component_changes: tuple[ComponentChange, ...] | None = None


@dataclass(frozen=True)
class PublicIncident:
    """A published incident (or, with `kind="maintenance"`, a scheduled maintenance)."""

    id: str
    kind: Literal["incident", "maintenance"]
    name: str  # the public title, never the internal one
    status: IncidentStatus | MaintenanceStatus
    impact: Impact
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    component_ids: tuple[str, ...]
    updates: tuple[PublicUpdate, ...]  # newest first, as Statuspage orders them
    scheduled_for: datetime | None = None  # maintenance only
    scheduled_until: datetime | None = None  # maintenance only


@dataclass(frozen=True)
class PageSnapshot:
    """Everything `/status` and `/api/v2/*.json` show; `version` changes whenever anything shown changes."""

    name: str
    url: str
    time_zone: str
    updated_at: datetime
    version: str  # an opaque token (e.g. a hash of the content); used for ETag and cache invalidation
    indicator: Indicator
    description: str  # "All Systems Operational", "Partial System Outage", ...
    components: tuple[PublicComponent, ...]
    groups: tuple[PublicGroup, ...]
    incidents: tuple[PublicIncident, ...]  # unresolved incidents, newest first
    maintenances: tuple[PublicIncident, ...]  # upcoming and in-progress maintenance, soonest first
    extra: dict[str, str] = field(default_factory=dict)
