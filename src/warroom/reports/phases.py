"""Incident counts, their trend, and each phase (detect, acknowledge, mitigate, recover, resolve) against targets.

The database filters the period (and on PostgreSQL computes each duration in seconds); the incidents are then
held column by column in numpy arrays, ordered by severity, so that a group's figures are a few vectorised
passes (gather its positions, keep the ended phases, compare with each one's target, sort) rather than a loop
over incidents in bytecode: 100,000 incidents grouped by 40 services in tens of milliseconds (issue 17).
Figures are computed from the sorted values as plain Python floats (`figures`), so they are exactly what the
same durations sorted by Python would give."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Float, func, literal_column, select

from warroom.incidents.models import Incident
from warroom.incidents.severities import SeverityTable
from warroom.reports import figures
from warroom.reports.period import ReportQuery
from warroom.reports.reads import Reads
from warroom.reports.sql import UNIX_EPOCH_JULIAN_DAY, epoch, in_period, seconds_between

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
_EPOCH_DAY = date(1970, 1, 1)

Floats = NDArray[np.float64]
# Positions of incidents in a Facts, ascending.
Positions = NDArray[np.intp]


def find(sorted_ids: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.intp]:
    """For each of `ids`, its index in the ascending `sorted_ids`, or -1 when it is not there: a binary search
    per id, never an array as long as the largest id (an imported incident may have a very large number)."""
    where = np.searchsorted(sorted_ids, ids)
    found = where < len(sorted_ids)
    found[found] = sorted_ids[where[found]] == ids[found]
    return np.where(found, where, -1)


def positions(values: Iterable[int] = ()) -> Positions:
    """An array of positions (for tests and small sets)."""
    return np.fromiter(values, dtype=np.intp)


class Facts:
    """The period's incidents column by column, ordered by severity: the incident at position p has id ids[p],
    severity severities[p], was detected on UTC day days[p] (days since 1970-01-01), and its phase k lasted
    phases[k][p] seconds (not a finite number, inf or NaN: that phase has not ended)."""

    __slots__ = ("_by_id", "_position", "days", "ids", "memo", "phases", "runs", "severities")

    def __init__(
        self,
        ids: Sequence[int] = (),
        severities: Sequence[str] = (),
        detected: Sequence[float] | Floats = (),
        phases: Sequence[Sequence[float] | Floats] = ((),) * len(PHASES),
    ) -> None:
        """From parallel columns in any order: ids, severities, detection in epoch seconds, each phase's
        durations."""
        names = sorted(dict.fromkeys(severities))
        code = {name: i for i, name in enumerate(names)}
        codes = np.fromiter(map(code.__getitem__, severities), dtype=np.intp, count=len(severities))
        order = np.argsort(codes, kind="stable")  # a severity is one run of positions
        self.ids: list[int] = np.asarray(ids, dtype=np.int64)[order].tolist()
        self.severities: tuple[str, ...] = tuple(map(names.__getitem__, codes[order].tolist()))
        # The day as the trend counts it: half a millisecond later, so that float arithmetic on an exact midnight
        # (23:59:59.99999...) does not move an incident to the day before.
        later = np.asarray(detected, dtype=np.float64)[order] + 0.0005
        self.days: NDArray[np.int64] = np.floor_divide(later, 86400.0).astype(np.int64)
        self.phases: tuple[Floats, ...] = tuple(np.asarray(column, dtype=np.float64)[order] for column in phases)
        counts = Counter(self.severities)
        stops = list(accumulate(counts[name] for name in names))
        # severity → (start, stop) of its run of positions
        self.runs: dict[str, tuple[int, int]] = {
            name: (stop - counts[name], stop) for name, stop in zip(names, stops, strict=True) if counts[name]
        }
        self._position: dict[int, int] | None = None
        self._by_id: tuple[NDArray[np.int64], Positions] | None = None
        self.memo: dict[str, Any] = {}  # what more than one section reads about these incidents, read once

    def __len__(self) -> int:
        return len(self.ids)

    def position(self) -> dict[int, int]:
        """incident id → its position (built once, on first use); also the set of the period's incidents."""
        if self._position is None:
            self._position = dict(zip(self.ids, range(len(self.ids)), strict=True))
        return self._position

    def positions_of(self, ids: NDArray[np.int64]) -> Positions:
        """The sorted positions of the incidents `ids` that are in the period (others are dropped)."""
        if self._by_id is None:
            ids_here = np.asarray(self.ids, dtype=np.int64)
            by_id = np.argsort(ids_here, kind="stable")
            self._by_id = (ids_here[by_id], by_id)
        sorted_ids, by_id = self._by_id
        found = find(sorted_ids, ids)
        return np.sort(by_id[found[found >= 0]])

    def split_by_severity(self, at: Positions) -> list[tuple[str, Positions]]:
        """Sorted positions `at` cut into one part per severity (a severity's positions are one run)."""
        parts = []
        for severity, (start, stop) in self.runs.items():
            lo, hi = np.searchsorted(at, [start, stop]).tolist()
            if hi > lo:
                parts.append((severity, at[lo:hi]))
        return parts


_STAMPS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
# A timestamp not set: SQLite reads an out-of-range literal as infinity, and any difference with it is
# infinite or NaN. PostgreSQL says NaN for a phase not ended.
_SQLITE_INFINITY = literal_column("1e999", Float)
_PG_NAN = literal_column("'NaN'::float8", Float)


