"""Severities P0–P4 and their targets. The defaults come from the teams' runbooks (seeds 002, 003, 004)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from warroom.errors import InvalidInput


@dataclass(frozen=True)
class Severity:
    """One row of the severity table."""

    name: str
    rank: int  # 0 is the most severe
    description: str
    acknowledge: timedelta
    response: timedelta
    detection: timedelta
    mitigation: timedelta
    recovery: timedelta
    update_every: timedelta | None
    page: bool
    total: timedelta | None = None  # the seeds round the total up (P2: 15+30+60 min, "<2 hours")

    @property
    def resolve(self) -> timedelta:
        """The total MTTR target: as configured, else detection + mitigation + recovery."""
        return self.total or (self.detection + self.mitigation + self.recovery)


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


DEFAULT_SEVERITIES: tuple[Severity, ...] = (
    Severity(
        "P0", 0, "Complete outage, data loss or security breach", _m(5), _m(15), _m(2), _m(3), _m(5), _m(30), True
    ),
    Severity(
        "P1", 1, "Major feature broken or severe degradation", _m(15), _m(60), _m(5), _m(10), _m(15), _m(60), True
    ),
    Severity(
        "P2",
        2,
        "Partial outage or minor feature broken",
        _m(30),
        _m(240),
        _m(15),
        _m(30),
        _m(60),
        _m(240),
        True,
        total=_m(120),
    ),
    Severity("P3", 3, "Minor issue with a workaround", _m(240), _m(1440), _m(60), _m(480), _m(1440), _m(1440), False),
    Severity("P4", 4, "Cosmetic or low impact", _m(1440), _m(4320), _m(1440), _m(4320), _m(10080), None, False),
)


class SeverityTable:
    """The configured severities, looked up by name; the order of the table is the order of rank."""

    def __init__(self, severities: tuple[Severity, ...] | list[Severity] = DEFAULT_SEVERITIES) -> None:
        if not severities:
            raise ValueError("the severity table needs at least one severity")
        self._by_name = {s.name: s for s in sorted(severities, key=lambda s: s.rank)}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        """Names from the most to the least severe."""
        return list(self._by_name)

    def get(self, name: str, *, field: str = "severity") -> Severity:
        """The severity called `name` (case-insensitive), or an error naming the accepted ones."""
        found = self._by_name.get(name.strip().upper()) if isinstance(name, str) else None
        if found is None:
            raise InvalidInput(f"Unknown severity {name!r}: expected one of {', '.join(self._by_name)}.", field=field)
        return found

    def highest(self, names: list[str]) -> str:
        """The most severe of `names`."""
        return min(names, key=lambda n: self.get(n).rank)
