"""A monitor's past from its rollups, for charts: uptime per UTC day and mean latency per hour, of many monitors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.monitors.batches import day_of, minute_of
from warroom.monitors.models import MonitorRollup


def daily_uptime(
    session: Session, monitor_ids: Sequence[int], *, now: datetime, days: int = 90
) -> dict[int, dict[date, tuple[int, int]]]:
    """Monitor id → UTC day → (checks, up) for the last `days` days (today included); days without checks absent."""
    since = day_of(now) - timedelta(days=days - 1)
    found: dict[int, dict[date, tuple[int, int]]] = defaultdict(dict)
    if not monitor_ids:
        return found
    rows = session.execute(
        select(MonitorRollup.monitor_id, MonitorRollup.bucket, MonitorRollup.checks, MonitorRollup.up).where(
            MonitorRollup.monitor_id.in_(list(monitor_ids)),
            MonitorRollup.resolution == "d",
            MonitorRollup.bucket >= since,
        )
    )
    for monitor_id, bucket, checks, up in rows:
        found[monitor_id][bucket.date()] = (checks, up)
    return found


def hourly_latency(
    session: Session, monitor_ids: Sequence[int], *, now: datetime, hours: int = 24
) -> dict[int, list[float | None]]:
    """Monitor id → mean latency (ms) of each of the last `hours` hours, oldest first (None: no check that hour)."""
    start = minute_of(now).replace(minute=0) - timedelta(hours=hours - 1)
    sums: dict[int, list[list[float]]] = {i: [[0.0, 0] for _ in range(hours)] for i in monitor_ids}
    if not monitor_ids:
        return {}
    rows = session.execute(
        select(
            MonitorRollup.monitor_id, MonitorRollup.bucket, MonitorRollup.checks, MonitorRollup.latency_sum_ms
        ).where(
            MonitorRollup.monitor_id.in_(list(monitor_ids)),
            MonitorRollup.resolution == "m",
            MonitorRollup.bucket >= start,
        )
    )
    for monitor_id, bucket, checks, latency_sum in rows:
        slot = int((bucket - start).total_seconds() // 3600)
        if 0 <= slot < hours and checks:
            sums[monitor_id][slot][0] += latency_sum
            sums[monitor_id][slot][1] += checks
    return {i: [(s / n if n else None) for s, n in slots] for i, slots in sums.items()}
