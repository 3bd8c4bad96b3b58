"""Prometheus metrics computed at scrape time from the database."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from warroom.incidents import service as incidents
from warroom.runtime import Runtime


class IncidentCollector(Collector):
    """`warroom_incidents{status,severity}`: how many incidents are in each state now."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Query the counts at scrape time (cheap: one grouped count on an index)."""
        family = GaugeMetricFamily(
            "warroom_incidents", "Incidents by status and severity.", labels=["status", "severity"]
        )
        try:
            with self.runtime.db.session() as session:
                counts = incidents.count_by_status_and_severity(session)
        except Exception:  # a scrape must answer even when the database does not
            counts = {}
        for (status, severity), count in sorted(counts.items()):
            family.add_metric([status, severity], count)
        yield family
