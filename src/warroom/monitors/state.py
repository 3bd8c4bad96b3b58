"""Up/down state of a monitor from its results: down after N failures or a failing duration, damped recovery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

UNKNOWN, UP, DOWN = "unknown", "up", "down"
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Policy:
    """When a monitor counts as down and when as recovered."""

    down_after: int = 1
    down_for: timedelta | None = None
    recover_after: int = 1


@dataclass
class MonitorState:
    """What an engine remembers between checks (and stores, so that another engine can carry on)."""

    state: str = UNKNOWN
    since: datetime | None = None
    failures: int = 0
    successes: int = 0
    failing_since: datetime | None = None
    alert_open: bool = False

    def copy(self) -> MonitorState:
        """An independent copy (the writer thread gets copies, never the live object)."""
        return MonitorState(self.state, self.since, self.failures, self.successes, self.failing_since, self.alert_open)

    @property
    def wants_alert(self) -> bool:
        """True when an alert should be firing for this monitor."""
        return self.state == DOWN


def observe(state: MonitorState, ok: bool, now: datetime, policy: Policy) -> str | None:
    """Count one result into `state`; returns the transition ("down", "up") or None.

    A failure while up counts towards `down_after` (and `down_for` when set: both must hold); a success while
    down counts towards `recover_after`, and any failure in between starts the recovery count again, so a
    flapping target stays down instead of raising and resolving an alert on every check.
    """
    if ok:
        state.failures = 0
        state.failing_since = None
        # Capped: a healthy monitor's state stops changing, so the engine need not write it on every check.
        state.successes = min(state.successes + 1, policy.recover_after)
        if state.state == DOWN and state.successes < policy.recover_after:
            return None
        if state.state != UP:
            state.state, state.since = UP, now
            return UP
        return None
    state.successes = 0
    state.failures = min(state.failures + 1, MAX_COUNT)
    if state.failing_since is None:
        state.failing_since = now
    if state.state == DOWN:
        return None
    enough = state.failures >= policy.down_after
    if policy.down_for is not None:
        enough = enough and now - state.failing_since >= policy.down_for
    if enough:
        state.state, state.since = DOWN, now
        return DOWN
    return None
