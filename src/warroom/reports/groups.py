"""Which groups each incident of the period belongs to: its services, their teams, or its escalation policy."""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from warroom.incidents.models import IncidentService
from warroom.oncall.models import Escalation, Team
from warroom.reports.period import ReportQuery
from warroom.reports.phases import NONE, Facts
from warroom.reports.reads import Reads

_first = itemgetter(0)
_second = itemgetter(1)


def services_statement() -> Any:
    """Every (service, incident id) link, ordered by service."""
    return select(IncidentService.service, IncidentService.incident_id).order_by(IncidentService.service)


def policies_statement() -> Any:
    """Every (escalation policy, incident id), ordered by policy."""
    return select(Escalation.policy_id, Escalation.incident_id).order_by(Escalation.policy_id)


def _runs(rows: list[Any], facts: Facts) -> dict[str, list[int]]:
    """name → sorted positions, from (name, incident id) `rows` ordered by name.

    The statement reads the whole link table, not joined with the period's incidents: `facts` knows them, and
    a lookup here is far cheaper than one into the incidents table per row (a quarter of the time, issue 17)."""
    return {name: facts.positions_of(map(_second, run)) for name, run in groupby(rows, key=_first)}


def services_of(reads: Reads, facts: Facts) -> dict[str, list[int]]:
    """service → the sorted positions (in `facts`) of the period's incidents of that service; read once per
    report (the runbook section asks again)."""
    cached: dict[str, list[int]] | None = facts.memo.get("services")
    if cached is not None:
        return cached
    services = _runs(reads.rows("services", services_statement()), facts)
    facts.memo["services"] = services
    return services


def _with_none(facts: Facts, groups: dict[str, list[int]]) -> dict[str, list[int]]:
    """`groups` and, as `(none)`, the incidents in none of them."""
    covered = set().union(*groups.values()) if groups else set()
    if len(covered) < len(facts):
        groups[NONE] = sorted(set(range(len(facts))) - covered)
    return groups


def group_positions(reads: Reads, query: ReportQuery, facts: Facts) -> dict[str, list[int]] | None:
    """group name → the sorted positions of its incidents, for service, team or policy; None when grouping by
    severity (`facts` is already in runs of severity).

    Incidents without any (no service, no team owning one, never paged) are reported as `(none)`."""
    if query.group_by == "severity":
        return None
    if query.group_by == "policy":
        return _with_none(facts, _runs(reads.rows("policies", policies_statement()), facts))
    services = services_of(reads, facts)
    if query.group_by == "service":
        return _with_none(facts, dict(services))
    members: dict[str, set[int]] = defaultdict(set)
    for team_id, team_services in reads.session.execute(select(Team.id, Team.services).order_by(Team.id)):
        for service in team_services or []:
            members[team_id].update(services.get(service, ()))
    return _with_none(facts, {team: sorted(positions) for team, positions in members.items() if positions})
