"""The report: every section over one period, from the database, as plain data for the renderers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warroom.incidents.severities import SeverityTable
from warroom.postmortems.service import action_item_counts
from warroom.reports.groups import group_keys
from warroom.reports.load import load
from warroom.reports.noise import noise
from warroom.reports.period import ReportQuery
from warroom.reports.phases import incident_rows, phase_table, trend
from warroom.reports.runbook_use import runbooks

SECTIONS = ("incidents", "trend", "noise", "load", "runbooks", "actions")


def action_items(session: Session, query: ReportQuery) -> dict[str, Any]:
    """Action items opened and done in the period, and overdue at its end (the post-mortems domain counts them)."""
    return dict(action_item_counts(session, since=query.since, until=query.until))


def build(
    session: Session, query: ReportQuery, severities: SeverityTable, sections: tuple[str, ...] = SECTIONS
) -> dict[str, Any]:
    """The report's `sections` (all by default) for `query`."""
    report: dict[str, Any] = {"period": query.as_dict()}
    rows = incident_rows(session, query) if {"incidents", "trend", "runbooks"} & set(sections) else []
    keys = group_keys(session, query) if {"incidents", "trend"} & set(sections) else None
    if "incidents" in sections:
        report["incidents"] = {"total": len(rows), "groups": phase_table(rows, keys, severities)}
    if "trend" in sections:
        report["trend"] = trend(rows, keys, query)
    on_call = load(session, query) if {"noise", "load"} & set(sections) else None
    if "noise" in sections and on_call is not None:
        report["noise"] = noise(session, query)
        report["noise"]["pages_never_acknowledged"] = on_call["unacknowledged_pages"]
        report["noise"]["pages"] = on_call["pages"]
    if "load" in sections and on_call is not None:
        report["load"] = on_call
    if "runbooks" in sections:
        report["runbooks"] = runbooks(session, query, rows)
    if "actions" in sections:
        report["actions"] = action_items(session, query)
    return report
