"""Notification counters exported in /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram


class NotifyMetrics:
    """Outcomes of notifications and of each delivery attempt."""

    def __init__(self, registry: Any) -> None:
        self.notifications = Counter(
            "warroom_notifications_total",
            "Notifications by kind (page, channel, digest, reminder, test) and outcome (sent, failed, retried, "
            "cancelled).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "warroom_notification_attempts_total",
            "Delivery attempts by kind and result (ok, error).",
            ["kind", "result"],
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "warroom_notification_delivery_seconds",
            "Time one delivery attempt took.",
            ["kind"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )


def metrics_for(runtime: Any) -> NotifyMetrics:
    """The runtime's notify metrics, created once."""
    metrics = runtime.extras.get("notify_metrics")
    if metrics is None:
        metrics = NotifyMetrics(runtime.registry)
        runtime.extras["notify_metrics"] = metrics
    return metrics  # type: ignore[no-any-return]
