"""Runbook effectiveness as the teams' table: uses, success rate, average time per run, and the time to resolve
of incidents that used the runbook against similar incidents (same service and severity) that did not."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident, IncidentService
from warroom.reports import figures
from warroom.reports.period import ReportQuery
from warroom.reports.phases import IncidentRow
from warroom.reports.sql import in_period, is_sqlite, seconds_between
from warroom.runbooks.models import RunbookRun

SUCCESS, FAILED = "success", "failed"  # runbooks.plan.Outcome values


def runbooks(session: Session, query: ReportQuery, rows: list[IncidentRow]) -> list[dict[str, Any]]:
    """One entry per runbook used on the period's incidents, the most used first."""
    sqlite = is_sqlite(session)
    runs = session.execute(
        select(
            RunbookRun.runbook_id,
            RunbookRun.title,
            RunbookRun.incident_id,
            RunbookRun.outcome,
            seconds_between(RunbookRun.started_at, RunbookRun.finished_at, sqlite=sqlite),
        )
        .join(Incident, Incident.id == RunbookRun.incident_id)
        .where(in_period(query))
        .order_by(RunbookRun.id)
    ).all()
    if not runs:
        return []
    services: dict[int, set[str]] = defaultdict(set)
    statement = select(IncidentService.incident_id, IncidentService.service).join(
        Incident, Incident.id == IncidentService.incident_id
    )
    for incident_id, service in session.execute(statement.where(in_period(query))):
        services[incident_id].add(service)
    by_id = {row.id: row for row in rows}
    kinds: dict[int, set[tuple[str, str]]] = {
        row.id: {(s, row.severity) for s in services.get(row.id, {""})} for row in rows
    }
    resolve = {row.id: float(row.durations["resolve"]) for row in rows if row.durations["resolve"] is not None}

    stats: dict[str, dict[str, Any]] = {}
    used: dict[str, set[int]] = defaultdict(set)
    durations: dict[str, list[float]] = defaultdict(list)
    for runbook_id, title, incident_id, outcome, took in runs:
        entry = stats.setdefault(
            runbook_id, {"runbook": runbook_id, "title": title, "uses": 0, "succeeded": 0, "failed": 0}
        )
        entry["uses"] += 1
        entry["succeeded"] += outcome == SUCCESS
        entry["failed"] += outcome == FAILED
        if took is not None:
            durations[runbook_id].append(max(0.0, float(took)))
        used[runbook_id].add(incident_id)
    out = []
    for runbook_id, entry in stats.items():
        mine = used[runbook_id]
        similar = set().union(*(kinds.get(i, set()) for i in mine if i in by_id))
        with_times = [resolve[i] for i in mine if i in resolve]
        without = [t for i, t in resolve.items() if i not in mine and kinds[i] & similar]
        entry["incidents"] = len(mine)
        entry["success_rate"] = figures.share(entry["succeeded"], entry["succeeded"] + entry["failed"])
        entry["average_run_seconds"] = figures.summary(durations[runbook_id])["mean"]
        entry["resolve_with"] = figures.summary(with_times)
        entry["resolve_without"] = figures.summary(without)
        out.append(entry)
    return sorted(out, key=lambda e: (-e["uses"], e["runbook"]))
