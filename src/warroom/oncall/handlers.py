"""Engine job kinds of the on-call domain: the next escalation step, the acknowledge target, update reminders."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM
from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.oncall import paging, reminders


def _step(ctx: JobContext, session: Session, job: Job) -> None:
    paging.run_step(session, ctx.runtime, int(job.key), dict(job.payload), ctx.now)


def _ack_due(ctx: JobContext, session: Session, job: Job) -> None:
    paging.ack_target_missed(session, ctx.runtime, int(job.key), dict(job.payload), ctx.now, job.due_at)


def _reminder(ctx: JobContext, session: Session, job: Job) -> None:
    incident = incidents.get(session, int(job.key))
    if incident is None:
        return
    incident = incidents.get_for_update(session, incident.id)
    following = reminders.remind(session, ctx.runtime, incident, ctx.now)
    if following is not None:
        jobs.schedule(session, reminders.REMINDER, key=job.key, due=following, now=ctx.now)


def _dead(ctx: JobContext, session: Session, job: Job, error: str) -> None:
    """A step that keeps failing must not stop paging in silence: say so on the incident's timeline."""
    incident = session.get(Incident, int(job.key))
    if incident is None:
        return
    timeline.append(
        session,
        incident,
        kind="paging_error",
        actor=SYSTEM,
        at=ctx.now,
        message=f"an escalation step failed {job.attempts} times and was given up: {error[:300]}; "
        f"page by hand with `warroom incident escalate {incident.id}`",
        data={"job": job.kind, "error": error[:1000]},
    )


def register() -> None:
    """Make the on-call jobs runnable by this process's engines."""
    jobs.register(JobKind(paging.STEP, _step, max_attempts=10, on_dead=_dead))
    jobs.register(JobKind(paging.ACK_DUE, _ack_due, max_attempts=10, on_dead=_dead))
    jobs.register(JobKind(reminders.REMINDER, _reminder, max_attempts=10))
