"""The live feed of one process: committed timeline events, read once, handed to every subscriber (SSE streams).

One source of truth: the rows in `timeline_events`, whoever wrote them (an API route, the engine, the alert
intake, another `warroom serve` worker). One reader thread per process finds them and hands them to the
subscribers' bounded queues in the event loop; a browser never causes a query of its own beyond its
catch-up on (re)connection.

- PostgreSQL: the reader LISTENs on `warroom_timeline`; writers NOTIFY the ids they appended at commit
  (livewrites.py), the reader reads those rows. A rolled-back transaction sends nothing. Latency: the
  notification (under 1 ms) plus one indexed read.
- SQLite: the reader reads rows with an id above the last it saw. A commit in this process wakes it at once;
  the commits of other processes (`warroom engine`, the CLI) are found by a poll every `poll` seconds
  (0.2 s by default: a primary-key range read, nothing when nothing changed). SQLite has one writer at a
  time, so ids become visible in increasing order and nothing is skipped.

Each batch of events carries the moment the reader knew they were committed (its read of SQLite finished, or
PostgreSQL's notification arrived). A subscriber that subscribed later gets none of that batch: it was
committed before it subscribed. Without this, a reader lagging under load would hand a new subscriber events
from before its time, and a console page would show them twice.

A subscriber that does not keep up (its queue of `queue_limit` events is full: a stalled browser) is told to
reload and dropped; writers and the other subscribers never wait for it, and its memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select

from warroom.incidents import livewrites
from warroom.incidents.models import TimelineEvent

if TYPE_CHECKING:
    from warroom.runtime import Runtime

log = structlog.get_logger("warroom.live")

FEED = "live_feed"  # runtime.extras: the running Feed of this process
READ_BATCH = 500


@dataclass(frozen=True)
class LiveEvent:
    """One committed timeline event, detached from any session."""

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str
    actor_kind: str
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, row: TimelineEvent) -> LiveEvent:
        """The event of a timeline row."""
        return cls(row.id, row.incident_id, row.at, row.kind, row.actor, row.actor_kind, row.message, dict(row.data))


class Reload(Exception):
    """The subscriber missed events (too slow, or the feed lost its database connection): reload the page."""


class Subscription:
    """One subscriber's bounded queue of events (all incidents, or one), used from the event loop only."""

    def __init__(self, incident_id: int | None, limit: int) -> None:
        self.incident_id = incident_id
        self.limit = limit
        self.reload_reason: str | None = None
        self.since = time.monotonic()  # events known committed before this are not for it
        self._queue: deque[LiveEvent] = deque()
        self._ready = asyncio.Event()

    def offer(self, events: Sequence[LiveEvent]) -> None:
        """Queue the events this subscriber wants; past its limit, drop them all and ask it to reload."""
        if self.reload_reason is not None:
            return
        wanted = [e for e in events if self.incident_id is None or e.incident_id == self.incident_id]
        if not wanted:
            return
        if len(self._queue) + len(wanted) > self.limit:
            self.tell_reload("this client fell behind the live feed")
            return
        self._queue.extend(wanted)
        self._ready.set()

    def tell_reload(self, reason: str) -> None:
        """Drop what is queued and end the stream with a reload event."""
        self.reload_reason = reason
        self._queue.clear()
        self._ready.set()

    async def next(self, timeout: float) -> list[LiveEvent]:
        """The queued events (waiting up to `timeout` seconds for one; [] when none came); Reload when told."""
        if not self._queue and self.reload_reason is None:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        self._ready.clear()
        if self.reload_reason is not None:
            raise Reload(self.reload_reason)
        events = list(self._queue)
        self._queue.clear()
        return events


