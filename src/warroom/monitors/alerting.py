"""The one place where monitors meet alert intake: a monitor going down fires an alert through the same
pipeline as webhook alerts (dedup, routing, silences, maintenance, grouping into incidents); coming back up
resolves it. Everything else in this package is independent of `warroom.alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

INTEGRATION = "monitors"


@dataclass(frozen=True)
class MonitorInfo:
    """What an alert says about its monitor."""

    name: str
    service: str
    type: str
    severity: str
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()


def alert_fields(monitor: MonitorInfo, status: str, message: str, *, at: datetime) -> dict[str, Any]:
    """The fields of the IncomingAlert for `monitor` (status firing or resolved)."""
    labels = dict(monitor.labels)
    labels.update(
        {
            "alertname": monitor.name,
            "service": monitor.service,
            "severity": monitor.severity,
            "monitor": monitor.name,
            "check": monitor.type,
        }
    )
    summary = f"{monitor.name} is down" if status == "firing" else f"{monitor.name} is up again"
    annotations = {"summary": summary, "description": message}
    if monitor.description:
        annotations["monitor_description"] = monitor.description
    return {
        "fingerprint": f"monitor:{monitor.name}",
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "starts_at": at if status == "firing" else None,
        "ends_at": at if status == "resolved" else None,
        "generator_url": None,
        "raw": {"monitor": monitor.name, "check": monitor.type, "message": message},
    }


def _ingest(session: Session, runtime: Any, fields: dict[str, Any], now: datetime) -> None:
    # Imported here, not at the top: the scheduler thread imports this module before the alerts domain
    # (and the incidents domain under it) is needed.
    from warroom.alerts.integrations import builtin_integration
    from warroom.alerts.pipeline import ingest_alerts
    from warroom.alerts.schemas import IncomingAlert

    integration = builtin_integration(session, INTEGRATION, type="monitor", now=now)
    ingest_alerts(session, runtime, integration, [IncomingAlert(**fields)], now=now)


def raise_down(
    session: Session,
    runtime: Any,
    monitor: MonitorInfo,
    message: str,
    now: datetime,
    *,
    started: datetime | None = None,
) -> None:
    """Fire the monitor's alert in the caller's transaction (raises when alert intake refuses it).

    `started` is the first failing check: the alert, and the incident it opens, start there, so that the
    incident's time to detect is how long the monitor took to decide, not 0 s."""
    _ingest(session, runtime, alert_fields(monitor, "firing", message, at=started or now), now)


def resolve_up(session: Session, runtime: Any, monitor: MonitorInfo, message: str, now: datetime) -> None:
    """Resolve the monitor's alert in the caller's transaction."""
    _ingest(session, runtime, alert_fields(monitor, "resolved", message, at=now), now)
