"""The live timeline: what a connected browser (an SSE client) receives, when, and what it never receives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import free_port
from tests.incidents.sse import HeldFeed, SseReader
from tests.peers import wait_answering
from warroom.auth.actor import Actor, Role
from warroom.incidents import live_api, service, timeline
from warroom.incidents.live import Feed, LiveEvent, Reload
from warroom.runtime import Runtime

ALICE = Actor(name="alice", role=Role.RESPONDER)


def _note(runtime: Runtime, number: int, message: str) -> None:
    with runtime.db.transaction() as session:
        incident = service.get_or_404(session, number)
        service.add_note(session, incident, ALICE, runtime.clock.now(), message)


@pytest.fixture
def viewer_headers(make_token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('viewer', 'watcher')}"}


@pytest.fixture
def responder(live_server, make_token: Callable[..., str]) -> Iterator[httpx.Client]:
    token = make_token("responder", "ann")
    with httpx.Client(
        base_url=live_server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


def test_a_note_reaches_the_clients_of_its_incident_and_of_all_incidents_only(
    live_server, responder, make_incident, viewer_headers
):
    first, second = make_incident(title="Checkout 502s"), make_incident(title="Search slow")
    base = live_server.url + "/api/v1"
    with (
        SseReader(f"{base}/incidents/{first.id}/events/stream", viewer_headers) as mine,
        SseReader(f"{base}/incidents/{second.id}/events/stream", viewer_headers) as other,
        SseReader(f"{base}/events/stream", viewer_headers) as everything,
    ):
        posted = responder.post(f"/incidents/{first.id}/notes", json={"message": "rolled back the deploy"})
        assert posted.status_code == 201
        mine.wait_for(lambda r: r.messages() == ["rolled back the deploy"])
        everything.wait_for(lambda r: r.messages() == ["rolled back the deploy"])
        event = mine.timeline()[0]
        assert event.id == str(posted.json()["id"])
        assert event.json()["incident"] == first.id and event.json()["actor"] == "ann"
        assert other.timeline() == []  # everything has it by now: the other incident's stream never will


@pytest.mark.parametrize("how", ["Last-Event-ID", "after"])
def test_a_reconnecting_client_resumes_after_the_last_event_it_saw(
    live_server, responder, make_incident, viewer_headers, how
):
    incident = make_incident()
    ids = [responder.post(f"/incidents/{incident.id}/notes", json={"message": m}).json()["id"] for m in "abc"]
    url = f"{live_server.url}/api/v1/incidents/{incident.id}/events/stream"
    if how == "Last-Event-ID":
        reader = SseReader(url, {**viewer_headers, "Last-Event-ID": str(ids[0])})
    else:
        reader = SseReader(f"{url}?after={ids[0]}", viewer_headers)
    with reader:
        reader.wait_for(lambda r: r.messages() == ["b", "c"])
        responder.post(f"/incidents/{incident.id}/notes", json={"message": "d"})
        reader.wait_for(lambda r: r.messages() == ["b", "c", "d"])
        assert [e.id for e in reader.timeline()[:2]] == [str(i) for i in ids[1:]]


def test_a_client_that_connects_fresh_gets_only_what_happens_from_now_on(
    live_server, responder, make_incident, viewer_headers
):
    incident = make_incident()
    responder.post(f"/incidents/{incident.id}/notes", json={"message": "before"})
    with SseReader(f"{live_server.url}/api/v1/incidents/{incident.id}/events/stream", viewer_headers) as reader:
        responder.post(f"/incidents/{incident.id}/notes", json={"message": "after"})
        reader.wait_for(lambda r: r.messages() == ["after"])


@pytest.mark.backend("sqlite")
def test_an_idle_stream_gets_heartbeats(live_server, make_incident, viewer_headers, monkeypatch):
    monkeypatch.setattr(live_api, "HEARTBEAT_SECONDS", 0.1)
    with SseReader(f"{live_server.url}/api/v1/events/stream", viewer_headers) as reader:
        reader.wait_for(lambda r: len(r.comments) >= 2)
        assert all(c.startswith(": ping") for c in reader.comments)


# --- refusals (answered before any stream opens, so an in-process client can read them) ---


@pytest.fixture
def running(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:  # runs the lifespan: the feed is on
        yield client


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/api/v1/incidents/1/events/stream", "/api/v1/events/stream"])
def test_a_stream_needs_a_valid_token(running, path):
    assert running.get(path).status_code == 401
    refused = running.get(path, headers={"Authorization": "Bearer wr_bogus_token"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("number", "status"), [("0", 422), ("-3", 422), ("abc", 422), ("99999999999", 422), ("4242", 404)]
)
def test_a_bad_or_unknown_incident_is_refused_by_name(running, viewer_headers, number, status):
    answer = running.get(f"/api/v1/incidents/{number}/events/stream", headers=viewer_headers)
    assert answer.status_code == status
    assert "number" in answer.text or "#4242" in answer.text


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999", "٣".encode(), "1; DROP"])
@pytest.mark.parametrize("path", ["/api/v1/incidents/1/events/stream", "/api/v1/events/stream"])
def test_a_bad_last_event_id_is_refused_by_name(running, make_incident, viewer_headers, path, value: str | bytes):
    make_incident()
    answer = running.get(path, headers={**viewer_headers, "Last-Event-ID": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("Last-Event-ID must be an event id")


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_a_bad_after_is_refused_by_name(running, viewer_headers, value):
    answer = running.get(f"/api/v1/events/stream?after={value}", headers=viewer_headers)
    assert answer.status_code == 422
    assert "after" in answer.text


@pytest.mark.backend("sqlite")
def test_without_the_feed_running_a_stream_is_a_503_not_a_hang(client_for):
    client = client_for("viewer")  # no lifespan: this process runs no feed
    answer = client.get("/api/v1/events/stream")
    assert answer.status_code == 503
    assert "live feed is not running" in answer.json()["detail"]


# --- the feed itself: what is published, and to whom ---


def _collect(subscription, until: Callable[[list[LiveEvent]], bool], timeout: float = 10.0):
    async def run() -> list[LiveEvent]:
        got: list[LiveEvent] = []
        deadline = time.monotonic() + timeout
        while not until(got):
            assert time.monotonic() < deadline, f"timed out with {[e.message for e in got]}"
            got += await subscription.next(timeout=0.05)
        return got

    return run()


def test_a_rolled_back_event_is_never_published(runtime, make_incident):
    incident = make_incident()

    def write() -> None:
        session = runtime.db.write_session()
        try:
            row = service.get_or_404(session, incident.id)
            timeline.append(session, row, kind="note", actor=ALICE, at=runtime.clock.now(), message="never")
            session.flush()  # the row exists inside the transaction, with an id
            session.rollback()
        finally:
            session.close()
        _note(runtime, incident.id, "kept")

    async def scenario() -> list[LiveEvent]:
        feed = Feed(runtime, poll=0.05)
        feed.start(asyncio.get_running_loop())
        try:
            subscription = feed.subscribe(None)
            await asyncio.to_thread(write)
            got = await _collect(subscription, lambda got: any(e.message == "kept" for e in got))
            got += await subscription.next(timeout=0.3)  # anything published late would be here
            return got
        finally:
            await asyncio.to_thread(feed.stop)

    assert [e.message for e in asyncio.run(scenario())] == ["kept"]


def test_a_subscriber_that_arrives_while_the_feed_lags_gets_only_what_commits_after_it(runtime, make_incident):
    """On a loaded host the reader may hand out a batch a while after its commit; a stream opened in between
    must not get it (a console page, which renders the events it already has, would show them twice)."""
    incident = make_incident()

    async def scenario() -> list[LiveEvent]:
        feed = Feed(runtime, poll=0.05)
        feed.start(asyncio.get_running_loop())
        held = HeldFeed(feed, wait=30)
        try:
            await asyncio.to_thread(_note, runtime, incident.id, "before")
            assert await asyncio.to_thread(held.holding.wait, 30), "the reader never read the note"
            subscription = feed.subscribe(None)
            held.release()
            await asyncio.to_thread(_note, runtime, incident.id, "after")
            got = await _collect(subscription, lambda got: any(e.message == "after" for e in got))
            got += await subscription.next(timeout=0.3)  # anything published late would be here
            return got
        finally:
            held.release()
            await asyncio.to_thread(feed.stop)

    assert [e.message for e in asyncio.run(scenario())] == ["after"]


def test_a_slow_subscriber_is_told_to_reload_and_never_holds_back_the_others(runtime, make_incident):
    incident = make_incident()

    async def scenario() -> tuple[list[LiveEvent], BaseException | None, int]:
        feed = Feed(runtime, poll=0.05, queue_limit=30)
        feed.start(asyncio.get_running_loop())
        try:
            slow, fast = feed.subscribe(None), feed.subscribe(incident.id)

            def write() -> None:
                for i in range(60):
                    _note(runtime, incident.id, f"n{i}")

            writer = asyncio.ensure_future(asyncio.to_thread(write))
            got = await _collect(fast, lambda got: len(got) == 60)
            await writer
            try:
                await slow.next(timeout=1)
                refused = None
            except Reload as why:
                refused = why
            return got, refused, len(slow._queue)
        finally:
            await asyncio.to_thread(feed.stop)

    got, refused, held = asyncio.run(scenario())
    assert [e.message for e in got] == [f"n{i}" for i in range(60)]
    assert refused is not None and "fell behind" in str(refused)
    assert held == 0  # what it had queued was dropped


# --- several processes, and stopping ---


def _serve(tmp_path: Path, database_url: str, port: int, name: str, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        WARROOM_DATA_DIR=str(tmp_path / name),
        WARROOM_DATABASE_URL=database_url,
        WARROOM_PORT=str(port),
        WARROOM_HOST="127.0.0.1",
        NO_COLOR="1",
    )
    log = (tmp_path / f"{name}.log").open("wb")
    command = [sys.executable, "-m", "warroom", "serve", *extra]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_answering(f"http://127.0.0.1:{port}/health", process, 60, (tmp_path / f"{name}.log").read_text)
    return process


def test_an_event_written_by_another_serve_process_reaches_a_client_and_serve_stops_promptly(
    tmp_path, database_url, runtime, make_incident, make_token
):
    incident = make_incident()
    viewer = {"Authorization": f"Bearer {make_token('viewer')}"}
    writer_headers = {"Authorization": f"Bearer {make_token('responder')}"}
    first_port, second_port = free_port(), free_port()
    first = _serve(tmp_path, database_url, first_port, "first")
    second = _serve(tmp_path, database_url, second_port, "second", "--no-engine")
    try:
        url = f"http://127.0.0.1:{first_port}/api/v1/incidents/{incident.id}/events/stream"
        with SseReader(url, viewer) as reader:
            started = time.monotonic()
            posted = httpx.post(
                f"http://127.0.0.1:{second_port}/api/v1/incidents/{incident.id}/notes",
                json={"message": "from the other process"},
                headers=writer_headers,
                timeout=10,
            )
            assert posted.status_code == 201
            reader.wait_for(lambda r: r.messages() == ["from the other process"])
            assert reader.timeline()[0].at - started < 2.0  # SQLite polls every 0.2 s; PostgreSQL is notified

            asked = time.monotonic()
            first.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once it has shut down cleanly: the exit status is "killed by SIGTERM".
            assert first.wait(timeout=15) in (0, -signal.SIGTERM)
            assert time.monotonic() - asked < 5, "serve waited for its SSE client"
            assert reader.ended.wait(5)
            assert reader.events[-1].event == "reload"
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