def facts_statement(query: ReportQuery, *, sqlite: bool) -> Any:
    """The period's incidents: id, severity, then on SQLite each timestamp's Julian day (SQLite parses a
    timestamp's text once per julianday() call: five, subtracted here with the same float arithmetic, a
    third of the query's time), infinite when not set; on PostgreSQL the detection's epoch and each phase's
    duration, NaN when it has not ended."""
    if sqlite:
        days = (func.coalesce(func.julianday(getattr(Incident, s)), _SQLITE_INFINITY) for s in _STAMPS)
        statement = select(Incident.id, Incident.severity, *days)
    else:
        statement = select(
            Incident.id,
            Incident.severity,
            epoch(Incident.detected_at, sqlite=False),
            *(
                func.coalesce(seconds_between(getattr(Incident, a), getattr(Incident, b), sqlite=False), _PG_NAN)
                for _, a, b, _ in PHASES
            ),
        )
    return statement.where(in_period(query))


def incident_facts(reads: Reads, query: ReportQuery) -> Facts:
    """The period's incidents with every phase's duration and the time each was detected."""
    # Core, not the ORM, read from the driver's cursor: 100,000 rows without per-row bookkeeping.
    columns = list(zip(*reads.rows("facts", facts_statement(query, sqlite=reads.sqlite)), strict=True))
    if not columns:
        return Facts()
    if not reads.sqlite:
        return Facts(columns[0], columns[1], columns[2], columns[3:])
    days = {stamp: np.asarray(column, dtype=np.float64) for stamp, column in zip(_STAMPS, columns[2:], strict=True)}
    detected = (days["detected_at"] - UNIX_EPOCH_JULIAN_DAY) * 86400.0
    with np.errstate(invalid="ignore"):  # inf - inf: both unset, NaN as meant
        durations = [(days[end] - days[start]) * 86400.0 for _, start, end, _ in PHASES]
    return Facts(columns[0], columns[1], detected, durations)


def _figures(ordered: list[float], hits: int, judged: int) -> dict[str, Any]:
    return figures.summary_of_sorted(ordered) | {
        "target_met": hits,
        "target_judged": judged,
        "target_share": figures.share(hits, judged),
    }


class _Targets:
    """Each phase's target for each position of `facts` (its severity's, plus the slack), NaN where the
    severity has no target: a comparison with NaN is false, so those incidents are never judged."""

    def __init__(self, facts: Facts, severities: SeverityTable) -> None:
        targets = {s.name: [getattr(s, attr).total_seconds() + _SLACK for *_, attr in PHASES] for s in severities}
        self.columns: list[Floats] = []
        for p in range(len(PHASES)):
            column = np.full(len(facts), np.nan)
            for severity, (start, stop) in facts.runs.items():
                if severity in targets:
                    column[start:stop] = targets[severity][p]
            self.columns.append(column)


def _entry(
    name: str, facts: Facts, targets: _Targets, at: Positions | slice, incidents: int | None = None
) -> dict[str, Any]:
    """A group's row: its incidents (at positions `at`, or a slice of them) and each phase's figures."""
    phases = {}
    for p, phase in enumerate(PHASE_NAMES):
        values, target = facts.phases[p][at], targets.columns[p][at]
        ended = np.isfinite(values)
        values, target = values[ended], target[ended]
        hits = int(np.count_nonzero(values <= target))  # a duration equal to its target met it
        judged = int(np.count_nonzero(~np.isnan(target)))
        values.sort()
        phases[phase] = _figures(values.tolist(), hits, judged)
    count = incidents if incidents is not None else len(facts.phases[0][at])
    return {"group": name, "incidents": count, "phases": phases}


def phase_table(facts: Facts, groups: dict[str, Positions] | None, severities: SeverityTable) -> list[dict[str, Any]]:
    """One entry per group (the whole period first): incident count and each phase's figures.

    `groups` maps a group name to the sorted positions of its incidents (None: group by severity); an incident
    of two services counts in both. Each incident is judged by its own severity's target."""
    targets = _Targets(facts, severities)
    out = [_entry(ALL, facts, targets, slice(None), len(facts))]
    if groups is None:
        order = severities.names()
        for severity in sorted(facts.runs, key=lambda s: (s not in order, _index(order, s))):
            start, stop = facts.runs[severity]
            out.append(_entry(severity, facts, targets, slice(start, stop)))
        return out
    for name in sorted(groups):
        out.append(_entry(name, facts, targets, groups[name]))
    return out


def _index(order: Sequence[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _bucket(day: int, bucket: str) -> int:
    """The bucket's first day, in days since the epoch (UTC)."""
    # 1970-01-01 (day 0) was a Thursday: (day + 3) % 7 is the weekday counted from Monday.
    return day - (day + 3) % 7 if bucket == "week" else day


def _per_bucket(days: NDArray[np.int64], bucket: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    distinct, how_many = np.unique(days, return_counts=True)
    for day, n in zip(distinct.tolist(), how_many.tolist(), strict=True):  # a few hundred distinct days
        counts[_bucket(day, bucket)] += n
    return counts


def trend(facts: Facts, groups: dict[str, Positions] | None, query: ReportQuery) -> list[dict[str, Any]]:
    """Incidents per day or week (weeks start on Monday, UTC), every bucket of the period, empty ones too."""
    step = 7 if query.bucket == "week" else 1
    counts = _per_bucket(facts.days, query.bucket)
    if groups is None:
        parts = {s: _per_bucket(facts.days[a:b], query.bucket) for s, (a, b) in facts.runs.items()}
    else:
        parts = {name: _per_bucket(facts.days[at], query.bucket) for name, at in groups.items()}
    out = []
    first = _bucket(int(query.since.timestamp() // 86400), query.bucket)
    last = query.until.timestamp()
    for day in range(first, int(last // 86400) + 1, step):
        if day * 86400 >= last:
            break
        out.append(
            {
                "bucket": (_EPOCH_DAY + timedelta(days=day)).isoformat(),
                "incidents": counts.get(day, 0),
                "groups": {name: part[day] for name, part in sorted(parts.items()) if part.get(day)},
            }
        )
    return out
