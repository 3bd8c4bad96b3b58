"""Silences (like amtool's): matching alerts are stored and visible but open no incident and page no one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.alerts.matchers import Matcher, matches_all, parse_matchers
from warroom.alerts.models import Silence
from warroom.engine import jobs
from warroom.errors import InvalidInput, NotFound

REEVALUATE = "alerts.reevaluate"
MAX_SILENCE = timedelta(days=365)


@dataclass(frozen=True)
class ActiveSilence:
    """A silence in force, with its matchers compiled."""

    id: int
    matchers: tuple[Matcher, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher matches `labels`."""
        return matches_all(self.matchers, labels)


def create(
    session: Session,
    *,
    matchers: list[str],
    created_by: str,
    now: datetime,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    comment: str = "",
) -> Silence:
    """Add a silence; an engine job at its end re-evaluates the alerts it held back."""
    compiled = parse_matchers(matchers)
    if not compiled:
        raise InvalidInput("A silence needs at least one matcher, e.g. alertname=DiskFull.", field="matchers")
    if all(m.op in ("=~", "!~", "!=") and m.matches({}) for m in compiled):
        raise InvalidInput(
            "These matchers match every alert (even one without labels): add an equality matcher.", field="matchers"
        )
    start = starts_at or now
    if ends_at is None:
        if duration is None:
            raise InvalidInput("Give the silence a duration (e.g. 2h) or an end time.", field="duration")
        ends_at = start + duration
    if ends_at <= start:
        raise InvalidInput("The silence must end after it starts.", field="ends_at")
    if ends_at - start > MAX_SILENCE:
        raise InvalidInput("A silence lasts at most 365 days; use a maintenance window or a route.", field="ends_at")
    if ends_at <= now:
        raise InvalidInput("The silence would already be over.", field="ends_at")
    silence = Silence(
        matchers=[str(m) for m in compiled],
        starts_at=start,
        ends_at=ends_at,
        comment=comment.strip(),
        created_by=created_by,
        created_at=now,
    )
    session.add(silence)
    session.flush()
    jobs.schedule(session, REEVALUATE, key=f"silence:{silence.id}", due=ends_at, payload={"why": "silence"}, now=now)
    return silence


def get(session: Session, silence_id: int) -> Silence:
    """The silence with this id, or NotFound."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFound(f"No silence {silence_id}: see `warroom silence list`.", field="id")
    return silence


def expire(session: Session, silence: Silence, *, now: datetime) -> Silence:
    """End the silence now; the alerts it held back are re-evaluated at once (by the engine)."""
    if silence.ends_at > now:
        silence.ends_at = now
        silence.expired_at = now
        if silence.starts_at > now:
            silence.starts_at = now
        jobs.schedule(session, REEVALUATE, key=f"silence:{silence.id}", due=now, payload={"why": "silence"}, now=now)
    return silence


def list_silences(session: Session, *, now: datetime, include_expired: bool = False) -> list[Silence]:
    """Silences, those ending soonest first; expired ones only when asked."""
    query = select(Silence).order_by(Silence.ends_at, Silence.id)
    if not include_expired:
        query = query.where(Silence.ends_at > now)
    return list(session.scalars(query))


def active(session: Session, now: datetime) -> list[ActiveSilence]:
    """Silences in force at `now`, compiled."""
    rows = session.execute(
        select(Silence.id, Silence.matchers).where(Silence.starts_at <= now, Silence.ends_at > now)
    )  # columns, not ORM objects: the intake asks once per commit
    return [ActiveSilence(number, tuple(parse_matchers(matchers))) for number, matchers in rows]
