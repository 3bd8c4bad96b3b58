"""Incident counts, their trend, and each phase (detect, acknowledge, mitigate, recover, resolve) against targets.

The database filters the period (and on PostgreSQL computes each duration in seconds); Python orders the
incidents by severity, so each severity is one run of positions, and then works column by column with
C-level builtins (slices, `sorted`, `itemgetter`, `Counter`), never incident by incident in bytecode: 100,000
incidents are a handful of passes (issue 17's 2 s target)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from functools import partial
from itertools import accumulate, chain, repeat
from math import isfinite
from operator import add, floordiv, is_not, itemgetter, mul, sub
from typing import Any

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
# In C: a value that is not None (a position: the incident is in the period).
_not_none: Callable[[Any], bool] = partial(is_not, None)


def gather(column: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
    """column[p] for each p of `positions`, in C (itemgetter answers a bare value for a single position)."""
    if len(positions) > 1:
        result: tuple[Any, ...] = itemgetter(*positions)(column)
        return result
    return (column[positions[0]],) if positions else ()


class Facts:
    """The period's incidents column by column, ordered by severity: the incident at position p has id ids[p],
    severity severities[p], was detected on UTC day days[p] (days since 1970-01-01), and its phase k lasted
    phases[k][p] seconds (not a finite number, inf or NaN: that phase has not ended; a float, not None, so that
    the columns are computed and filtered by C builtins)."""

    __slots__ = ("_position", "days", "ids", "memo", "phases", "runs", "severities")

    def __init__(
        self,
        ids: Sequence[int] = (),
        severities: Sequence[str] = (),
        detected: Sequence[float] = (),
        phases: Sequence[Sequence[float]] = ((),) * len(PHASES),
    ) -> None:
        """From parallel columns in any order: ids, severities, detection in epoch seconds, each phase's
        durations."""
        order = sorted(range(len(ids)), key=severities.__getitem__)  # stable: a severity is one run
        self.ids: tuple[int, ...] = gather(ids, order)
        self.severities: tuple[str, ...] = gather(severities, order)
        # The day as the trend counts it: half a millisecond later, so that float arithmetic on an exact midnight
        # (23:59:59.99999...) does not move an incident to the day before; map() keeps the loop in C.
        later = map(add, gather(detected, order), repeat(0.0005))
        self.days: tuple[int, ...] = tuple(map(int, map(floordiv, later, repeat(86400.0))))
        self.phases: tuple[tuple[float, ...], ...] = tuple(gather(column, order) for column in phases)
        counts = Counter(self.severities)
        runs = list(dict.fromkeys(self.severities))
        stops = list(accumulate(counts[s] for s in runs))
        # severity → (start, stop) of its run of positions
        self.runs: dict[str, tuple[int, int]] = {
            s: (stop - counts[s], stop) for s, stop in zip(runs, stops, strict=True)
        }
        self._position: dict[int, int] | None = None
        self.memo: dict[str, Any] = {}  # what more than one section reads about these incidents, read once

    def __len__(self) -> int:
        return len(self.ids)

    def position(self) -> dict[int, int]:
        """incident id → its position (built once, on first use); also the set of the period's incidents."""
        if self._position is None:
            self._position = dict(zip(self.ids, range(len(self.ids)), strict=True))
        return self._position

    def positions_of(self, ids: Iterable[int]) -> list[int]:
        """The sorted positions of the incidents `ids` that are in the period (others are dropped)."""
        found: Iterator[int] = filter(_not_none, map(self.position().get, ids))  # type: ignore[arg-type]
        return sorted(found)

    def split_by_severity(self, positions: Sequence[int]) -> list[tuple[str, Sequence[int]]]:
        """Sorted `positions` cut into one part per severity (a severity's positions are one run)."""
        parts = []
        for severity, (start, stop) in self.runs.items():
            lo, hi = bisect_right(positions, start - 1), bisect_right(positions, stop - 1)
            if hi > lo:
                parts.append((severity, positions[lo:hi]))
        return parts


def _seconds(days: Iterable[float]) -> list[float]:
    """Days as seconds, each multiplied in C (map) with the database's float arithmetic."""
    return list(map(mul, days, repeat(86400.0)))


def _between(start: Sequence[float], end: Sequence[float]) -> list[float]:
    """end - start of each pair of Julian days, in seconds, as the database would; not finite when either is
    infinite (a timestamp not set)."""
    return _seconds(map(sub, end, start))


_STAMPS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
# A timestamp not set: SQLite reads an out-of-range literal as infinity, and any difference with it in
# Python is infinite or NaN. PostgreSQL says NaN for a phase not ended.
_SQLITE_INFINITY = literal_column("1e999", Float)
_PG_NAN = literal_column("'NaN'::float8", Float)


