"""The report: every section over one period, from the database, as plain data for the renderers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session

from warroom.incidents.severities import SeverityTable
from warroom.reports.groups import group_keys
from warroom.reports.load import load
from warroom.reports.noise import noise
from warroom.reports.period import ReportQuery
from warroom.reports.phases import incident_rows, phase_table, trend
from warroom.reports.runbook_use import runbooks

SECTIONS = ("incidents", "trend", "noise", "load", "runbooks", "actions")


def action_items(session: Session, query: ReportQuery) -> dict[str, Any]:
    """Action items opened, done and overdue in the period: not available until the post-mortems land.

    At merge: `from warroom.postmortems.service import action_item_counts` and return
    `{"available": True, **action_item_counts(session, since=query.since, until=query.until)}`."""
    del session, query
    return {"available": False, "opened": None, "done": None, "overdue": None}


def _in_own_session(open_session: Callable[[], Session], fn: Callable[[Session], Any]) -> Any:
    with open_session() as session:
        return fn(session)


def build(
    session: Session,
    query: ReportQuery,
    severities: SeverityTable,
    sections: tuple[str, ...] = SECTIONS,
    *,
    open_session: Callable[[], Session] | None = None,
) -> dict[str, Any]:
    """The report's `sections` (all by default) for `query`.

    With `open_session`, the on-call load and the noise are read in two more threads, each in its own read
    session, while this one reads the incidents: the database works (SQLite releases the GIL while it steps,
    PostgreSQL is another process) while Python sorts. Each section is consistent in itself; two sections may
    see the database a few milliseconds apart."""
    report: dict[str, Any] = {"period": query.as_dict()}
    wanted = set(sections)
    pending: dict[str, Future[Any]] = {}
    pool = ThreadPoolExecutor(max_workers=2) if open_session is not None and {"noise", "load"} & wanted else None
    try:
        if pool is not None and open_session is not None:
            pending["load"] = pool.submit(_in_own_session, open_session, lambda s: load(s, query))
            if "noise" in wanted:
                pending["noise"] = pool.submit(_in_own_session, open_session, lambda s: noise(s, query))
        rows = incident_rows(session, query) if {"incidents", "trend", "runbooks"} & wanted else []
        keys = group_keys(session, query) if {"incidents", "trend"} & wanted else None
        if "incidents" in wanted:
            report["incidents"] = {"total": len(rows), "groups": phase_table(rows, keys, severities)}
        if "trend" in wanted:
            report["trend"] = trend(rows, keys, query)
        if "runbooks" in wanted:
            report["runbooks"] = runbooks(session, query, rows)
        if "actions" in wanted:
            report["actions"] = action_items(session, query)
        if {"noise", "load"} & wanted:
            on_call = pending["load"].result() if "load" in pending else load(session, query)
            if "noise" in wanted:
                report["noise"] = pending["noise"].result() if "noise" in pending else noise(session, query)
                report["noise"]["pages_never_acknowledged"] = on_call["unacknowledged_pages"]
                report["noise"]["pages"] = on_call["pages"]
            if "load" in wanted:
                report["load"] = on_call
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return {key: report[key] for key in ("period", *SECTIONS) if key in report}
