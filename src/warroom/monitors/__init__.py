"""Health checks: warroom watches services itself (HTTP, TCP, TLS, databases, host, logs, commands,
heartbeats, Prometheus queries) and raises alerts through the alert pipeline when they go down."""

from __future__ import annotations

from typing import Any


def install(runtime: Any) -> None:
    """Register the prune job, the scheduler as an engine service and the state gauge in /metrics."""
    from warroom.engine import worker
    from warroom.monitors import handlers
    from warroom.monitors.metrics import MonitorCollector
    from warroom.monitors.scheduler import MonitorScheduler

    handlers.register()
    if MonitorScheduler not in worker.BACKGROUND_SERVICES:
        worker.BACKGROUND_SERVICES.append(MonitorScheduler)
    if "monitor_collector" not in runtime.extras:
        collector = MonitorCollector(runtime)
        runtime.registry.register(collector)
        runtime.extras["monitor_collector"] = collector
