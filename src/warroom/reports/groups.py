"""Which groups each incident of the period belongs to: its services, their teams, or its escalation policy."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from warroom.incidents.models import IncidentService
from warroom.oncall.models import Escalation, Team
from warroom.reports.period import ReportQuery
from warroom.reports.phases import NONE, Facts, Positions
from warroom.reports.reads import Reads


def _ids_per(name: Any, incident_id: Any, *, sqlite: bool) -> Any:
    """(name, its incident ids) per name: SQLite as one comma-separated text, PostgreSQL as an array. One row
    per name rather than one per link: 166,000 links were 0.10 s of Python tuples on SQLite, their 40 texts
    0.03 s."""
    ids = func.group_concat(incident_id) if sqlite else func.array_agg(incident_id)
    return select(name, ids).group_by(name)


def services_statement(*, sqlite: bool) -> Any:
    """Each service with the ids of its incidents."""
    return _ids_per(IncidentService.service, IncidentService.incident_id, sqlite=sqlite)


def policies_statement(*, sqlite: bool) -> Any:
    """Each escalation policy with the ids of the incidents it paged for."""
    return _ids_per(Escalation.policy_id, Escalation.incident_id, sqlite=sqlite)


def _ids(value: str | list[int]) -> NDArray[np.int64]:
    if isinstance(value, str):
        return np.fromstring(value, dtype=np.int64, sep=",")
    return np.asarray(value, dtype=np.int64)


def _runs(rows: list[Any], facts: Facts) -> dict[str, Positions]:
    """name → sorted positions, from (name, incident ids) `rows`.

    The statement reads the whole link table, not joined with the period's incidents: `facts` knows them, and
    a lookup here is far cheaper than one into the incidents table per row (a quarter of the time, issue 17)."""
    return {name: facts.positions_of(_ids(ids)) for name, ids in rows}


def services_of(reads: Reads, facts: Facts) -> dict[str, Positions]:
    """service → the sorted positions (in `facts`) of the period's incidents of that service; read once per
    report (the runbook section asks again)."""
    cached: dict[str, Positions] | None = facts.memo.get("services")
    if cached is not None:
        return cached
    services = _runs(reads.rows("services", services_statement(sqlite=reads.sqlite)), facts)
    facts.memo["services"] = services
    return services


def in_none(facts: Facts, groups: dict[str, Positions]) -> Positions:
    """The positions of the incidents in none of `groups`."""
    covered = np.zeros(len(facts), dtype=bool)
    for at in groups.values():
        covered[at] = True
    return np.flatnonzero(~covered)


def _with_none(facts: Facts, groups: dict[str, Positions]) -> dict[str, Positions]:
    """`groups` and, as `(none)`, the incidents in none of them."""
    none = in_none(facts, groups)
    if len(none):
        groups[NONE] = none
    return groups


def group_positions(reads: Reads, query: ReportQuery, facts: Facts) -> dict[str, Positions] | None:
    """group name → the sorted positions of its incidents, for service, team or policy; None when grouping by
    severity (`facts` is already in runs of severity).

    Incidents without any (no service, no team owning one, never paged) are reported as `(none)`."""
    if query.group_by == "severity":
        return None
    if query.group_by == "policy":
        return _with_none(facts, _runs(reads.rows("policies", policies_statement(sqlite=reads.sqlite)), facts))
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
