"""What the runbooks domain knows about an incident's alerts: labels, annotations, the route's runbook hint.

The alerts domain writes the alert's `labels` and `annotations` into the data of the `declared` event and of
each event that attaches an alert, and the route's `runbook` (an id) and `auto_runbook` (bool) into the
`declared` event. This module is the ONE place that reads them back, so a change in how alerts record
their context is a change here only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from warroom.incidents import timeline
from warroom.incidents.models import Incident, TimelineEvent
from warroom.runbooks.matching import IncidentContext


@dataclass
class AlertContext:
    """Labels and annotations of the incident's alerts, and what its route said about runbooks."""

    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # What may fill placeholders: the first alert's labels (then the incident's) and annotations only.
    fill_labels: dict[str, str] = field(default_factory=dict)
    fill_annotations: dict[str, str] = field(default_factory=dict)
    hint: str | None = None
    auto: bool = False


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None and not isinstance(v, Mapping | list)}


def context_from_events(events: Iterable[TimelineEvent], incident_labels: Mapping[str, str]) -> AlertContext:
    """Alert context from timeline events (oldest first) and the incident's own labels.

    Precedence for a label or annotation: the alert that declared the incident, then alerts attached
    later (the earliest first), then the incident's labels (those a person set).
    """
    context = AlertContext()
    declared: dict[str, Any] | None = None
    attached: list[dict[str, Any]] = []
    for event in events:
        data = event.data or {}
        if event.kind == "declared" and declared is None:
            declared = data
        elif "labels" in data or "annotations" in data:
            attached.append(data)
    layers = ([declared] if declared is not None else []) + attached
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for data in layers:
        for key, value in _strings(data.get("labels")).items():
            labels.setdefault(key, value)
        for key, value in _strings(data.get("annotations")).items():
            annotations.setdefault(key, value)
    for key, value in _strings(dict(incident_labels)).items():
        labels.setdefault(key, value)
    context.labels, context.annotations = labels, annotations
    # Placeholders take values from the first alert only (the one that declared the incident, else the first
    # attached): a later alert may come from anyone who can send to the integration, and must not change
    # what the runbook started for the first one runs.
    first = layers[0] if layers else {}
    context.fill_labels = _strings(first.get("labels"))
    for key, value in _strings(dict(incident_labels)).items():
        context.fill_labels.setdefault(key, value)
    context.fill_annotations = _strings(first.get("annotations"))
    if declared is not None:
        hint = declared.get("runbook")
        context.hint = str(hint) if isinstance(hint, str) and hint.strip() else None
        context.auto = declared.get("auto_runbook") is True
    return context


def alert_context(session: Session, incident: Incident) -> AlertContext:
    """The alert context of `incident`, read from its timeline (the current transaction sees its own events)."""
    return context_from_events(timeline.events(session, incident.id), incident.labels or {})


def incident_fields(incident: Incident) -> dict[str, str]:
    """Incident fields a placeholder may name (`<incident>`, `<severity>`, `<service>` ...)."""
    services = incident.services
    fields = {
        "incident": str(incident.id),
        "incident_number": str(incident.id),
        "number": str(incident.id),
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
    }
    if services:
        # The first affected service; runbooks written for one service at a time name it <service>.
        fields["service"] = services[0]
        fields["services"] = " ".join(services)
    if incident.commander:
        fields["commander"] = incident.commander
    return fields


def matching_context(incident: Incident, context: AlertContext) -> IncidentContext:
    """What runbook matching needs from the incident and its alerts."""
    return IncidentContext(
        title=incident.title,
        services=incident.services,
        labels=context.labels,
        annotations=context.annotations,
        hint=context.hint,
    )
