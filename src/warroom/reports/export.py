"""Incident exports: Markdown (the INCIDENTS.md log teams keep by hand), CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.errors import InvalidInput
from warroom.incidents.models import Incident, TimelineEvent
from warroom.timeparse import format_duration

FORMATS = ("markdown", "csv", "json")
CSV_COLUMNS = (
    "number",
    "title",
    "severity",
    "status",
    "services",
    "commander",
    "created_by",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "identified_at",
    "mitigated_at",
    "resolved_at",
    "time_to_acknowledge_s",
    "time_to_resolve_s",
    "description",
    "impact",
    "drill",
)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _row(incident: Incident) -> dict[str, Any]:
    return {
        "number": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "services": incident.services,
        "commander": incident.commander,
        "created_by": incident.created_by,
        "started_at": incident.started_at.isoformat(),
        "detected_at": incident.detected_at.isoformat(),
        "acknowledged_at": incident.acknowledged_at.isoformat() if incident.acknowledged_at else None,
        "identified_at": incident.identified_at.isoformat() if incident.identified_at else None,
        "mitigated_at": incident.mitigated_at.isoformat() if incident.mitigated_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "time_to_acknowledge_s": _seconds(incident.detected_at, incident.acknowledged_at),
        "time_to_resolve_s": _seconds(incident.started_at, incident.resolved_at),
        "description": incident.description,
        "impact": incident.impact,
        "labels": incident.labels or {},
        "drill": bool(incident.drill),
    }


def _timelines(session: Session, incidents: Sequence[Incident]) -> dict[int, list[TimelineEvent]]:
    by_incident: dict[int, list[TimelineEvent]] = defaultdict(list)
    ids = [i.id for i in incidents]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = (
            select(TimelineEvent)
            .where(TimelineEvent.incident_id.in_(chunk))
            .order_by(TimelineEvent.incident_id, TimelineEvent.id)
        )
        for event in session.scalars(query):
            by_incident[event.incident_id].append(event)
    return by_incident


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(session: Session, incidents: Sequence[Incident]) -> str:
    """An INCIDENTS.md: a summary table, then each incident with its timeline."""
    lines = [
        "# Incidents",
        "",
        "| # | Severity | Status | Title | Services | Detected | Resolved | MTTA | MTTR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i in incidents:
        row = _row(i)
        lines.append(
            f"| {i.id} | {i.severity} | {i.status} | {'DRILL ' * bool(i.drill)}{_md_cell(i.title)} | "
            f"{_md_cell(', '.join(i.services))} | "
            f"{i.detected_at:%Y-%m-%d %H:%M} | {f'{i.resolved_at:%Y-%m-%d %H:%M}' if i.resolved_at else '-'} | "
            f"{format_duration(row['time_to_acknowledge_s'])} | {format_duration(row['time_to_resolve_s'])} |"
        )
    timelines = _timelines(session, incidents)
    for i in incidents:
        lines += [
            "",
            f"## #{i.id} [{i.severity}] {'DRILL ' if i.drill else ''}{i.title}",
            "",
            f"- **Status:** {i.status}",
            f"- **Services:** {', '.join(i.services) or '-'}",
            f"- **Commander:** {i.commander or '-'}",
            f"- **Declared by:** {i.created_by}",
            f"- **Started:** {i.started_at:%Y-%m-%d %H:%M:%S} UTC",
            f"- **Detected:** {i.detected_at:%Y-%m-%d %H:%M:%S} UTC",
        ]
        if i.resolved_at:
            lines.append(f"- **Resolved:** {i.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
        if i.impact:
            lines.append(f"- **Impact:** {i.impact}")
        if i.description:
            lines += ["", i.description]
        lines += ["", "### Timeline", ""]
        for event in timelines.get(i.id, []):
            text = f" — {event.message}" if event.message else ""
            lines.append(f"- {event.at:%Y-%m-%d %H:%M:%S} **{event.kind}** by {event.actor}{text}")
    return "\n".join(lines) + "\n"


def to_csv(incidents: Sequence[Incident]) -> str:
    """One row per incident; services joined with `;`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for incident in incidents:
        row = _row(incident)
        row["services"] = ";".join(row["services"])
        writer.writerow(row)
    return out.getvalue()


def to_json(session: Session, incidents: Sequence[Incident]) -> str:
    """A JSON array of incidents, each with its timeline."""
    timelines = _timelines(session, incidents)
    data = []
    for incident in incidents:
        row = _row(incident)
        row["timeline"] = [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "message": e.message, "data": e.data}
            for e in timelines.get(incident.id, [])
        ]
        data.append(row)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(session: Session, incidents: Sequence[Incident], fmt: str) -> tuple[str, str]:
    """(body, media type) of the export in `fmt`."""
    if fmt == "markdown":
        return to_markdown(session, incidents), "text/markdown; charset=utf-8"
    if fmt == "csv":
        return to_csv(incidents), "text/csv; charset=utf-8"
    if fmt == "json":
        return to_json(session, incidents), "application/json"
    raise InvalidInput(f"Unknown format {fmt!r}: expected one of {', '.join(FORMATS)}.", field="format")
