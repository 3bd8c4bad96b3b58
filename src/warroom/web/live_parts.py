"""Live page parts over Server-Sent Events: a page's server-rendered part sent again when relevant events commit.

One stream per browser, fed by the process's live feed (incidents/live.py): no polling. When a relevant timeline
event commits, the part is rendered once more through the same service function as the page (after a short
debounce, so a burst of events costs one render) and sent as one SSE event whose data is the part's HTML; htmx's
SSE extension swaps it in. Ends with `reload` like the live timeline (the server stops, the client fell behind).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from warroom.errors import Unavailable
from warroom.incidents.live import LiveEvent, Reload, Subscription, feed_of
from warroom.incidents.live_api import HEARTBEAT_SECONDS, SEND_TIMEOUT_SECONDS
from warroom.runtime import Runtime

CATCH_UP = 1000  # a (re)connection catches up on at most this many events, else it is told to reload
DEBOUNCE_SECONDS = 0.3  # events arriving this soon after a relevant one are rendered with it, once

# Timeline events that change what the incident list shows (a new incident, its status, severity, title,
# services, commander, or whom it paged: the "mine" filter).
LIST_KINDS = frozenset(
    {
        "declared",
        "acknowledged",
        "update",
        "status_changed",
        "resolved",
        "auto_resolved",
        "reopened",
        "severity_changed",
        "title_changed",
        "services_changed",
        "commander_changed",
        "drill_marked",
        "paged",
        "escalated",
    }
)
# Timeline events that change the incident page's facts (status, severity, commander, durations, next update).
FACT_KINDS = LIST_KINDS | frozenset({"labels_changed", "times_changed", "impact_changed", "description_changed"})
# Timeline events that change the incident page's paging panel.
PAGING_KINDS = frozenset(
    {
        "paging_started",
        "paging_stopped",
        "paging_skipped",
        "paging_error",
        "paging_reevaluated",
        "paged",
        "escalated",
        "acknowledged",
        "resolved",
        "reopened",
        "notification_sent",
        "notification_failed",
        "notification_acknowledged",
    }
)

Part = tuple[str, frozenset[str], Callable[[], str]]  # SSE event name, the kinds that trigger it, its renderer


async def parts_stream(
    runtime: Runtime,
    incident_id: int | None,
    parts: Sequence[Part],
    *,
    after: int | None = None,
    each: Callable[[LiveEvent], str] | None = None,
    stopping: anyio.Event | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Each part, rendered again (in a worker thread) whenever an event of its kinds commits for the incident
    (None: any incident); with `each`, every event too, as a `timeline` event (the incident page's new rows).
    With `after` (the page's last event id, or a reconnection's Last-Event-ID), events committed since are
    caught up on first; past CATCH_UP events the stream says `reload` instead."""
    feed = feed_of(runtime)
    if feed is None:
        raise Unavailable("The live feed is not running in this process; retry later.")
    subscription = feed.subscribe(incident_id)  # before the catch-up read, so nothing falls between the two
    watcher = asyncio.create_task(_reload_when(stopping, subscription)) if stopping is not None else None
    try:
        pending: list[LiveEvent] = []
        if after is not None:
            pending = await run_in_threadpool(feed.backlog, after, incident_id, CATCH_UP + 1)
            if len(pending) > CATCH_UP:
                yield _reload("too many events were missed to catch up; reload")
                return
        caught_up = {e.id for e in pending}  # sent by the catch-up: skipped when the live feed brings them too
        while True:
            try:
                if not pending:
                    pending = [e for e in await subscription.next(timeout=HEARTBEAT_SECONDS) if e.id not in caught_up]
                    if any(_wanted(e, parts) for e in pending):
                        await _gather_burst(subscription, pending)
            except Reload as why:
                yield _reload(str(why))
                return
            if not pending:
                continue
            batch, pending = pending, []
            if each is not None:
                for event in batch:
                    yield ServerSentEvent(data=each(event), id=str(event.id), event="timeline")
            kinds = {e.kind for e in batch}
            last = str(max(e.id for e in batch))
            for name, wanted, render in parts:
                if kinds & wanted:
                    yield ServerSentEvent(data=await run_in_threadpool(render), id=last, event=name)
    finally:
        feed.unsubscribe(subscription)
        if watcher is not None:
            watcher.cancel()


def _wanted(event: LiveEvent, parts: Sequence[Part]) -> bool:
    return any(event.kind in kinds for _name, kinds, _render in parts)


async def _gather_burst(subscription: Subscription, pending: list[LiveEvent]) -> None:
    """Add to `pending` what else arrives within the debounce time (one render for a burst)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEBOUNCE_SECONDS
    while (left := deadline - loop.time()) > 0:
        more = await subscription.next(timeout=left)
        if not more:
            return
        pending.extend(more)


async def _reload_when(stopping: anyio.Event, subscription: Subscription) -> None:
    await stopping.wait()
    subscription.tell_reload("the server is stopping; reconnect")


def _reload(reason: str) -> ServerSentEvent:
    return ServerSentEvent(data=f'{{"reason": "{reason}"}}', event="reload")


def parts_response(
    runtime: Runtime,
    incident_id: int | None,
    parts: Sequence[Part],
    *,
    after: int | None = None,
    each: Callable[[LiveEvent], str] | None = None,
) -> EventSourceResponse:
    """The HTTP response streaming parts_stream(...) with heartbeats; it ends with `reload` when the server stops."""
    stopping = anyio.Event()
    events = parts_stream(runtime, incident_id, parts, after=after, each=each, stopping=stopping)
    return EventSourceResponse(
        events,
        ping=HEARTBEAT_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        shutdown_event=stopping,
        shutdown_grace_period=1.0,
    )
