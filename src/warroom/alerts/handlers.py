"""Engine job kinds of the alerts domain: auto-resolve after quiet, and re-evaluation when a silence ends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from warroom.alerts import maintenance, pipeline, resolving
from warroom.alerts.models import MaintenanceWindow
from warroom.engine.jobs import JobContext, JobKind, register
from warroom.engine.models import Job


def auto_resolve(ctx: JobContext, session: Session, job: Job) -> None:
    """`resolve_after` passed since every alert of the incident resolved: resolve it (or note it)."""
    waited = timedelta(seconds=float(job.payload.get("resolve_after", 300)))
    resolving.auto_resolve(session, ctx.runtime, int(job.payload["incident"]), now=ctx.now, waited=waited)


def reevaluate(ctx: JobContext, session: Session, job: Job) -> None:
    """A silence or maintenance window ended: alerts it held back that still fire open or join incidents now."""
    pipeline.reevaluate(session, ctx.runtime, now=ctx.now)
    window_id = job.payload.get("window")
    if window_id is not None:
        window = session.get(MaintenanceWindow, int(window_id))
        if window is not None and window.weekly and window.cancelled_at is None:
            # Next week's end: the job is the same row, scheduled again (its delete at commit is skipped below).
            maintenance.schedule_end(session, window, ctx.now + timedelta(seconds=1))


def install() -> None:
    """Register the job kinds (idempotent)."""
    register(JobKind(resolving.AUTO_RESOLVE, auto_resolve, max_attempts=10))
    register(JobKind(maintenance.REEVALUATE, reevaluate, max_attempts=10))
