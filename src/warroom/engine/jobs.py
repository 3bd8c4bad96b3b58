"""Scheduling and cancelling jobs inside the caller's transaction; they run only if it commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.engine.models import Job


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its session and job: the runtime and the time it runs at."""

    runtime: Any  # warroom.runtime.Runtime (Any avoids an import cycle)
    now: datetime
    engine_id: str
    # For non-transactional jobs: the handler may call `complete(session, job)` inside its last transaction
    # so that the job's removal commits with its outcome (one transaction fewer, no window between them).
    completed: list[int] = field(default_factory=list)

    def complete(self, session: Session, job: Job) -> None:
        """Remove the job in `session` (its commit ends the job); for non-transactional handlers."""
        session.execute(
            delete(Job)
            .where(Job.id == job.id, Job.owner == self.engine_id, Job.state == "running")
            .execution_options(synchronize_session=False)
        )
        self.completed.append(job.id)


Handler = Callable[[JobContext, Session, Job], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its handler, how often to retry, and what to do when retries run out."""

    name: str
    handler: Handler
    max_attempts: int = 5
    base_backoff: timedelta = timedelta(seconds=10)
    max_backoff: timedelta = timedelta(minutes=10)
    on_dead: Callable[[JobContext, Session, Job, str], None] | None = None
    # False for handlers that do slow I/O (delivering a message): the engine runs them in its worker pool
    # with a plain session and no transaction held open; the handler writes through its own short
    # transactions and must be safe to run again (the job is deleted only after it returns).
    transactional: bool = True

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff after `attempts` failures, capped."""
        step: timedelta = self.base_backoff * (2 ** max(attempts - 1, 0))
        return min(step, self.max_backoff)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Make a kind of job runnable by every engine (called at import of the domain's handlers)."""
    KINDS[kind.name] = kind
    return kind


class Retry(Exception):
    """Raised by a handler to run again later without counting it as a failure."""

    def __init__(self, after: timedelta, reason: str = "") -> None:
        super().__init__(reason or f"retry in {after}")
        self.after = after


def schedule(
    session: Session,
    kind: str,
    *,
    due: datetime,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
    if_absent: bool = False,
) -> None:
    """Schedule (or reschedule) the job (kind, key) at `due`; it runs after the transaction commits.

    With `if_absent`, a job already waiting under (kind, key) is left as it is (e.g. a digest that must
    not be pushed later by each page folded into it).
    """
    values = {
        "kind": kind,
        "key": key or uuid.uuid4().hex,
        "due_at": due,
        "payload": payload or {},
        "state": "pending",
        "attempts": 0,
        "owner": None,
        "locked_until": None,
        "last_error": None,
        "created_at": now or due,
    }
    session.execute(_upsert(session.get_bind().dialect.name, if_absent), values)
    _wake_after_commit(session, due)


_UPSERTS: dict[tuple[str, bool], Any] = {}
_RESET_ON_RESCHEDULE = ("due_at", "payload", "state", "attempts", "owner", "locked_until", "last_error")


def _upsert(dialect: str, if_absent: bool) -> Any:
    """The INSERT ... ON CONFLICT of jobs, built once per dialect (building it costs more than running it)."""
    statement = _UPSERTS.get((dialect, if_absent))
    if statement is None:
        insert = postgresql.insert(Job) if dialect == "postgresql" else sqlite.insert(Job)
        if if_absent:
            statement = insert.on_conflict_do_nothing(index_elements=["kind", "key"])
        else:
            excluded = insert.excluded
            statement = insert.on_conflict_do_update(
                index_elements=["kind", "key"], set_={k: excluded[k] for k in _RESET_ON_RESCHEDULE}
            )
        _UPSERTS[(dialect, if_absent)] = statement
    return statement


def cancel(session: Session, kind: str, key: str | None = None, *, key_prefix: str | None = None) -> int:
    """Cancel pending jobs of `kind` with `key` (or every key starting with `key_prefix`); returns how many."""
    query = delete(Job).where(Job.kind == kind, Job.state != "running")
    if key is not None:
        query = query.where(Job.key == key)
    elif key_prefix is not None:
        query = query.where(Job.key.startswith(key_prefix, autoescape=True))
    else:
        raise ValueError("cancel needs a key or a key_prefix")
    # synchronize_session=False: the ORM would otherwise look for matching objects in the session first.
    result = session.execute(query.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def get(session: Session, kind: str, key: str) -> Job | None:
    """The job waiting under (kind, key), if any."""
    return session.scalar(select(Job).where(Job.kind == kind, Job.key == key))


def pending(session: Session, kind: str | None = None) -> list[Job]:
    """Jobs not yet done, earliest first (for tests and `warroom engine jobs`)."""
    query = select(Job).where(Job.state != "dead").order_by(Job.due_at, Job.id)
    if kind:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def _wake_after_commit(session: Session, due: datetime) -> None:
    # Engines sleep until the next due job; a job due now must wake them at commit, not at the next poll.
    earliest = session.info.get("_wake_due")
    session.info["_wake_due"] = due if earliest is None or due < earliest else earliest
    if session.get_bind().dialect.name == "postgresql" and not session.info.get("_notified"):
        # Delivered to every LISTENing engine when (and only if) this transaction commits; once is enough.
        session.execute(text("NOTIFY warroom_jobs"))
        session.info["_notified"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop("_notified", None)
    due = session.info.pop("_wake_due", None)
    if due is None:
        return
    runtime = session.info.get("runtime")
    wake = getattr(runtime, "wake_engine", None) if runtime is not None else None
    if wake is not None:
        wake(due)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("_wake_due", None)
    session.info.pop("_notified", None)
