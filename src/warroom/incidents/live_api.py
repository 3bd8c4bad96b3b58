"""The live timeline over Server-Sent Events: the routes, and `stream_for` for pages that render HTML fragments.

sse-starlette rather than a plain StreamingResponse: it ends open streams when uvicorn is told to stop (a
plain infinite response keeps `warroom serve` waiting for it), notices a client that went away, sends the
heartbeat comments and gives up on a client that stops reading (send timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Header
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from warroom.deps import DB_INT_MAX, PathId, QueryId, RuntimeDep, Viewer
from warroom.errors import InvalidInput, Unavailable
from warroom.incidents import service
from warroom.incidents.live import READ_BATCH, Feed, LiveEvent, Reload, Subscription, feed_of
from warroom.runtime import Runtime

# A reconnection catches up on at most this many events; past that it is told to reload instead.
CATCH_UP_LIMIT = 10_000
HEARTBEAT_SECONDS = 15.0  # a comment line this often keeps proxies from closing an idle stream
SEND_TIMEOUT_SECONDS = 30.0  # a client that reads nothing for this long is disconnected

Render = Callable[[LiveEvent], str]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run this process's live feed while the app runs."""
    runtime: Runtime = app.state.runtime
    feed = Feed(runtime)
    feed.start(asyncio.get_running_loop())
    try:
        yield
    finally:
        await run_in_threadpool(feed.stop)


router = APIRouter(prefix="/api/v1", tags=["incidents"], lifespan=lifespan)


def as_json(event: LiveEvent) -> str:
    """The event as the API's JSON (a TimelineEventRead with the incident's number)."""
    return orjson.dumps(
        {
            "id": event.id,
            "incident": event.incident_id,
            "at": event.at.isoformat(),
            "kind": event.kind,
            "actor": event.actor,
            "actor_kind": event.actor_kind,
            "message": event.message,
            "data": event.data,
        },
        option=orjson.OPT_NON_STR_KEYS,
    ).decode()


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where a stream starts: after the `Last-Event-ID` header's event (a reconnection), else after `after`."""
    if last_event_id is None:
        return after
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or int(text) > DB_INT_MAX:
        raise InvalidInput(
            f"Last-Event-ID must be an event id (a whole number from 0 to {DB_INT_MAX}).", field="Last-Event-ID"
        )
    return int(text)


async def stream_for(
    runtime: Runtime,
    incident_id: int | None,
    *,
    after: int | None = None,
    render: Render = as_json,
    stopping: anyio.Event | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The timeline events of one incident (None: of every incident) as SSE events, each `render`ed (JSON by
    default; a page passes its Jinja2 partial): first those committed after event `after`, if given, then
    every event as it commits. Ends with a `reload` event when the client fell behind or `stopping` is set
    (the server stops: see live_response)."""
    feed = feed_of(runtime)
    if feed is None:
        raise Unavailable("The live feed is not running in this process; retry later.")
    subscription = feed.subscribe(incident_id)  # before the catch-up read, so nothing falls between the two
    watcher = asyncio.create_task(_reload_when(stopping, subscription)) if stopping is not None else None
    try:
        sent: set[int] = set()
        if after is not None:
            while True:
                events = await run_in_threadpool(feed.backlog, after, incident_id, READ_BATCH)
                for event in events:
                    sent.add(event.id)
                    yield ServerSentEvent(data=render(event), id=str(event.id), event="timeline")
                if len(events) < READ_BATCH:
                    break
                after = events[-1].id
                if len(sent) >= CATCH_UP_LIMIT:
                    yield _reload("too many events were missed to catch up; reload")
                    return
        while True:
            try:
                events = await subscription.next(timeout=HEARTBEAT_SECONDS)
            except Reload as why:
                yield _reload(str(why))
                return
            for event in events:
                if event.id not in sent:
                    yield ServerSentEvent(data=render(event), id=str(event.id), event="timeline")
    finally:
        feed.unsubscribe(subscription)
        if watcher is not None:
            watcher.cancel()


async def _reload_when(stopping: anyio.Event, subscription: Subscription) -> None:
    await stopping.wait()
    subscription.tell_reload("the server is stopping; reconnect")


def _reload(reason: str) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps({"reason": reason}).decode(), event="reload")


def live_response(
    runtime: Runtime, incident_id: int | None, *, after: int | None = None, render: Render = as_json
) -> EventSourceResponse:
    """The HTTP response that streams stream_for(...) with heartbeats; when the server stops, the stream sends
    `reload` and ends (a complete response), so `warroom serve` stops within a second with clients connected."""
    stopping = anyio.Event()
    events = stream_for(runtime, incident_id, after=after, render=render, stopping=stopping)
    return EventSourceResponse(
        events,
        ping=HEARTBEAT_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        shutdown_event=stopping,
        shutdown_grace_period=1.0,
    )


def _require_feed(runtime: Runtime) -> None:
    if feed_of(runtime) is None:
        raise Unavailable("The live feed is not running in this process; retry later.")


def _exists(runtime: Runtime, number: int) -> None:
    with runtime.db.session() as session:
        service.get_or_404(session, number)


LastEventId = Annotated[
    str | None, Header(alias="Last-Event-ID", description="Resume after this event id (sent by browsers).")
]


@router.get("/incidents/{number}/events/stream", include_in_schema=False, response_model=None)
async def incident_events_stream(
    number: PathId, runtime: RuntimeDep, _actor: Viewer, last_event_id: LastEventId = None, after: QueryId = None
) -> Any:
    """One incident's timeline events as they commit (text/event-stream)."""
    start = resume_point(last_event_id, after)
    _require_feed(runtime)
    await run_in_threadpool(_exists, runtime, number)
    return live_response(runtime, number, after=start)


@router.get("/events/stream", include_in_schema=False, response_model=None)
async def events_stream(
    runtime: RuntimeDep, _actor: Viewer, last_event_id: LastEventId = None, after: QueryId = None
) -> Any:
    """Every incident's timeline events as they commit (text/event-stream)."""
    start = resume_point(last_event_id, after)
    _require_feed(runtime)
    return live_response(runtime, None, after=start)
