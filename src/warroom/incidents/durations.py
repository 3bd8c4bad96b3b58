"""Durations of an incident, computed from its timeline and compared with its severity's targets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from warroom.clock import as_utc
from warroom.incidents.lifecycle import RESPONDING
from warroom.incidents.models import Status, TimelineEvent
from warroom.incidents.severities import Severity

State = Literal["met", "missed", "running", "pending"]


@dataclass(frozen=True)
class Milestones:
    """The moments of an incident's life, as its timeline tells them."""

    started: datetime
    detected: datetime
    acknowledged: datetime | None
    responded: datetime | None
    identified: datetime | None
    mitigated: datetime | None
    resolved: datetime | None


@dataclass(frozen=True)
class Measure:
    """One duration against its target. `pending` means its phase has not begun yet."""

    name: str
    seconds: float | None
    target_seconds: float
    state: State
    remaining_seconds: float | None


def _parse(value: object) -> datetime | None:
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value))
    return None


# The only kinds milestones() reads: a page may read just these instead of a long timeline.
MILESTONE_KINDS = (
    "declared",
    "times_changed",
    "acknowledged",
    "status_changed",
    "resolved",
    "auto_resolved",
    "reopened",
)


def milestones(events: Iterable[TimelineEvent]) -> Milestones:
    """Read the milestones off the timeline (oldest event first).

    After a reopen, mitigation and resolution are the ones that ended the last episode.
    """
    started: datetime | None = None
    detected: datetime | None = None
    acknowledged = responded = identified = mitigated = resolved = None
    for event in events:
        at = as_utc(event.at)
        if event.kind == "declared":
            started = _parse(event.data.get("started_at")) or at
            detected = _parse(event.data.get("detected_at")) or at
        elif event.kind == "times_changed":
            started = _parse(event.data.get("started_at")) or started
            detected = _parse(event.data.get("detected_at")) or detected
        elif event.kind == "acknowledged":
            acknowledged = acknowledged or at
        elif event.kind in ("status_changed", "resolved", "auto_resolved"):
            target = Status(event.data.get("to", Status.RESOLVED.value))
            if target in RESPONDING and responded is None:
                responded = at
            if target is Status.IDENTIFIED and identified is None:
                identified = at
            if target is Status.MONITORING:
                mitigated = mitigated or at
            if target is Status.RESOLVED:
                resolved = at
                mitigated = mitigated or at
        elif event.kind == "reopened":
            resolved = None
            mitigated = None
    if started is None or detected is None:
        raise ValueError("a timeline must begin with its 'declared' event")
    return Milestones(started, detected, acknowledged, responded, identified, mitigated, resolved)


def _measure(name: str, start: datetime | None, end: datetime | None, target: timedelta, now: datetime) -> Measure:
    target_s = target.total_seconds()
    if start is None:
        return Measure(name, None, target_s, "pending", None)
    if end is not None:
        took = (end - start).total_seconds()
        return Measure(name, took, target_s, "met" if took <= target_s else "missed", None)
    elapsed = (now - start).total_seconds()
    return Measure(name, None, target_s, "running" if elapsed <= target_s else "missed", target_s - elapsed)


def measure(stones: Milestones, severity: Severity, now: datetime) -> list[Measure]:
    """Each duration the severity has a target for, with its state at `now`."""
    return [
        _measure("detect", stones.started, stones.detected, severity.detection, now),
        _measure("acknowledge", stones.detected, stones.acknowledged, severity.acknowledge, now),
        _measure("respond", stones.detected, stones.responded, severity.response, now),
        _measure("mitigate", stones.detected, stones.mitigated, severity.mitigation, now),
        _measure("recover", stones.mitigated, stones.resolved, severity.recovery, now),
        _measure("resolve", stones.started, stones.resolved, severity.resolve, now),
    ]
