"""Incident counts, their trend, and each phase (detect, acknowledge, mitigate, recover, resolve) against targets.

The database filters the period and computes each duration in seconds; Python sorts each group's durations for
the median and p90 (SQLite has no percentile function) and buckets the trend with integer arithmetic, no
datetimes: 100,000 incidents are one pass."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident
from warroom.incidents.severities import SeverityTable
from warroom.reports import figures
from warroom.reports.period import ReportQuery
from warroom.reports.sql import epoch, fetch_all, in_period, is_sqlite, seconds_between

# Each phase as (name, from, to, the severity's target), as
# `incidents.durations.measure` defines them.
PHASES: tuple[tuple[str, str, str, str], ...] = (
    ("detect", "started_at", "detected_at", "detection"),
    ("acknowledge", "detected_at", "acknowledged_at", "acknowledge"),
    ("mitigate", "detected_at", "mitigated_at", "mitigation"),
    ("recover", "mitigated_at", "resolved_at", "recovery"),
    ("resolve", "started_at", "resolved_at", "resolve"),
)
PHASE_NAMES = tuple(p[0] for p in PHASES)
RESOLVE = PHASE_NAMES.index("resolve")
ALL = "(all)"
NONE = "(none)"
# Targets are whole seconds; the database's float arithmetic on a duration exactly on one may be a hair over.
_SLACK = 1e-3
_DAY = 86400


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident of the period: its durations in seconds, in PHASES order (None: the phase has not ended)."""

    id: int
    severity: str
    detected: float  # epoch seconds
    durations: tuple[float | None, ...]

    @property
    def resolve(self) -> float | None:
        """Started to resolved, in seconds."""
        return self.durations[RESOLVE]


def incident_rows(session: Session, query: ReportQuery) -> list[IncidentRow]:
    """The period's incidents with every phase's duration, each subtraction done by the database."""
    sqlite = is_sqlite(session)
    columns = [
        seconds_between(getattr(Incident, start), getattr(Incident, end), sqlite=sqlite) for _, start, end, _ in PHASES
    ]
    statement = select(Incident.id, Incident.severity, epoch(Incident.detected_at, sqlite=sqlite), *columns)
    # Core, not the ORM, read from the driver's cursor: 100,000 rows without per-row bookkeeping.
    result = fetch_all(session, statement.where(in_period(query)))
    return [IncidentRow(row[0], row[1], row[2], row[3:]) for row in result]  # the driver's tuple, sliced


def _figures(runs: list[list[float]], hits: int, judged: int) -> dict[str, Any]:
    values = [v for run in runs for v in run]  # sorted runs: sorting their concatenation is nearly linear
    return figures.summary(values) | {
        "target_met": hits,
        "target_judged": judged,
        "target_share": figures.share(hits, judged),
    }


def phase_table(
    rows: list[IncidentRow], keys: dict[int, list[str]] | None, severities: SeverityTable
) -> list[dict[str, Any]]:
    """One entry per group (the whole period first): incident count and each phase's figures.

    `keys` maps an incident to its groups (None: group by severity); an incident of two services counts in both.
    Each group's durations are kept per severity and sorted, so the count that met the severity's target is
    one binary search (a duration equal to its target met it)."""
    targets = {s.name: [getattr(s, attr).total_seconds() + _SLACK for *_, attr in PHASES] for s in severities}
    # (group, severity) → per phase, the durations of its incidents whose phase ended
    cells: dict[tuple[str, str], list[list[float]]] = {}
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        for key in [row.severity] if keys is None else keys.get(row.id) or [NONE]:
            counts[key] += 1
            cell = cells.get((key, row.severity))
            if cell is None:
                cell = cells[(key, row.severity)] = [[] for _ in PHASES]
            for p, duration in enumerate(row.durations):
                if duration is not None:
                    cell[p].append(duration)
    for cell in cells.values():
        for values in cell:
            values.sort()
    by_severity: dict[str, list[list[float]]] = {}
    if keys is None:
        by_severity = {severity: cell for (_, severity), cell in cells.items()}
    else:
        for row in rows:
            if row.severity not in by_severity:
                by_severity[row.severity] = [[] for _ in PHASES]
            for p, duration in enumerate(row.durations):
                if duration is not None:
                    by_severity[row.severity][p].append(duration)
        for cell in by_severity.values():
            for values in cell:
                values.sort()

    def entry(name: str, incidents: int, parts: list[tuple[str, list[list[float]]]]) -> dict[str, Any]:
        phases = {}
        for p, phase in enumerate(PHASE_NAMES):
            runs = [cell[p] for _, cell in parts]
            judged = [(severity, cell[p]) for severity, cell in parts if severity in targets]
            hits = sum(bisect_right(values, targets[severity][p]) for severity, values in judged)
            phases[phase] = _figures(runs, hits, sum(len(values) for _, values in judged))
        return {"group": name, "incidents": incidents, "phases": phases}

    order = severities.names() if keys is None else []
    names = [n for n in order if n in counts] + sorted(k for k in counts if k not in order)
    out = [entry(ALL, len(rows), sorted(by_severity.items()))]
    for name in names:
        parts = sorted((severity, cell) for (key, severity), cell in cells.items() if key == name)
        out.append(entry(name, counts[name], parts))
    return out


def _bucket(seconds: float, bucket: str) -> int:
    """The bucket's first day, in days since the epoch (UTC)."""
    day = int(seconds // _DAY)
    # 1970-01-01 (day 0) was a Thursday: (day + 3) % 7 is the weekday counted from Monday.
    return day - (day + 3) % 7 if bucket == "week" else day


def trend(rows: list[IncidentRow], keys: dict[int, list[str]] | None, query: ReportQuery) -> list[dict[str, Any]]:
    """Incidents per day or week (weeks start on Monday, UTC), every bucket of the period, empty ones too."""
    step = 7 if query.bucket == "week" else 1
    counts: dict[int, int] = defaultdict(int)
    by_group: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        start = _bucket(round(row.detected, 3), query.bucket)
        counts[start] += 1
        for key in [row.severity] if keys is None else keys.get(row.id) or [NONE]:
            by_group[start][key] += 1
    out = []
    first = _bucket(query.since.timestamp(), query.bucket)
    last = query.until.timestamp()
    epoch0 = datetime(1970, 1, 1, tzinfo=UTC)
    for day in range(first, int(last // _DAY) + 1, step):
        if day * _DAY >= last:
            break
        out.append(
            {
                "bucket": (epoch0 + timedelta(days=day)).date().isoformat(),
                "incidents": counts.get(day, 0),
                "groups": dict(sorted(by_group[day].items())) if day in by_group else {},
            }
        )
    return out