def facts_statement(query: ReportQuery, *, sqlite: bool) -> Any:
    """The period's incidents: id, severity, then on SQLite each timestamp's Julian day (SQLite parses a
    timestamp's text once per julianday() call: five, subtracted in Python with the same float arithmetic, a
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
    days = dict(zip(_STAMPS, columns[2:], strict=True))
    detected = _seconds(map(sub, days["detected_at"], repeat(UNIX_EPOCH_JULIAN_DAY)))
    durations = [_between(days[start], days[end]) for _, start, end, _ in PHASES]
    return Facts(columns[0], columns[1], detected, durations)


def _figures(ordered: list[float], hits: int, judged: int) -> dict[str, Any]:
    return figures.summary_of_sorted(ordered) | {
        "target_met": hits,
        "target_judged": judged,
        "target_share": figures.share(hits, judged),
    }


# Per severity, per phase: the sorted durations of the incidents whose phase ended.
_Cells = list[tuple[str, list[list[float]]]]


def _sorted_ended(columns: Iterable[Sequence[float]]) -> list[list[float]]:
    return [sorted(filter(isfinite, column)) for column in columns]


def _cells_of_runs(facts: Facts) -> _Cells:
    """Each severity's cell, from its run of positions."""
    return sorted(
        (severity, _sorted_ended(column[start:stop] for column in facts.phases))
        for severity, (start, stop) in facts.runs.items()
    )


def _cells_of(facts: Facts, positions: Sequence[int]) -> _Cells:
    """The cells of the incidents at sorted `positions`, one per severity among them."""
    return sorted(
        (severity, _sorted_ended(gather(column, part) for column in facts.phases))
        for severity, part in facts.split_by_severity(positions)
    )


def phase_table(facts: Facts, groups: dict[str, list[int]] | None, severities: SeverityTable) -> list[dict[str, Any]]:
    """One entry per group (the whole period first): incident count and each phase's figures.

    `groups` maps a group name to the sorted positions of its incidents (None: group by severity); an incident
    of two services counts in both. Each group's durations are kept per severity and sorted, so the count that
    met the severity's target is one binary search (a duration equal to its target met it)."""
    targets = {s.name: [getattr(s, attr).total_seconds() + _SLACK for *_, attr in PHASES] for s in severities}

    def entry(name: str, incidents: int, cells: _Cells) -> dict[str, Any]:
        phases = {}
        for p, phase in enumerate(PHASE_NAMES):
            judged = [(severity, cell[p]) for severity, cell in cells if severity in targets]
            hits = sum(bisect_right(values, targets[severity][p]) for severity, values in judged)
            runs = [cell[p] for _, cell in cells]
            ordered = runs[0] if len(runs) == 1 else sorted(chain.from_iterable(runs))  # sorted runs: a merge
            phases[phase] = _figures(ordered, hits, sum(len(values) for _, values in judged))
        return {"group": name, "incidents": incidents, "phases": phases}

    by_severity = _cells_of_runs(facts)
    out = [entry(ALL, len(facts), by_severity)]
    if groups is None:
        order = severities.names()
        for severity, cell in sorted(by_severity, key=lambda sc: (sc[0] not in order, _index(order, sc[0]))):
            start, stop = facts.runs[severity]
            out.append(entry(severity, stop - start, [(severity, cell)]))
        return out
    for name in sorted(groups):
        positions = groups[name]
        out.append(entry(name, len(positions), _cells_of(facts, positions)))
    return out


def _index(order: Sequence[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _bucket(day: int, bucket: str) -> int:
    """The bucket's first day, in days since the epoch (UTC)."""
    # 1970-01-01 (day 0) was a Thursday: (day + 3) % 7 is the weekday counted from Monday.
    return day - (day + 3) % 7 if bucket == "week" else day


def _per_bucket(days: Iterable[int], bucket: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    for day, n in Counter(days).items():  # a few hundred distinct days, however many incidents
        counts[_bucket(day, bucket)] += n
    return counts


def trend(facts: Facts, groups: dict[str, list[int]] | None, query: ReportQuery) -> list[dict[str, Any]]:
    """Incidents per day or week (weeks start on Monday, UTC), every bucket of the period, empty ones too."""
    step = 7 if query.bucket == "week" else 1
    counts = _per_bucket(facts.days, query.bucket)
    if groups is None:
        parts = {s: _per_bucket(facts.days[a:b], query.bucket) for s, (a, b) in facts.runs.items()}
    else:
        parts = {name: _per_bucket(gather(facts.days, positions), query.bucket) for name, positions in groups.items()}
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
