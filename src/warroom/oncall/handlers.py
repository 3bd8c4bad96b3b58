"""Engine job kinds of the on-call domain: the next escalation step, and the acknowledge target."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.oncall import paging


def _step(ctx: JobContext, session: Session, job: Job) -> None:
    paging.run_step(session, ctx.runtime, int(job.key), dict(job.payload), ctx.now)


def _ack_due(ctx: JobContext, session: Session, job: Job) -> None:
    paging.ack_target_missed(session, ctx.runtime, int(job.key), dict(job.payload), ctx.now, job.due_at)


def register() -> None:
    """Make the on-call jobs runnable by this process's engines."""
    jobs.register(JobKind(paging.STEP, _step, max_attempts=10))
    jobs.register(JobKind(paging.ACK_DUE, _ack_due, max_attempts=10))
