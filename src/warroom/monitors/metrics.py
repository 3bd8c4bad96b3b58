"""`warroom_monitors{state}` in /metrics, counted at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from warroom.monitors.models import Monitor


class MonitorCollector(Collector):
    """How many monitors are up, down, unknown or paused."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One grouped count."""
        family = GaugeMetricFamily("warroom_monitors", "Monitors by state (paused counted apart).", labels=["state"])
        counts: dict[str, int] = {"up": 0, "down": 0, "unknown": 0, "paused": 0}
        try:
            with self.runtime.db.session() as session:
                rows = session.execute(
                    select(Monitor.state, Monitor.paused, func.count()).group_by(Monitor.state, Monitor.paused)
                )
                for state, paused, count in rows:
                    key = "paused" if paused else state
                    counts[key] = counts.get(key, 0) + int(count)
        except Exception:  # a scrape must answer even when the database does not
            return
        for state, count in sorted(counts.items()):
            family.add_metric([state], count)
        yield family
