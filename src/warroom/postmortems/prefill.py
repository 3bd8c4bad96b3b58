"""What a post-mortem is drafted from: the incident's record, read off its timeline (no other domain is asked).

Every fact the draft states comes from here, so the template only arranges it. Times are UTC, HH:MM; an
event on another day than the incident began also carries its date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from warroom.auth.actor import PERSON_KINDS
from warroom.clock import as_utc
from warroom.incidents import durations
from warroom.incidents.models import Incident, TimelineEvent
from warroom.incidents.severities import Severity
from warroom.timeparse import format_duration

# The phases a post-mortem reports against their targets (incidents/durations.py names them).
PHASES = ("detect", "acknowledge", "mitigate", "recover", "resolve")

# The significant events: what changed the incident or the response to it. Left out on purpose: reminders
# (update_reminder), deliveries (notification_sent/failed), paging bookkeeping (paging_started/stopped/
# reevaluated), target-missed warnings, label/title/description edits, and each alert attached (they are
# listed once each under "Alerts that fired" instead: a noisy alert would otherwise drown the timeline).
SIGNIFICANT = {
    "declared": "Incident declared",
    "acknowledged": "Acknowledged",
    "notification_acknowledged": "Acknowledged from the page",
    "status_changed": "Status",
    "update": "Status update",
    "severity_changed": "Severity changed",
    "commander_changed": "Commander changed",
    "services_changed": "Services changed",
    "paged": "Paged",
    "escalated": "Escalated",
    "runbook_started": "Runbook started",
    "runbook_step_ran": "Runbook step ran",
    "runbook_step_done": "Runbook step checked",
    "runbook_step_skipped": "Runbook step skipped",
    "runbook_finished": "Runbook finished",
    "note": "Note",
    "resolved": "Resolved",
    "auto_resolved": "Resolved automatically",
    "reopened": "Reopened",
}
ALERT_KINDS = ("alert_attached", "alert_refired")
ANSWER_KINDS = ("acknowledged", "notification_acknowledged", "status_changed", "resolved", "update", "note")
STEP_KINDS = ("runbook_step_ran", "runbook_step_done", "runbook_step_skipped")


def hhmm(at: datetime, day: str) -> str:
    """HH:MM in UTC, prefixed with the date when it is not `day` (the incident's first day)."""
    at = as_utc(at)
    return at.strftime("%H:%M") if at.strftime("%Y-%m-%d") == day else at.strftime("%Y-%m-%d %H:%M")


def _line(event: TimelineEvent) -> str:
    label = SIGNIFICANT[event.kind]
    data = event.data or {}
    if event.kind == "status_changed":
        text = f"{label}: {data.get('from', '?')} → {data.get('to', '?')}"
        return f"{text} ({event.message})" if event.message else text
    if event.kind == "declared":
        return f"{label} [{data.get('severity', '')}]: {event.message}"
    return f"{label}: {event.message}" if event.message else label


def _step_outcome(event: TimelineEvent) -> str:
    data = event.data or {}
    if event.kind == "runbook_step_ran":
        code = data.get("exit_code")
        if data.get("timed_out"):
            return "timed out"
        return "succeeded" if code == 0 else f"failed (exit {code})"
    if event.kind == "runbook_step_done":
        return "done" if data.get("done") else "not done"
    return f"skipped ({data.get('reason', '')})"


def record(incident: Incident, events: Sequence[TimelineEvent], severity: Severity, now: datetime) -> dict[str, Any]:
    """The context a post-mortem template is rendered with (see docs/learning.md for every key)."""
    stones = durations.milestones(events)
    day = as_utc(stones.started).strftime("%Y-%m-%d")
    measures = {m.name: m for m in durations.measure(stones, severity, now)}
    phases = []
    for name in PHASES:
        m = measures[name]
        phases.append(
            {
                "name": name,
                "took": format_duration(m.seconds) if m.seconds is not None else "-",
                "seconds": m.seconds,
                "target": format_duration(m.target_seconds),
                "target_seconds": m.target_seconds,
                "state": m.state,
            }
        )
    end = stones.resolved or now
    responders: list[str] = []
    timeline: list[dict[str, str]] = []
    alerts: dict[str, dict[str, Any]] = {}
    pages: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for event in events:
        person = event.actor_kind in PERSON_KINDS
        if person and event.actor not in responders:
            responders.append(event.actor)
        if event.kind in SIGNIFICANT:
            timeline.append(
                {"time": hhmm(event.at, day), "kind": event.kind, "actor": event.actor, "text": _line(event)}
            )
        if event.kind in ALERT_KINDS:
            name = event.message or "alert"
            found = alerts.setdefault(name, {"name": name, "first": hhmm(event.at, day), "count": 0})
            found["count"] += 1
        if event.kind in ("paged", "escalated"):
            for user in (event.data or {}).get("users", []):
                pages.append(
                    {"user": user, "at": event.at, "time": hhmm(event.at, day), "level": event.data.get("level")}
                )
        if event.kind in STEP_KINDS:
            data = event.data or {}
            steps.append(
                {
                    "time": hhmm(event.at, day),
                    "runbook": data.get("runbook", ""),
                    "index": data.get("index"),
                    "title": data.get("title", ""),
                    "command": data.get("command") or "",
                    "outcome": _step_outcome(event),
                    "actor": event.actor,
                }
            )
    for page in pages:
        answer = next(
            (e for e in events if e.actor == page["user"] and e.kind in ANSWER_KINDS and e.at >= page["at"]), None
        )
        page["answered"] = hhmm(answer.at, day) if answer is not None else None
        page["answered_after"] = format_duration((answer.at - page["at"]).total_seconds()) if answer else None
        del page["at"]
    return {
        "incident": {
            "number": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "severity_description": severity.description,
            "status": incident.status,
            "services": list(incident.services),
            "commander": incident.commander or "",
            "declared_by": incident.created_by,
            "description": incident.description,
            "impact": incident.impact,
        },
        "date": day,
        "started": hhmm(stones.started, day),
        "detected": hhmm(stones.detected, day),
        "acknowledged": hhmm(stones.acknowledged, day) if stones.acknowledged else "",
        "mitigated": hhmm(stones.mitigated, day) if stones.mitigated else "",
        "resolved": hhmm(stones.resolved, day) if stones.resolved else "",
        "duration": format_duration((end - stones.started).total_seconds()),
        "phases": phases,
        "responders": responders,
        "timeline": timeline,
        "alerts": list(alerts.values()),
        "pages": pages,
        "runbook_steps": steps,
    }
