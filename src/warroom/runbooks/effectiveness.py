"""How runbooks have served: times used, success rate, time to resolve against comparable incidents, review dates."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents import service as incidents
from warroom.runbooks.model import Runbook
from warroom.runbooks.models import RunbookRun
from warroom.runbooks.plan import Outcome


@dataclass
class RunbookStats:
    """How a runbook has served: use, success, time to resolve against comparable incidents, review."""

    runbook: str
    title: str
    times_used: int = 0
    incidents: int = 0
    finished: int = 0
    succeeded: int = 0
    failed: int = 0
    success_rate: float | None = None
    median_resolve_with: float | None = None
    resolved_with: int = 0
    median_resolve_without: float | None = None
    resolved_without: int = 0
    severities: list[str] = field(default_factory=list)
    last_used: datetime | None = None
    review_due: date | None = None
    review_overdue: bool = False
    in_library: bool = True


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def review_due(runbook: Runbook) -> date | None:
    """When the runbook's next review is due (last_reviewed + review_every, a year by default)."""
    front = runbook.front
    if front.last_reviewed is None:
        return None
    return front.last_reviewed + (front.review_every or timedelta(days=365))


def stats(session: Session, runbooks: Sequence[Runbook], *, today: date) -> list[RunbookStats]:
    """Per runbook: times used, success rate (of runs that ended success or failed), median time to resolve
    (started to resolved) of the incidents that used it against resolved incidents of the same
    severities that did not, last use and review date. Runbooks in the library and runbooks with runs."""
    runs = list(session.scalars(select(RunbookRun).order_by(RunbookRun.id)))
    resolved = incidents.all_incidents(session, incidents.Filters(statuses=("resolved",)))
    every = incidents.all_incidents(session, incidents.Filters())
    severity_of = {i.id: i.severity for i in every}
    ttr = {i.id: (i.resolved_at - i.started_at).total_seconds() for i in resolved if i.resolved_at is not None}
    by_id: dict[str, RunbookStats] = {}
    for runbook in runbooks:
        if runbook.id in by_id:
            continue
        due = review_due(runbook)
        by_id[runbook.id] = RunbookStats(
            runbook=runbook.id, title=runbook.title, review_due=due, review_overdue=due is not None and due < today
        )
    used_by: dict[str, set[int]] = {}
    for run in runs:
        entry = by_id.get(run.runbook_id)
        if entry is None:
            entry = by_id[run.runbook_id] = RunbookStats(runbook=run.runbook_id, title=run.title, in_library=False)
        entry.times_used += 1
        if run.outcome is not None:
            entry.finished += 1
        entry.succeeded += run.outcome == Outcome.SUCCESS.value
        entry.failed += run.outcome == Outcome.FAILED.value
        entry.last_used = max(entry.last_used, run.started_at) if entry.last_used else run.started_at
        used_by.setdefault(run.runbook_id, set()).add(run.incident_id)
    for runbook_id, entry in by_id.items():
        used = used_by.get(runbook_id, set())
        entry.incidents = len(used)
        judged = entry.succeeded + entry.failed
        entry.success_rate = round(entry.succeeded / judged, 3) if judged else None
        sevs = sorted({severity_of[i] for i in used if i in severity_of})
        entry.severities = sevs
        with_times = [ttr[i] for i in used if i in ttr]
        without = [t for i, t in ttr.items() if i not in used and severity_of.get(i) in sevs]
        entry.median_resolve_with, entry.resolved_with = _median(with_times), len(with_times)
        entry.median_resolve_without, entry.resolved_without = _median(without), len(without)
    return sorted(by_id.values(), key=lambda s: (-s.times_used, s.runbook))
