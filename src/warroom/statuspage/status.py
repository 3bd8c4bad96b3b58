"""A component's status from what is known about it: the documented mapping (docs/statuspage.md#components).

Order of precedence: a person's override; else the open public incidents affecting the component (the
worst of their impacts); else, while announced maintenance covers it, under_maintenance (its monitors are
expected to fail then); else its services' monitors. Pure functions here; `gather` reads the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.severities import Severity
from warroom.monitors.models import Monitor
from warroom.statuspage.models import (
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusMaintenance,
    StatusMaintenanceComponent,
)

OPERATIONAL = "operational"
# Worse to the right; under_maintenance is planned, so it ranks below any outage.
RANK = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
IMPACTS = ("none", "minor", "major", "critical")
IMPACT_TO_STATUS = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}
STATUS_TO_INDICATOR = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}


def impact_of_severity(severity: Severity) -> str:
    """The public impact an incident of this severity has unless a person chose one: P0 critical, P1 major,
    P2 and P3 minor, P4 (and anything below) none."""
    if severity.rank == 0:
        return "critical"
    if severity.rank == 1:
        return "major"
    if severity.rank <= 3:
        return "minor"
    return "none"


def worst(statuses: Iterable[str]) -> str:
    """The worst of `statuses` (operational when there is none)."""
    return max(statuses, key=RANK.__getitem__, default=OPERATIONAL)


def from_monitors(states: Iterable[tuple[str, str | None]]) -> str:
    """From the (state, last check status) of a component's monitors: every one down → major_outage; some
    down → partial_outage; a check answering `warn` → degraded_performance; else operational."""
    known = list(states)
    down = sum(1 for state, _ in known if state == "down")
    if known and down == len(known):
        return "major_outage"
    if down:
        return "partial_outage"
    if any(last == "warn" for _, last in known):
        return "degraded_performance"
    return OPERATIONAL


def derive(*, override: str | None, impacts: Iterable[str], in_maintenance: bool, monitors: str) -> str:
    """The component's status by the order of precedence above."""
    if override:
        return override
    impacts = list(impacts)
    if impacts:
        return worst([IMPACT_TO_STATUS[i] for i in impacts] + ([] if in_maintenance else [monitors]))
    if in_maintenance:
        return "under_maintenance"
    return monitors


@dataclass
class Inputs:
    """What the statuses of every component are derived from, read in a few queries."""

    impacts: dict[int, list[str]] = field(default_factory=dict)  # component id → impacts of open public incidents
    maintenance: set[int] = field(default_factory=set)  # components under maintenance in progress
    monitors: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # service → monitor states


def gather(session: Session) -> Inputs:
    """Read the open public incidents, the maintenance in progress and the monitors' states."""
    found = Inputs()
    rows = session.execute(
        select(StatusIncidentComponent.component_id, StatusIncident.impact)
        .join(StatusIncident, StatusIncident.id == StatusIncidentComponent.status_incident_id)
        .where(StatusIncident.resolved_at.is_(None))
    )
    for component_id, impact in rows:
        found.impacts.setdefault(component_id, []).append(impact)
    found.maintenance = set(
        session.scalars(
            select(StatusMaintenanceComponent.component_id)
            .join(StatusMaintenance, StatusMaintenance.id == StatusMaintenanceComponent.maintenance_id)
            .where(StatusMaintenance.status == "in_progress", StatusMaintenance.cancelled_at.is_(None))
        )
    )
    for service, state, last in session.execute(
        select(Monitor.service, Monitor.state, Monitor.last_status).where(Monitor.paused.is_(False))
    ):
        found.monitors.setdefault(service, []).append((state, last))
    return found


def status_of(component: StatusComponent, inputs: Inputs) -> str:
    """The component's status now."""
    states = [s for service in component.services for s in inputs.monitors.get(service, [])]
    return derive(
        override=component.override_status,
        impacts=inputs.impacts.get(component.id, []),
        in_maintenance=component.id in inputs.maintenance,
        monitors=from_monitors(states),
    )


def uptime_status(uptime: float | None) -> str:
    """The colour of one day of the uptime bar: 100 % (or nothing measured) operational, from 99 %
    degraded_performance, from 95 % partial_outage, below that major_outage."""
    if uptime is None or uptime >= 1.0:
        return OPERATIONAL
    if uptime >= 0.99:
        return "degraded_performance"
    if uptime >= 0.95:
        return "partial_outage"
    return "major_outage"
