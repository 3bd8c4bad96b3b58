"""Which groups each incident of the period belongs to: its services, their teams, or its escalation policy."""

from __future__ import annotations

from collections import Counter, defaultdict
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import select

from warroom.incidents.models import IncidentService
from warroom.oncall.models import Escalation, Team
from warroom.reports.period import ReportQuery
from warroom.reports.phases import NONE, Facts, Positions
from warroom.reports.reads import Reads

_first = itemgetter(0)
_second = itemgetter(1)


def services_statement() -> Any:
    """Every (service, incident id) link, ordered by service."""
    return select(IncidentService.service, IncidentService.incident_id).order_by(IncidentService.service)


def policies_statement() -> Any:
    """Every (escalation policy, incident id), ordered by policy."""
    return select(Escalation.policy_id, Escalation.incident_id).order_by(Escalation.policy_id)


def _runs(rows: list[Any], facts: Facts) -> dict[str, Positions]:
    """name → sorted positions, from (name, incident id) `rows` ordered by name.

    The statement reads the whole link table, not joined with the period's incidents: `facts` knows them, and
    a lookup here is far cheaper than one into the incidents table per row (a quarter of the time, issue 17)."""
    names = list(map(_first, rows))
    ids = np.fromiter(map(_second, rows), dtype=np.int64, count=len(rows))
    counts = Counter(names)
    out, start = {}, 0
    for name in dict.fromkeys(names):  # each name's rows are one run, in order
        stop = start + counts[name]
        out[name] = facts.positions_of(ids[start:stop])
        start = stop
    return out


def services_of(reads: Reads, facts: Facts) -> dict[str, Positions]:
    """service → the sorted positions (in `facts`) of the period's incidents of that service; read once per
    report (the runbook section asks again)."""
    cached: dict[str, Positions] | None = facts.memo.get("services")
    if cached is not None:
        return cached
    services = _runs(reads.rows("services", services_statement()), facts)
    facts.memo["services"] = services
    return services


def _with_none(facts: Facts, groups: dict[str, Positions]) -> dict[str, Positions]:
    """`groups` and, as `(none)`, the incidents in none of them."""
    covered = np.zeros(len(facts), dtype=bool)
    for at in groups.values():
        covered[at] = True
    if not covered.all():
        groups[NONE] = np.flatnonzero(~covered)
    return groups


def group_positions(reads: Reads, query: ReportQuery, facts: Facts) -> dict[str, Positions] | None:
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
    members: dict[str, list[Positions]] = defaultdict(list)
    for team_id, team_services in reads.session.execute(select(Team.id, Team.services).order_by(Team.id)):
        for service in team_services or []:
            if service in services:
                members[team_id].append(services[service])
    teams = {team: np.unique(np.concatenate(parts)) for team, parts in members.items()}
    return _with_none(facts, {team: at for team, at in teams.items() if len(at)})
