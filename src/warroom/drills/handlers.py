"""The engine's side of drills: a drill's deadline, and the scheduled drills of warroom.yaml."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.drills import schedule, service
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job


def deadline(ctx: JobContext, session: Session, job: Job) -> None:
    """A drill's deadline: time it out (or close a contact drill) if it is still running."""
    service.deadline_passed(session, ctx.runtime, int(job.key), ctx.now)


def resolve_alerts(ctx: JobContext, session: Session, job: Job) -> None:
    """An ended drill's alerts: resolve them, so that none is left firing."""
    service.resolve_alerts(session, ctx.runtime, int(job.key), ctx.now)


def scheduled(ctx: JobContext, session: Session, job: Job) -> None:
    """A scheduled drill is due: start it, and schedule its next time."""
    schedule.run_due(session, ctx.runtime, str(job.key), ctx.now)


DEADLINE_KIND = JobKind(service.DEADLINE_JOB, deadline, max_attempts=3)
RESOLVE_ALERTS_KIND = JobKind(service.RESOLVE_ALERTS_JOB, resolve_alerts, max_attempts=3)
SCHEDULED_KIND = JobKind(schedule.SCHEDULED_JOB, scheduled, max_attempts=3)