class Feed:
    """The process's reader thread and its subscribers."""

    def __init__(self, runtime: Runtime, *, poll: float = 0.2, queue_limit: int = 1000) -> None:
        self.runtime = runtime
        self.poll = poll
        self.queue_limit = queue_limit
        self.subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()  # the reader is ready: LISTEN done (PostgreSQL), or at once (SQLite)

    # --- lifecycle (event loop) ---

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the reader thread; events are handed to subscribers in `loop`."""
        self._loop = loop
        self.runtime.extras[FEED] = self
        target: Callable[[], None] = self._listen_postgres if not self.runtime.db.is_sqlite else self._read_sqlite
        if self.runtime.db.is_sqlite:
            self.runtime.db.session_info[livewrites.WAKE] = self.wake
            self._last_id = self._max_id()
            self._listening.set()
        self._thread = threading.Thread(target=target, name="warroom-live", daemon=True)
        self._thread.start()
        # Subscribers are promised every event committed after they subscribe: on PostgreSQL that needs the
        # LISTEN in place first. A database that does not answer delays the start by at most a few seconds;
        # the reader keeps trying (streams opened meanwhile may miss events until it connects).
        self._listening.wait(self.runtime.db.timeouts.connect)

    def stop(self) -> None:
        """Stop the reader thread and end every subscriber's stream."""
        self._stopping.set()
        self._wakeup.set()
        self.runtime.db.session_info.pop(livewrites.WAKE, None)
        if self.runtime.extras.get(FEED) is self:
            del self.runtime.extras[FEED]
        if self._thread is not None:
            self._thread.join(timeout=10)
        for subscription in list(self.subscribers):
            subscription.tell_reload("the server is stopping")

    def subscribe(self, incident_id: int | None) -> Subscription:
        """A new subscriber (call from the event loop); it receives every event committed from now on."""
        subscription = Subscription(incident_id, self.queue_limit)
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscriber (its stream ended)."""
        self.subscribers.discard(subscription)

    def wake(self) -> None:
        """A transaction of this process committed timeline events (any thread; SQLite)."""
        self._wakeup.set()

    # --- reading (any thread) ---

    def backlog(self, after_id: int, incident_id: int | None, limit: int) -> list[LiveEvent]:
        """Up to `limit` committed events with an id above `after_id`, oldest first (a reconnection's catch-up)."""
        query = select(TimelineEvent).where(TimelineEvent.id > after_id)
        if incident_id is not None:
            query = query.where(TimelineEvent.incident_id == incident_id)
        with self.runtime.db.session() as session:
            return [LiveEvent.of(row) for row in session.scalars(query.order_by(TimelineEvent.id).limit(limit))]

    def _max_id(self) -> int:
        with self.runtime.db.session() as session:
            return int(session.scalar(select(func.max(TimelineEvent.id))) or 0)

    def _by_ids(self, ids: Sequence[int]) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        with self.runtime.db.session() as session:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                rows = session.scalars(select(TimelineEvent).where(TimelineEvent.id.in_(chunk)))
                events.extend(LiveEvent.of(row) for row in rows)
        return sorted(events, key=lambda e: e.id)

    def _publish(self, events: Sequence[LiveEvent], committed_by: float) -> None:
        """Hand `events` to the subscribers; each was committed by monotonic time `committed_by`."""
        if events:
            self._in_loop(self._fan_out, list(events), committed_by)

    def _reload_all(self, reason: str) -> None:
        def tell() -> None:
            for subscription in list(self.subscribers):
                subscription.tell_reload(reason)

        self._in_loop(tell)

    def _in_loop(self, callback: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(callback, *args)

    def _fan_out(self, events: list[LiveEvent], committed_by: float) -> None:
        for subscription in list(self.subscribers):
            if subscription.since <= committed_by:
                subscription.offer(events)

    def _read_sqlite(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wakeup.wait(self.poll)
            self._wakeup.clear()
            if self._stopping.is_set():
                return
            try:
                while True:
                    events = self.backlog(self._last_id, None, READ_BATCH)
                    if events:
                        self._last_id = events[-1].id
                        self._publish(events, time.monotonic())
                    if len(events) < READ_BATCH:
                        break
                failures = 0
            except Exception as exc:  # the database is away: keep trying, say so once per streak
                failures += 1
                if failures == 1:
                    log.warning("live feed cannot read the timeline", error=type(exc).__name__)
                self._stopping.wait(min(5.0, self.poll * 2**failures))

    def _listen_postgres(self) -> None:
        import psycopg

        url = self.runtime.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connected_before = False
        failures = 0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {livewrites.CHANNEL}")
                    self._listening.set()
                    if connected_before:
                        # Events committed while we were away were announced to nobody.
                        self._reload_all("the live feed reconnected to the database")
                    connected_before = True
                    failures = 0
                    while not self._stopping.is_set():
                        ids: list[int] = []
                        for note in conn.notifies(timeout=self.poll, stop_after=1):
                            ids.extend(livewrites.parse_payload(note.payload))
                        if ids:
                            # Whatever else arrived meanwhile, read in the same query.
                            for note in conn.notifies(timeout=0.001):
                                ids.extend(livewrites.parse_payload(note.payload))
                            committed_by = time.monotonic()  # a commit notifies once done
                            self._publish(self._by_ids(ids), committed_by)
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("live feed lost its database connection; retrying", error=type(exc).__name__)
                self._stopping.wait(min(5.0, 0.2 * 2**failures))


def feed_of(runtime: Runtime) -> Feed | None:
    """The running feed of this process, if the app started one."""
    feed = runtime.extras.get(FEED)
    return feed if isinstance(feed, Feed) else None
