"""Health checks: warroom watches services itself (HTTP, TCP, TLS, databases, host, logs, commands,
heartbeats, Prometheus queries) and raises alerts through the alert pipeline when they go down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

    from warroom.configcheck import ConfigProblem


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


def _register_config_checks() -> None:
    # Registered here, where the package is imported, so that every check is known before a file is checked
    # (config.py imports each domain's sections); the checks' modules are imported only when a file is checked.
    from warroom import configcheck

    def check(parsed: Any, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
        from warroom.monitors.configcheck import check_monitors

        return check_monitors(parsed, root, path)

    configcheck.register("monitors", check)


_register_config_checks()
