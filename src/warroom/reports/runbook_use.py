"""Runbook effectiveness as the teams' table: uses, success rate, average time per run, and the time to resolve
of incidents that used the runbook against similar incidents (same service and severity) that did not."""

from __future__ import annotations

from collections import defaultdict
from math import isfinite
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from warroom.reports import figures
from warroom.reports.groups import in_none, services_of
from warroom.reports.period import ReportQuery
from warroom.reports.phases import RESOLVE, Facts, Floats, Positions, positions
from warroom.reports.reads import Reads
from warroom.reports.sql import seconds_between
from warroom.runbooks.models import RunbookRun

SUCCESS, FAILED = "success", "failed"  # runbooks.plan.Outcome values
# A subset of the resolved incidents, by rank (see _Ranked).
Mask = NDArray[np.bool_]


class _Ranked:
    """The period's resolve times sorted once, so that the figures of a subset of incidents need no sort: the
    subset is a mask over the ranks (an OR of the masks of its kinds), and its values in rank order are
    already sorted."""

    def __init__(self, resolve: Floats) -> None:
        resolved = np.flatnonzero(np.isfinite(resolve))
        order = resolved[np.argsort(resolve[resolved], kind="stable")]
        self.values: Floats = resolve[order]
        # position → rank among the resolved; an unresolved incident's is one past the last (a spare slot)
        self.rank = np.full(len(resolve), len(order), dtype=np.intp)
        self.rank[order] = np.arange(len(order), dtype=np.intp)

    def none(self) -> Mask:
        """The empty subset."""
        return np.zeros(len(self.values) + 1, dtype=bool)

    def mask(self, at: Positions) -> Mask:
        """The mask of the resolved incidents at positions `at`: slot r set for the one of rank r."""
        mask = self.none()
        mask[self.rank[at]] = True
        return mask

    def summary(self, mask: Mask) -> dict[str, Any]:
        """figures.summary of the resolve times of the subset `mask`."""
        # In rank order the subset's values are sorted: the same sum, median and p90 as sorting them.
        return figures.summary_of_sorted(self.values[mask[:-1]].tolist())


def runs_statement(*, sqlite: bool) -> Any:
    """Every runbook run on an incident, oldest first; those of the period's incidents are kept in Python (a
    join looked up 100,000 incidents for 10,000 runs: 0.04 s on SQLite, the runs alone 0.01 s)."""
    return select(
        RunbookRun.runbook_id,
        RunbookRun.title,
        RunbookRun.incident_id,
        RunbookRun.outcome,
        seconds_between(RunbookRun.started_at, RunbookRun.finished_at, sqlite=sqlite),
    ).order_by(RunbookRun.id)


def runbooks(reads: Reads, query: ReportQuery, facts: Facts) -> list[dict[str, Any]]:
    """One entry per runbook used on the period's incidents, the most used first."""
    position = facts.position()
    runs = [run for run in reads.rows("runs", runs_statement(sqlite=reads.sqlite)) if run[2] in position]
    if not runs:
        return []
    resolve = facts.phases[RESOLVE]
    ranked = _Ranked(resolve)
    # An incident is of the kinds (service, severity) of each of its services ("" when it has none). A kind's
    # mask holds the ranks of its resolved incidents; a runbook's similar incidents are an OR of its kinds'
    # masks, their figures read off the ranks, not a set of ~100,000 incidents per runbook.
    of_service = services_of(reads, facts)
    kind_masks = {
        (name, level): ranked.mask(part)
        for name, positions in of_service.items()
        for level, part in facts.split_by_severity(positions)
    }

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
    # The services of the incidents runbooks were used on (a few thousand), for their kinds.
    mine_of = {r: [at for i in ids if (at := position.get(i)) is not None] for r, ids in used.items()}
    anywhere = set().union(*mine_of.values())
    services_at: dict[int, list[str]] = defaultdict(list)
    for name, at_service in of_service.items():
        for at in anywhere.intersection(at_service.tolist()):
            services_at[at].append(name)
    if anywhere.difference(services_at):  # a runbook was used on an incident without services: kind ""
        without = in_none(facts, of_service)
        kind_masks |= {("", level): ranked.mask(part) for level, part in facts.split_by_severity(without)}
        for at in anywhere.difference(services_at):
            services_at[at].append("")
    out = []
    for runbook_id, entry in stats.items():
        mine = mine_of[runbook_id]
        similar = ranked.none()
        for kind in {(name, facts.severities[at]) for at in mine for name in services_at[at]}:
            similar |= kind_masks[kind]
        # Each resolved incident that used the runbook is of its kinds, so counted above: take it out.
        similar &= ~ranked.mask(positions(mine))
        with_times = [t for t in resolve[positions(mine)].tolist() if isfinite(t)]
        entry["resolve_without"] = ranked.summary(similar)
        entry["incidents"] = len(used[runbook_id])
        entry["success_rate"] = figures.share(entry["succeeded"], entry["succeeded"] + entry["failed"])
        entry["average_run_seconds"] = figures.summary(durations[runbook_id])["mean"]
        entry["resolve_with"] = figures.summary(with_times)
        out.append(entry)
    return sorted(out, key=lambda e: (-e["uses"], e["runbook"]))
