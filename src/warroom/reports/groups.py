"""Which groups each incident of the period belongs to: its services, their teams, or its escalation policy."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident, IncidentService
from warroom.oncall.models import Escalation, Team
from warroom.reports.period import ReportQuery
from warroom.reports.sql import fetch_all, in_period


def services_of(session: Session, query: ReportQuery) -> dict[int, list[str]]:
    """incident id → its services, for the period's incidents (read once per report: see `service.build`)."""
    cached: dict[int, list[str]] | None = session.info.get(("report-services", query))
    if cached is not None:
        return cached
    services: dict[int, list[str]] = defaultdict(list)
    statement = select(IncidentService.incident_id, IncidentService.service).join(
        Incident, Incident.id == IncidentService.incident_id
    )
    for incident_id, service in fetch_all(session, statement.where(in_period(query))):
        services[incident_id].append(service)
    session.info[("report-services", query)] = services
    return services


def group_keys(session: Session, query: ReportQuery) -> dict[int, list[str]] | None:
    """incident id → its group names for service, team or policy; None when grouping by severity (a column).

    Incidents without any (no service, no team owning one, never paged) are reported as `(none)`."""
    if query.group_by == "severity":
        return None
    keys: dict[int, list[str]] = defaultdict(list)
    if query.group_by == "policy":
        statement = select(Escalation.incident_id, Escalation.policy_id).join(
            Incident, Incident.id == Escalation.incident_id
        )
        for incident_id, policy in session.execute(statement.where(in_period(query))):
            keys[incident_id].append(policy)
        return keys
    services = services_of(session, query)
    if query.group_by == "service":
        return services
    teams_of: dict[str, list[str]] = defaultdict(list)
    for team_id, team_services in session.execute(select(Team.id, Team.services).order_by(Team.id)):
        for service in team_services or []:
            teams_of[service].append(team_id)
    for incident_id, names in services.items():
        for service in names:
            for team in teams_of.get(service, []):
                if team not in keys[incident_id]:
                    keys[incident_id].append(team)
    return keys
