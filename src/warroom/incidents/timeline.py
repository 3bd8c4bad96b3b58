"""The append-only timeline, and the hooks other domains use to react to it in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.db import ColumnArrays
from warroom.incidents import livewrites
from warroom.incidents.models import Incident, TimelineEvent

# A hook runs inside the transaction that appended the event: it may add rows (jobs, alerts) but must not
# commit. Hooks are registered on the runtime (session.info["hooks"]) so tests and processes stay apart.
TimelineHook = Callable[[Session, Incident, TimelineEvent], None]
# session.info["timeline_hook_kinds"]: hook → the kinds it reacts to. A hook absent from it reacts to every kind.
HOOK_KINDS = "timeline_hook_kinds"


def add_hook(
    info: dict[str, Any],
    hooks: list[TimelineHook],
    hook: TimelineHook,
    kinds: Iterable[str] | None,
    *,
    first: bool = False,
) -> None:
    """Register `hook` (once) for the event `kinds` it reacts to (None: every kind); `first` runs it before the
    hooks already registered (a drill is flagged before paging composes its messages)."""
    if hook not in hooks:
        if first:
            hooks.insert(0, hook)
        else:
            hooks.append(hook)
    declared: dict[TimelineHook, frozenset[str]] = info.setdefault(HOOK_KINDS, {})
    if kinds is None:
        declared.pop(hook, None)
    else:
        declared[hook] = frozenset(kinds)


def hooks_for(session: Session, kind: str) -> list[TimelineHook]:
    """The registered hooks that react to events of `kind`."""
    hooks: list[TimelineHook] = session.info.get("timeline_hooks", [])
    declared: dict[TimelineHook, frozenset[str]] = session.info.get(HOOK_KINDS, {})
    return [hook for hook in hooks if hook not in declared or kind in declared[hook]]


def hooked(session: Session, kind: str) -> bool:
    """Whether any registered hook reacts to events of `kind` (if none does, QuietEvents may queue them)."""
    return bool(hooks_for(session, kind))


def append(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    actor: Actor,
    at: datetime,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to the incident's timeline and run the timeline hooks."""
    event = TimelineEvent(
        incident_id=incident.id,
        at=at,
        kind=kind,
        actor=actor.name,
        actor_kind=actor.kind,
        message=message,
        data=data or {},
    )
    session.add(event)
    for hook in hooks_for(session, kind):
        hook(session, incident, event)
    return event


class QuietEvents:
    """Events of kinds no hook reacts to, written together with one executemany instead of one ORM object
    each: the alert intake appends thousands per second. Flush before anything else appends to the timeline
    (ORM events are flushed first), so that event ids keep the order in which things happened."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: list[dict[str, Any]] = []

    def append(
        self,
        incident_id: int,
        *,
        kind: str,
        actor: Actor,
        at: datetime,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """Queue an event, or append it at once (through the hooks) when a hook reacts to its kind."""
        if hooked(self.session, kind):
            self.flush()
            incident = self.session.get(Incident, incident_id)
            if incident is None:
                raise LookupError(f"no incident #{incident_id}")
            append(self.session, incident, kind=kind, actor=actor, at=at, message=message, data=data)
            return
        self.pending.append(
            {
                "incident_id": incident_id,
                "at": at,
                "kind": kind,
                "actor": actor.name,
                "actor_kind": actor.kind,
                "message": message,
                "data": data or {},
            }
        )

    def flush(self) -> None:
        """Write the queued events, after any ORM event appended before them."""
        if not self.pending:
            return
        self.session.flush()
        if self.session.get_bind().dialect.name == "postgresql":
            # One statement over column arrays, ids in the events' order (see db.ColumnArrays); the ids go to
            # the live feed's NOTIFY at commit.
            ids = self.session.scalars(_QUIET_INSERT, _QUIET_COLUMNS.params(self.pending)).all()
            livewrites.note_written(self.session, ids)
        else:
            self.session.execute(insert(cast(Table, TimelineEvent.__table__)), self.pending)
            livewrites.note_written(self.session, ())  # SQLite's feed reads new rows by id: a wake-up is enough
        self.pending = []


_QUIET_COLUMNS = ColumnArrays(
    cast(Table, TimelineEvent.__table__), ("incident_id", "at", "kind", "actor", "actor_kind", "message", "data")
)
_QUIET_INSERT = _QUIET_COLUMNS.insert().returning(cast(Table, TimelineEvent.__table__).c.id)


def events(session: Session, incident_id: int) -> list[TimelineEvent]:
    """The incident's timeline, oldest first."""
    return list(
        session.scalars(
            select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.id)
        )
    )


def latest_id(session: Session) -> int:
    """The id of the newest timeline event of any incident (0: none yet); a live page resumes after it."""
    return int(session.scalar(select(func.max(TimelineEvent.id))) or 0)


def newest(session: Session, incident_id: int, limit: int) -> tuple[list[TimelineEvent], int]:
    """The incident's newest `limit` events, newest first, and how many it has in all."""
    rows = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.id.desc())
        .limit(limit)
    )
    found = list(rows)
    if len(found) < limit:
        return found, len(found)
    total = session.scalar(select(func.count()).where(TimelineEvent.incident_id == incident_id))
    return found, int(total or 0)


def of_kinds(session: Session, incident_id: int, kinds: Iterable[str]) -> list[TimelineEvent]:
    """The incident's events of these kinds, oldest first (what its durations are read from)."""
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind.in_(list(kinds)))
    return list(session.scalars(query.order_by(TimelineEvent.id)))
