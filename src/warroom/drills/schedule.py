"""Scheduled drills: each `drills:` entry of warroom.yaml is a job due at its next occurrence, run by the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.drills import service
from warroom.drills.config import ScheduledDrill
from warroom.drills.models import Drill
from warroom.engine import jobs

SCHEDULED_JOB = "drills.scheduled"
log = structlog.get_logger("warroom.drills")


def configured(runtime: Any) -> list[ScheduledDrill]:
    """The `drills:` section of warroom.yaml."""
    return list(getattr(runtime.config, "drills", None) or [])


def plan(session: Session, runtime: Any, now: datetime) -> int:
    """Schedule each configured drill's next occurrence (and drop jobs of drills no longer configured)."""
    wanted = {d.name: d for d in configured(runtime)}
    for job in jobs.pending(session, SCHEDULED_JOB):
        if job.key not in wanted:
            jobs.cancel(session, SCHEDULED_JOB, key=job.key)
    for name, drill in wanted.items():
        due = drill.next_after(now)
        if due is not None:
            jobs.schedule(session, SCHEDULED_JOB, key=name, due=due, payload={"due": due.isoformat()}, now=now)
    return len(wanted)


def sync(runtime: Any) -> None:
    """Plan the scheduled drills at start (a database not migrated yet is left alone: the next start plans)."""
    if not configured(runtime):
        return
    try:
        with runtime.db.transaction() as session:
            plan(session, runtime, runtime.clock.now())
    except (OperationalError, ProgrammingError) as exc:
        log.warning("scheduled drills not planned: database not ready", error=str(exc.orig)[:200])


def run_due(session: Session, runtime: Any, name: str, now: datetime) -> Drill | None:
    """Start the scheduled drill `name` (once per occurrence) and schedule its next occurrence."""
    entry = next((d for d in configured(runtime) if d.name == name), None)
    if entry is None:
        return None
    last = session.scalar(select(Drill).where(Drill.name == name).order_by(Drill.id.desc()).limit(1))
    started: Drill | None = None
    occurrence = entry.rule().before(now, inc=True)
    if last is None or occurrence is None or last.started_at < occurrence:
        actor = Actor(name=f"schedule:{name}", role=Role.ADMIN, kind=SYSTEM.kind)
        started = service.start(session, runtime, entry.scenario_in(), actor=actor, now=now)
    due = entry.next_after(now)
    if due is not None:
        jobs.schedule(session, SCHEDULED_JOB, key=name, due=due, payload={"due": due.isoformat()}, now=now)
    return started
