"""`heartbeat` (dead-man's switch): something pings /api/v1/heartbeats/{token}; no ping in period + grace is down."""

from __future__ import annotations

from datetime import datetime, timedelta

from warroom.monitors.checks import Check, CheckContext, Outcome, down, span, up
from warroom.timeparse import format_duration


class HeartbeatCheck(Check):
    """Judges the last ping time, which the scheduler (or the API, for `run`) keeps up to date."""

    last_ping_at: datetime | None = None
    # Before the first ping, the wait counts from when the monitor was created.
    since: datetime | None = None

    async def run(self, ctx: CheckContext) -> Outcome:
        """Down when the last ping (or the creation, before any) is older than period + grace."""
        now = ctx.now()
        period = timedelta(seconds=self.cfg.period or 0)
        grace = timedelta(seconds=self.cfg.grace)
        expected = f"expected every {span(period.total_seconds())}" + (
            f" + {span(grace.total_seconds())} grace" if grace else ""
        )
        if self.last_ping_at is None:
            start = self.since or now
            if now - start > period + grace:
                return down(f"no ping since the monitor was created {format_duration(now - start)} ago ({expected})")
            return up(f"waiting for the first ping ({expected})")
        age = now - self.last_ping_at
        if age > period + grace:
            return down(
                f"last ping {format_duration(age)} ago ({expected})", last_ping_at=self.last_ping_at.isoformat()
            )
        return up(f"last ping {format_duration(age)} ago", last_ping_at=self.last_ping_at.isoformat())
