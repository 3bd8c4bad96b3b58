"""The writers' half of the live feed: tell listening processes which timeline events a transaction committed.

Every process that writes (an API worker, `warroom engine`, the CLI) installs this, whether or not it serves
the feed itself. On PostgreSQL a transaction that appended events sends one `NOTIFY warroom_timeline` with
their ids just before it commits: PostgreSQL delivers it at the commit and drops it on a rollback, so an
event that was rolled back never reaches a listener. On SQLite (one machine, one writer at a time) a
commit in this process wakes this process's feed at once; the other processes' commits are found by the
feed's reader (live.py), which polls the table by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from warroom.incidents.models import TimelineEvent

if TYPE_CHECKING:
    from warroom.runtime import Runtime

CHANNEL = "warroom_timeline"
# NOTIFY payloads must stay under 8000 bytes; ids are sent as ranges ("120-180,200"), split across notifies.
PAYLOAD_LIMIT = 7000
_PENDING = "live_pending_ids"  # session.info: ids appended by this transaction (PostgreSQL)
_WROTE = "live_wrote"  # session.info: this transaction appended events (SQLite)
# session.info of every session (shared dict): called after a commit that appended events, in the writer's
# thread; the process's feed sets it when it starts (live.Feed.start).
WAKE = "live_wake"


def note_written(session: Session, ids: Iterable[int]) -> None:
    """Record that this transaction appended the events `ids` (writers that bypass the ORM call this)."""
    session.info[_WROTE] = True
    if session.get_bind().dialect.name == "postgresql":
        session.info.setdefault(_PENDING, []).extend(ids)


def as_ranges(ids: Iterable[int]) -> list[str]:
    """Sorted ids as runs: [1, 2, 3, 7] → ["1-3", "7"]."""
    runs: list[tuple[int, int]] = []
    for value in sorted(set(ids)):
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return [str(first) if first == last else f"{first}-{last}" for first, last in runs]


def payloads(ids: Sequence[int]) -> list[str]:
    """The NOTIFY payloads that carry `ids`, each under PAYLOAD_LIMIT bytes."""
    chunks: list[str] = []
    current = ""
    for run in as_ranges(ids):
        if current and len(current) + len(run) + 1 > PAYLOAD_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current},{run}" if current else run
    if current:
        chunks.append(current)
    return chunks


def parse_payload(payload: str, *, limit: int = 100_000) -> list[int]:
    """The ids a payload names (at most `limit`; a malformed part is ignored: the channel is ours, but a
    stranger with database access could send anything on it)."""
    ids: list[int] = []
    for part in payload.split(","):
        low, _, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if high else first
        except ValueError:
            continue
        if first < 1 or last < first:
            continue
        ids.extend(range(first, min(last, first + limit - len(ids) - 1) + 1))
        if len(ids) >= limit:
            break
    return ids


def _after_flush(session: Session, _context: Any) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, TimelineEvent)]
    if ids:
        note_written(session, ids)


def _before_commit(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    if any(isinstance(obj, TimelineEvent) for obj in session.new):
        session.flush()  # the commit flushes only after this event: flush now, so every id is in the notify
    ids = session.info.pop(_PENDING, [])
    if not ids:
        return
    connection = session.connection()
    for payload in payloads(ids):
        connection.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


def _after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    if session.info.pop(_WROTE, False):
        wake: Callable[[], None] | None = session.info.get(WAKE)
        if wake is not None:
            wake()


def _after_transaction_end(session: Session, transaction: Any) -> None:
    # Only when the outermost transaction ends (committed or rolled back): a savepoint rolled back inside it
    # leaves its ids in the list, which is harmless (the listener reads no row for them).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_WROTE, None)


def install(runtime: Runtime) -> None:
    """Mark the sessions of this runtime's database so that committed timeline events are announced."""
    db = runtime.db
    db.listen_sessions("after_flush", _after_flush)
    db.listen_sessions("before_commit", _before_commit)
    db.listen_sessions("after_commit", _after_commit)
    db.listen_sessions("after_transaction_end", _after_transaction_end)
