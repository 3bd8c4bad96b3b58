"""Runbook effectiveness as the teams' table: uses, success rate, average time per run, and the time to resolve
of incidents that used the runbook against similar incidents (same service and severity) that did not."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident
from warroom.reports import figures
from warroom.reports.groups import services_of
from warroom.reports.period import ReportQuery
from warroom.reports.phases import RESOLVE, Facts, gather
from warroom.reports.sql import fetch_all, in_period, is_sqlite, seconds_between
from warroom.runbooks.models import RunbookRun

SUCCESS, FAILED = "success", "failed"  # runbooks.plan.Outcome values


class _Ranked:
    """The period's resolve times sorted once, so that the figures of a subset of incidents need no sort: the
    subset is also a bitmask over the ranks (an OR of the masks of its classes), and its k-th smallest value is
    where the mask's k-th set bit is."""

    def __init__(self, resolve: Sequence[float | None]) -> None:
        order = [p for p, t in enumerate(resolve) if t is not None]
        order.sort(key=resolve.__getitem__)  # type: ignore[arg-type]  # floats only: the None were left out
        self.values: list[float] = list(gather(resolve, order))
        # position → rank among the resolved; an unresolved incident's is one past the last (a spare digit)
        self.rank = [len(order)] * len(resolve)
        for r, p in enumerate(order):
            self.rank[p] = r

    def mask(self, positions: Iterable[int]) -> int:
        """The bitmask of the resolved incidents at `positions`: bit r set for the one of rank r.

        Built as binary digits, one per rank plus a spare one for the unresolved, set by `map` (a loop in C, not
        bytecode: 166,000 positions per report), then read as one number, which is linear for base 2."""
        count = len(self.values)
        digits = bytearray(b"0") * (count + 1)
        deque(map(digits.__setitem__, map(self.rank.__getitem__, positions), repeat(ord("1"))), maxlen=0)
        return int(digits[count - 1 :: -1], 2) if count else 0

    def _kth(self, mask: int, k: int) -> float:
        """The k-th smallest value (1-based) of the subset."""
        lo, hi = 0, len(self.values) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if (mask & ((1 << (mid + 1)) - 1)).bit_count() >= k:
                hi = mid
            else:
                lo = mid + 1
        return self.values[lo]

    def summary(self, mask: int, total: float) -> dict[str, Any]:
        """figures.summary of the resolve times of the subset `mask`, whose resolve times sum to `total`."""
        n = mask.bit_count()
        if not n:
            return figures.summary([])
        middle = self._kth(mask, n // 2 + 1) if n % 2 else (self._kth(mask, n // 2) + self._kth(mask, n // 2 + 1)) / 2
        return {
            "count": n,
            "median": round(middle, 1),
            "p90": round(self._kth(mask, math.ceil(0.9 * n)), 1),
            "mean": round(total / n, 1),
        }


def runbooks(session: Session, query: ReportQuery, facts: Facts) -> list[dict[str, Any]]:
    """One entry per runbook used on the period's incidents, the most used first."""
    sqlite = is_sqlite(session)
    runs = fetch_all(
        session,
        select(
            RunbookRun.runbook_id,
            RunbookRun.title,
            RunbookRun.incident_id,
            RunbookRun.outcome,
            seconds_between(RunbookRun.started_at, RunbookRun.finished_at, sqlite=sqlite),
        )
        .join(Incident, Incident.id == RunbookRun.incident_id)
        .where(in_period(query))
        .order_by(RunbookRun.id),
    )
    if not runs:
        return []
    resolve = facts.phases[RESOLVE]
    severity = facts.severities
    # Each incident's services (none: ""), by position: an incident is of the kinds (service, severity) of each.
    names: list[tuple[str, ...]] = [()] * len(facts)
    for service, positions in sorted(services_of(session, facts).items()):
        for p in positions:
            names[p] += (service,)
    for p, of_p in enumerate(names):
        if not of_p:
            names[p] = ("",)
    # The period's resolved incidents by their severity and services, the classes. A runbook's similar incidents
    # are those of the classes that share a kind with it: their ranks are an OR of the kinds' masks (a few dozen
    # kinds), their sum one of the classes' sums, each computed once per report, not a set of ~100,000 incidents
    # per runbook.
    classes: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for p, took in enumerate(resolve):
        if took is not None:
            classes[(severity[p], names[p])].append(p)
    ranked = _Ranked(resolve)
    totals: list[float] = []
    classes_of_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c, ((level, services), positions) in enumerate(classes.items()):
        totals.append(math.fsum(gather(resolve, positions)))
        for name in set(services):
            classes_of_kind[(name, level)].append(c)
    # A kind's incidents: its service's, cut at the severity's run (the mask leaves the unresolved out).
    of_service = dict(services_of(session, facts))
    of_service[""] = [p for p, of_p in enumerate(names) if of_p == ("",)]
    kind_masks = {
        (name, level): ranked.mask(part)
        for name, positions in of_service.items()
        for level, part in facts.split_by_severity(positions)
    }

    position = facts.position()
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
        mine = [at for i in used[runbook_id] if (at := position.get(i)) is not None]
        kinds = {(service, severity[at]) for at in mine for service in names[at]}
        similar_mask, similar = 0, set()
        for kind in kinds & kind_masks.keys():
            similar_mask |= kind_masks[kind]
            similar.update(classes_of_kind[kind])
        with_times = [t for at in mine if (t := resolve[at]) is not None]
        # Each resolved incident that used the runbook is of its kinds, so counted above: take it out.
        similar_mask &= ~ranked.mask(mine)
        similar_total = [totals[c] for c in similar] + [-t for t in with_times]
        entry["resolve_without"] = ranked.summary(similar_mask, math.fsum(similar_total))
        entry["incidents"] = len(used[runbook_id])
        entry["success_rate"] = figures.share(entry["succeeded"], entry["succeeded"] + entry["failed"])
        entry["average_run_seconds"] = figures.summary(durations[runbook_id])["mean"]
        entry["resolve_with"] = figures.summary(with_times)
        out.append(entry)
    return sorted(out, key=lambda e: (-e["uses"], e["runbook"]))
