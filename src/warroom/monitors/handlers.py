"""Engine job kinds of the monitors domain: pruning old results and rollups, and keeping a prune job pending."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.monitors import service
from warroom.monitors.schemas import MonitoringConfig

log = structlog.get_logger("warroom.monitors")

PRUNE_KIND = "monitors.prune"
PRUNE_EVERY = timedelta(minutes=10)


def prune(ctx: JobContext, session: Session, job: Job) -> None:
    """Delete results past the raw retention and rollups past theirs, then schedule the next prune."""
    options = getattr(ctx.runtime.config, "monitoring", None) or MonitoringConfig()
    removed = service.prune(session, now=ctx.now, options=options)
    if any(removed.values()):
        log.info("monitor history pruned", **removed)
    due = ctx.now + PRUNE_EVERY
    # A new key: this job's own row is deleted when the handler's transaction commits.
    jobs.schedule(session, PRUNE_KIND, key=f"prune:{due.isoformat()}", due=due, now=ctx.now)


def schedule_prune(session: Any, now: datetime) -> None:
    """Make sure a prune job is pending (keyed by its slot, so that engines starting together schedule one)."""
    if jobs.pending(session, PRUNE_KIND):
        return
    due = _next_slot(now)
    jobs.schedule(session, PRUNE_KIND, key=f"prune:{due.isoformat()}", due=due, now=now)


def _next_slot(now: datetime) -> datetime:
    step = int(PRUNE_EVERY.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp((epoch // step + 1) * step, tz=now.tzinfo)


def register() -> None:
    """Register the job kinds (idempotent)."""
    jobs.register(JobKind("monitors.prune", prune, max_attempts=10))
