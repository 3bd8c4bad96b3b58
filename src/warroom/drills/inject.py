"""The one place where drills meet alert intake: a scenario's alerts go through the same pipeline as a webhook's
(dedup, routing, silences, grouping into incidents), each labelled with the drill's id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.alerts.integrations import builtin_integration, get_integration
from warroom.alerts.pipeline import ingest_alerts
from warroom.alerts.schemas import IncomingAlert
from warroom.drills.scenario import ScenarioIn
from warroom.errors import InvalidInput

INTEGRATION = "drills"


def fire(session: Session, runtime: Any, drill_id: int, scenario: ScenarioIn, *, label: str, now: datetime) -> None:
    """Fire the scenario's alerts in the caller's transaction, through its integration or the built-in `drills`."""
    _send(session, runtime, drill_id, scenario, label=label, status="firing", now=now)


def resolve(session: Session, runtime: Any, drill_id: int, scenario: ScenarioIn, *, label: str, now: datetime) -> None:
    """Resolve the alerts the drill fired (once it ended), so that none is left firing."""
    _send(session, runtime, drill_id, scenario, label=label, status="resolved", now=now)


def _send(
    session: Session, runtime: Any, drill_id: int, scenario: ScenarioIn, *, label: str, status: str, now: datetime
) -> None:
    if scenario.integration:
        integration = get_integration(session, scenario.integration)
        if integration.revoked_at is not None:
            raise InvalidInput(f"The integration {scenario.integration!r} is revoked.", field="integration")
    else:
        integration = builtin_integration(session, INTEGRATION, type="generic", now=now)
    alerts = [
        IncomingAlert(
            fingerprint=None,
            status=status,
            labels={**alert.labels, label: str(drill_id)},
            annotations=dict(alert.annotations),
            starts_at=now if status == "firing" else None,
            ends_at=now if status == "resolved" else None,
            generator_url=None,
            raw={"drill": drill_id, "scenario": scenario.name},
        )
        for alert in scenario.alerts
    ]
    ingest_alerts(session, runtime, integration, alerts, now=now)
