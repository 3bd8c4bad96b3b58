"""What the Monitors page shows: each monitor's state, a 24-hour latency sparkline and a 90-day uptime bar.

The charts are inline SVG drawn here from the monitors' rollups (numbers only: nothing from outside reaches
the markup but through the autoescaping template); no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from warroom.monitors import history
from warroom.monitors import service as monitors
from warroom.monitors.models import Monitor

DAYS = 90
HOURS = 24
SPARK_W, SPARK_H = 96.0, 24.0


@dataclass(frozen=True)
class Sparkline:
    """Mean latency per hour as an SVG polyline (`points` in a 96x24 box); empty when no check had a latency."""

    points: str
    low_ms: float | None
    high_ms: float | None
    last_ms: float | None


@dataclass(frozen=True)
class DayCell:
    """One day of the uptime bar."""

    day: date
    x: int
    level: str  # good (>= 99.9 %) | fair (>= 99 %) | bad | none (no checks)
    label: str


@dataclass(frozen=True)
class MonitorRow:
    """A monitor as the page lists it."""

    monitor: Monitor
    last_message: str | None
    spark: Sparkline
    days: list[DayCell]
    uptime_90d: float | None


def sparkline(values: list[float | None]) -> Sparkline:
    """The polyline of `values` (None: a gap, skipped), scaled between their lowest and highest."""
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if not present:
        return Sparkline("", None, None, None)
    low, high = min(v for _, v in present), max(v for _, v in present)
    span = high - low or 1.0
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{SPARK_H - 2 - (v - low) / span * (SPARK_H - 4):.1f}" for i, v in present)
    return Sparkline(points, round(low, 1), round(high, 1), round(present[-1][1], 1))


def _level(checks: int, up: int) -> str:
    ratio = up / checks
    return "good" if ratio >= 0.999 else "fair" if ratio >= 0.99 else "bad"


def uptime_bar(days: dict[date, tuple[int, int]], today: date) -> tuple[list[DayCell], float | None]:
    """90 cells, oldest first, and the uptime over the days that had checks (None: none had)."""
    cells = []
    total_checks = total_up = 0
    for offset in range(DAYS):
        day = today - timedelta(days=DAYS - 1 - offset)
        checks, up = days.get(day, (0, 0))
        if checks:
            total_checks += checks
            total_up += up
            cells.append(
                DayCell(day, offset * 3, _level(checks, up), f"{day}: {up / checks:.2%} up of {checks} checks")
            )
        else:
            cells.append(DayCell(day, offset * 3, "none", f"{day}: no checks"))
    return cells, (total_up / total_checks if total_checks else None)


def monitor_rows(session: Session, now: datetime) -> list[MonitorRow]:
    """Every monitor, down first, then by name, with its charts."""
    found = monitors.list_monitors(session)
    ids = [m.id for m in found]
    days = history.daily_uptime(session, ids, now=now, days=DAYS)
    latency = history.hourly_latency(session, ids, now=now, hours=HOURS)
    order = {"down": 0, "unknown": 1, "up": 2}
    rows = []
    for monitor in sorted(found, key=lambda m: (m.paused, order.get(m.state, 1), m.name)):
        cells, ratio = uptime_bar(days.get(monitor.id, {}), now.date())
        hidden = monitors.secret_values(monitor.spec)
        rows.append(
            MonitorRow(
                monitor=monitor,
                last_message=monitors.scrub(monitor.last_message, hidden),
                spark=sparkline(latency.get(monitor.id, [])),
                days=cells,
                uptime_90d=ratio,
            )
        )
    return rows
