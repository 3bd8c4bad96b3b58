"""Engine job kinds of the status page: maintenance moving on by itself, updates posted to channels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind
from warroom.engine.models import Job
from warroom.incidents.models import Incident
from warroom.statuspage import channels, maintenance
from warroom.statuspage.models import StatusMaintenance
from warroom.statuspage.publishing import CHANNELS


def _transition(ctx: JobContext, session: Session, job: Job) -> None:
    public_id, _, _edge = job.key.partition(":")
    found = session.scalar(select(StatusMaintenance).where(StatusMaintenance.public_id == public_id).with_for_update())
    if found is None:
        return
    target = str(job.payload.get("to", ""))
    if target not in ("in_progress", "completed"):
        return
    maintenance.advance(session, found, target, ctx.runtime.config.status_page, ctx.now)


def _channels(ctx: JobContext, session: Session, job: Job) -> None:
    incident = session.get(Incident, int(job.payload.get("incident", 0)))
    if incident is None:
        return
    channels.post(
        session, incident, str(job.payload.get("update", job.key)), str(job.payload.get("message", "")), ctx.now
    )


def register() -> None:
    """Make the status page's jobs runnable by this process's engines."""
    jobs.register(JobKind(maintenance.TRANSITION, _transition, max_attempts=20))
    jobs.register(JobKind(CHANNELS, _channels, max_attempts=10))
