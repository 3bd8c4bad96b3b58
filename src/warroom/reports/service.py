"""The report: every section over one period, from the database, as plain data for the renderers."""

from __future__ import annotations

import gc
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from warroom.incidents.severities import SeverityTable
from warroom.postmortems.service import action_item_counts
from warroom.reports import noise as noise_section
from warroom.reports.groups import group_positions, policies_statement, services_statement
from warroom.reports.load import acknowledgements_statement, load, pages_statement
from warroom.reports.noise import noise
from warroom.reports.period import ReportQuery
from warroom.reports.phases import Facts, facts_statement, incident_facts, phase_table, trend
from warroom.reports.reads import Reads, report_reads
from warroom.reports.runbook_use import runbooks, runs_statement
from warroom.reports.sql import period_incidents

# One pause of the cyclic garbage collector at a time, however many reports run at once (it is process-wide).
_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a report is built, back as it was after the last one.

    A report allocates a few hundred thousand tuples and lists that all live until it ends and form no cycles;
    each automatic collection walks them again, a third of a whole-period report's time (issue 17). Reference
    counting still frees everything as usual."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


SECTIONS = ("incidents", "trend", "noise", "load", "runbooks", "actions")


def action_items(session: Session, query: ReportQuery) -> dict[str, Any]:
    """Action items opened and done in the period, and overdue at its end (the post-mortems domain counts them)."""
    return dict(action_item_counts(session, since=query.since, until=query.until))


def build(
    session: Session, query: ReportQuery, severities: SeverityTable, sections: tuple[str, ...] = SECTIONS
) -> dict[str, Any]:
    """The report's `sections` (all by default) for `query`, every read in one snapshot."""
    with collector_paused(), report_reads(session) as reads:
        _read_ahead(reads, query, sections)
        return _build(reads, query, severities, sections)


def _read_ahead(reads: Reads, query: ReportQuery, sections: tuple[str, ...]) -> None:
    """Start the big reads the sections will ask for, those asked first first (PostgreSQL; reads.py)."""
    sqlite, wanted = reads.sqlite, set(sections)
    if {"incidents", "trend", "runbooks"} & wanted:
        reads.ahead("facts", facts_statement(query, sqlite=sqlite))
    if {"incidents", "trend"} & wanted and query.group_by == "policy":
        reads.ahead("policies", policies_statement(sqlite=sqlite))
    if ({"incidents", "trend"} & wanted and query.group_by in ("service", "team")) or "runbooks" in wanted:
        reads.ahead("services", services_statement(sqlite=sqlite))
    if {"noise", "load"} & wanted:
        reads.ahead("pages", pages_statement(sqlite=sqlite))
        reads.ahead("acknowledgements", acknowledgements_statement(sqlite=sqlite))
    if "noise" in wanted:
        for name, statement in noise_section.statements(query, sqlite=sqlite).items():
            reads.ahead(name, statement)
    if "runbooks" in wanted:
        reads.ahead("runs", runs_statement(sqlite=sqlite))


def _build(reads: Reads, query: ReportQuery, severities: SeverityTable, sections: tuple[str, ...]) -> dict[str, Any]:
    session = reads.session
    report: dict[str, Any] = {"period": query.as_dict()}
    with_facts = bool({"incidents", "trend", "runbooks"} & set(sections))
    facts = incident_facts(reads, query) if with_facts else Facts()
    groups = group_positions(reads, query, facts) if {"incidents", "trend"} & set(sections) else None
    if "incidents" in sections:
        report["incidents"] = {"total": len(facts), "groups": phase_table(facts, groups, severities)}
    if "trend" in sections:
        report["trend"] = trend(facts, groups, query)
    on_call = None
    if {"noise", "load"} & set(sections):
        incidents: Collection[int] = facts.position() if with_facts else period_incidents(session, query)
        on_call = load(reads, incidents)
    if "noise" in sections and on_call is not None:
        report["noise"] = noise(reads, query, incidents)
        report["noise"]["pages_never_acknowledged"] = on_call["unacknowledged_pages"]
        report["noise"]["pages"] = on_call["pages"]
    if "load" in sections and on_call is not None:
        report["load"] = on_call
    if "runbooks" in sections:
        report["runbooks"] = runbooks(reads, query, facts)
    if "actions" in sections:
        report["actions"] = action_items(session, query)
    return report
