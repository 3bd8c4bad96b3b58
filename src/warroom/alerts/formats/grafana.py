"""Grafana unified alerting's webhook contact point payload."""

from __future__ import annotations

from typing import Any

from warroom.alerts.formats import require_object
from warroom.alerts.formats.alertmanager import parse_alerts
from warroom.alerts.schemas import IncomingAlert


def parse(body: Any, _config: dict[str, Any]) -> list[IncomingAlert]:
    """The alerts of a Grafana webhook; Grafana's extra links are kept as annotations."""
    return parse_alerts(
        require_object(body),
        missing_hint=" (is this a Grafana unified alerting webhook?)",
        extra_annotations=("dashboardURL", "panelURL", "silenceURL", "valueString"),
    )
