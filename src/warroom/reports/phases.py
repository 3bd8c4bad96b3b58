"""Incident counts, their trend, and each phase (detect, acknowledge, mitigate, recover, resolve) against targets.

The database computes every duration (seconds between two timestamps) and filters the period; Python sorts
the durations of each group for the median and p90, which SQLite has no function for."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident
from warroom.incidents.severities import Severity, SeverityTable
from warroom.reports import figures
from warroom.reports.period import ReportQuery
from warroom.reports.sql import epoch, in_period, is_sqlite, seconds_between

# (phase, from, to, the severity's target): as `incidents.durations.measure` defines them.
PHASES: tuple[tuple[str, str, str, str], ...] = (
    ("detect", "started_at", "detected_at", "detection"),
    ("acknowledge", "detected_at", "acknowledged_at", "acknowledge"),
    ("mitigate", "detected_at", "mitigated_at", "mitigation"),
    ("recover", "mitigated_at", "resolved_at", "recovery"),
    ("resolve", "started_at", "resolved_at", "resolve"),
)
PHASE_NAMES = tuple(p[0] for p in PHASES)
ALL = "(all)"
NONE = "(none)"


@dataclass(frozen=True)
class IncidentRow:
    """One incident of the period with its durations in seconds (None: the phase has not ended)."""

    id: int
    severity: str
    detected: float  # epoch seconds
    durations: dict[str, float | None]


def incident_rows(session: Session, query: ReportQuery) -> list[IncidentRow]:
    """The period's incidents with every phase's duration, computed by the database."""
    sqlite = is_sqlite(session)
    columns = [
        seconds_between(getattr(Incident, start), getattr(Incident, end), sqlite=sqlite) for _, start, end, _ in PHASES
    ]
    statement = select(Incident.id, Incident.severity, epoch(Incident.detected_at, sqlite=sqlite), *columns).where(
        in_period(query)
    )
    rows = []
    for row in session.execute(statement):
        rows.append(IncidentRow(row[0], row[1], float(row[2]), dict(zip(PHASE_NAMES, row[3:], strict=True))))
    return rows


def _target(severity: Severity | None, attr: str) -> float | None:
    if severity is None:
        return None
    value: timedelta = getattr(severity, attr)
    return value.total_seconds()


def _phase(rows: Iterable[IncidentRow], name: str, attr: str, severities: dict[str, Severity]) -> dict[str, Any]:
    values: list[float] = []
    met = judged = 0
    for row in rows:
        took = row.durations[name]
        if took is None:
            continue
        took = max(0.0, float(took))
        values.append(took)
        target = _target(severities.get(row.severity), attr)
        if target is not None:
            judged += 1
            met += took <= target + 1e-3  # the database's float arithmetic on exact targets
    out = figures.summary(values)
    out.update({"target_met": met, "target_judged": judged, "target_share": figures.share(met, judged)})
    return out


def phase_table(
    rows: list[IncidentRow], keys: dict[int, list[str]] | None, severities: SeverityTable
) -> list[dict[str, Any]]:
    """One entry per group (the whole period first): incident count and each phase's figures.

    `keys` maps an incident to its groups (None: group by severity); an incident of two services counts in both."""
    table = {s.name: s for s in severities}
    groups: dict[str, list[IncidentRow]] = defaultdict(list)
    for row in rows:
        for key in [row.severity] if keys is None else keys.get(row.id) or [NONE]:
            groups[key].append(row)
    order = severities.names() if keys is None else []
    names = [n for n in order if n in groups] + sorted(k for k in groups if k not in order)
    out = []
    for name, members in [(ALL, rows), *((n, groups[n]) for n in names)]:
        entry: dict[str, Any] = {"group": name, "incidents": len(members)}
        entry["phases"] = {p: _phase(members, p, attr, table) for p, _, _, attr in PHASES}
        out.append(entry)
    return out


def _bucket_start(moment: datetime, bucket: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def trend(rows: list[IncidentRow], keys: dict[int, list[str]] | None, query: ReportQuery) -> list[dict[str, Any]]:
    """Incidents per day or week (weeks start on Monday, UTC), every bucket of the period, empty ones too."""
    step = timedelta(days=7 if query.bucket == "week" else 1)
    counts: dict[datetime, int] = defaultdict(int)
    by_group: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        start = _bucket_start(datetime.fromtimestamp(round(row.detected, 3), tz=UTC), query.bucket)
        counts[start] += 1
        for key in [row.severity] if keys is None else keys.get(row.id) or [NONE]:
            by_group[start][key] += 1
    out = []
    at = _bucket_start(query.since, query.bucket)
    while at < query.until:
        out.append(
            {
                "bucket": at.date().isoformat(),
                "incidents": counts.get(at, 0),
                "groups": dict(sorted(by_group[at].items())),
            }
        )
        at += step
    return out
