"""Runbook effectiveness as the teams' table: uses, success rate, average time per run, and the time to resolve
of incidents that used the runbook against similar incidents (same service and severity) that did not."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import compress
from math import isfinite
from typing import Any

from sqlalchemy import select

from warroom.incidents.models import Incident
from warroom.reports import figures
from warroom.reports.groups import services_of
from warroom.reports.period import ReportQuery
from warroom.reports.phases import RESOLVE, Facts, gather
from warroom.reports.reads import Reads
from warroom.reports.sql import in_period, seconds_between
from warroom.runbooks.models import RunbookRun

SUCCESS, FAILED = "success", "failed"  # runbooks.plan.Outcome values


_ZERO_ONE = bytes.maketrans(b"01", b"\x00\x01")


def _bits(indexes: Iterable[int], size: int) -> int:
    """The number with bit i set for each i of `indexes` below `size` (larger ones are ignored)."""
    bits = bytearray(size // 8 + 1)
    for i in indexes:
        if i < size:
            bits[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(bits, "little")


class _Ranked:
    """The period's resolve times sorted once, so that the figures of a subset of incidents need no sort: the
    subset is also a bitmask over the ranks (an OR of the masks of its kinds), its k-th smallest value is where
    the mask's k-th set bit is, and its sum is read with the mask as selectors."""

    def __init__(self, resolve: Sequence[float]) -> None:
        order = [p for p, t in enumerate(resolve) if isfinite(t)]
        order.sort(key=resolve.__getitem__)
        self.values: list[float] = list(gather(resolve, order))
        # position → rank among the resolved; an unresolved incident's is one past the last (a spare digit)
        self.rank = [len(order)] * len(resolve)
        for r, p in enumerate(order):
            self.rank[p] = r

    def mask(self, positions: Iterable[int]) -> int:
        """The bitmask of the resolved incidents at `positions`: bit r set for the one of rank r."""
        return _bits(map(self.rank.__getitem__, positions), len(self.values))

    def total(self, mask: int) -> float:
        """The sum of the resolve times of the subset `mask`: its selectors, one byte per rank, picked in C."""
        selectors = format(mask, "b")[::-1].encode().translate(_ZERO_ONE)  # bit r → byte r, 0 or 1
        # Plain sum, in rank order: exactly what figures.summary computes from the same values sorted.
        return sum(compress(self.values, selectors))

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


def runs_statement(query: ReportQuery, *, sqlite: bool) -> Any:
    """The runbook runs of the period's incidents, oldest first."""
    return (
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
    )


def runbooks(reads: Reads, query: ReportQuery, facts: Facts) -> list[dict[str, Any]]:
    """One entry per runbook used on the period's incidents, the most used first."""
    runs = reads.rows("runs", runs_statement(query, sqlite=reads.sqlite))
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
    # The services of the incidents runbooks were used on (a few thousand), for their kinds.
    mine_of = {r: [at for i in ids if (at := position.get(i)) is not None] for r, ids in used.items()}
    anywhere = set().union(*mine_of.values())
    services_at: dict[int, list[str]] = defaultdict(list)
    for name, positions in of_service.items():
        for at in anywhere.intersection(positions):
            services_at[at].append(name)
    if anywhere.difference(services_at):  # a runbook was used on an incident without services: kind ""
        without = sorted(set(range(len(facts))).difference(*of_service.values()))
        kind_masks |= {("", level): ranked.mask(part) for level, part in facts.split_by_severity(without)}
        for at in anywhere.difference(services_at):
            services_at[at].append("")
    out = []
    for runbook_id, entry in stats.items():
        mine = mine_of[runbook_id]
        similar = 0
        for kind in {(name, facts.severities[at]) for at in mine for name in services_at[at]}:
            similar |= kind_masks[kind]
        # Each resolved incident that used the runbook is of its kinds, so counted above: take it out.
        similar &= ~ranked.mask(mine)
        with_times = [t for at in mine if isfinite(t := resolve[at])]
        entry["resolve_without"] = ranked.summary(similar, ranked.total(similar))
        entry["incidents"] = len(used[runbook_id])
        entry["success_rate"] = figures.share(entry["succeeded"], entry["succeeded"] + entry["failed"])
        entry["average_run_seconds"] = figures.summary(durations[runbook_id])["mean"]
        entry["resolve_with"] = figures.summary(with_times)
        out.append(entry)
    return sorted(out, key=lambda e: (-e["uses"], e["runbook"]))
