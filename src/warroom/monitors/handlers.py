"""Engine job kinds of the monitors domain: pruning old results and rollups."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.monitors import service
from warroom.monitors.schemas import MonitoringConfig

log = structlog.get_logger("warroom.monitors")


def prune(ctx: JobContext, session: Session, job: Job) -> None:
    """Delete results past the raw retention and rollups past theirs, then schedule the next prune."""
    from warroom.monitors.scheduler import PRUNE_EVERY, PRUNE_KIND

    options = getattr(ctx.runtime.config, "monitoring", None) or MonitoringConfig()
    removed = service.prune(session, now=ctx.now, options=options)
    if any(removed.values()):
        log.info("monitor history pruned", **removed)
    due = ctx.now + PRUNE_EVERY
    # A new key: this job's own row is deleted when the handler's transaction commits.
    jobs.schedule(session, PRUNE_KIND, key=f"prune:{due.isoformat()}", due=due, now=ctx.now)


def register() -> None:
    """Register the job kinds (idempotent)."""
    jobs.register(JobKind("monitors.prune", prune, max_attempts=10))
