"""What the health-check scheduler tells operators: its metrics in /metrics and warnings at most every few seconds."""

from __future__ import annotations

import time
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram

log = structlog.get_logger("warroom.monitors")


class SchedulerMetrics:
    """What the scheduler exports in /metrics (one set per registry)."""

    def __init__(self, registry: Any) -> None:
        self.checks = Counter(
            "warroom_monitor_checks_total", "Checks run, by type and status.", ["type", "status"], registry=registry
        )
        self.start_delay = Histogram(
            "warroom_monitor_start_delay_seconds",
            "How long after its due time a check started.",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.shed = Counter(
            "warroom_monitor_checks_shed_total",
            "Checks skipped because the scheduler was too late or the previous run had not finished.",
            ["reason"],
            registry=registry,
        )
        self.delayed = Counter(
            "warroom_monitor_checks_delayed_total",
            "Checks that waited for a free slot (concurrency limit).",
            registry=registry,
        )
        self.inconclusive = Counter(
            "warroom_monitor_checks_inconclusive_total",
            "Failed checks not counted against the target (the loop was late, or this machine ran out of something).",
            ["reason"],
            registry=registry,
        )
        self.in_flight = Gauge("warroom_monitor_checks_in_flight", "Checks running now.", registry=registry)
        self.assigned = Gauge("warroom_monitor_assigned", "Monitors this engine runs.", registry=registry)
        self.engines = Gauge("warroom_monitor_engines", "Live engines sharing the monitors.", registry=registry)
        self.loop_lag = Gauge(
            "warroom_monitor_loop_lag_seconds", "Event loop lag (worst of the last second).", registry=registry
        )
        self.overloaded = Gauge(
            "warroom_monitor_overloaded",
            "1 while checks are being delayed or shed for lack of capacity.",
            registry=registry,
        )
        self.write_seconds = Histogram(
            "warroom_monitor_write_seconds",
            "Time to write one batch of results.",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.write_errors = Counter(
            "warroom_monitor_write_errors_total", "Batches that could not be written (retried).", registry=registry
        )
        self.pending_results = Gauge(
            "warroom_monitor_results_pending", "Results waiting to be written.", registry=registry
        )


def metrics_for(runtime: Any) -> SchedulerMetrics:
    """The scheduler metrics of this runtime's registry (created once)."""
    metrics = runtime.extras.get("monitor_metrics")
    if metrics is None:
        metrics = SchedulerMetrics(runtime.registry)
        runtime.extras["monitor_metrics"] = metrics
    return metrics  # type: ignore[no-any-return]


class Throttled:
    """Log an event at most once per `every` seconds, with how many were suppressed."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, event: str, **fields: Any) -> None:
        now = time.monotonic()
        last, suppressed = self._last.get(event, (0.0, 0))
        if now - last >= self.every:
            log.warning(event, suppressed=suppressed, **fields) if suppressed else log.warning(event, **fields)
            self._last[event] = (now, 0)
        else:
            self._last[event] = (last, suppressed + 1)
