"""The intake with a database that stops answering or a table locked by someone else: 503 with Retry-After,
soon, so that senders retry (issue 12 §6); never a hang, never a 2xx for what is not stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from tests.conftest import LiveServer
from tests.slowdb import truncate_plainly
from warroom import dbstall
from warroom.alerts import integrations
from warroom.app import create_app
from warroom.clock import FakeClock
from warroom.config import Settings
from warroom.runtime import Runtime

from .conftest import am_alert, am_payload


@pytest.fixture
def client(slow_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(slow_runtime), raise_server_exceptions=False) as http:
        yield http


def make_key(runtime: Runtime, name: str) -> str:
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name=name, type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    return key


def stored(runtime: Runtime, alertname: str) -> int:
    with runtime.db.session() as session:
        found = session.execute(text("SELECT count(*) FROM alerts WHERE summary LIKE :name"), {"name": f"{alertname}%"})
        return int(found.scalar_one())


def assert_unavailable(response, key: str, elapsed: float, within: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert key not in response.text
    assert elapsed < within


def warm_up(client: TestClient, key: str) -> None:
    """One alert stored before the database is frozen. It is the test's starting point, not under test: on a
    loaded CI host the first request can outlast the 2 s timeouts under test, so it is tried again (the intake
    answers 503 then, as promised), for at most 60 s."""
    deadline = time.monotonic() + 60
    while (answer := client.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("Warmup")))).status_code != 200:
        assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
        time.sleep(0.5)


def test_intake_answers_503_while_postgres_does_not_answer_then_takes_the_retry(slow_runtime, client, proxy):
    key = make_key(slow_runtime, "prod-alertmanager")
    warm_up(client, key)

    with proxy.paused(at_most=10):
        started = time.monotonic()
        response = client.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DuringFreeze")))
        elapsed = time.monotonic() - started

    assert_unavailable(response, key, elapsed, within=4)  # the statement timeout (2 s) and some slack
    deadline = time.monotonic() + 15
    while True:  # the sender's retry: taken once the database answers again, stored once
        retry = client.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DuringFreeze")))
        if retry.status_code == 200:
            break
        assert retry.status_code == 503 and time.monotonic() < deadline, retry.text
        time.sleep(0.2)
    assert stored(slow_runtime, "DuringFreeze") == 1


def test_an_uncached_key_answers_503_not_401_while_postgres_does_not_answer(slow_runtime, client, proxy):
    make_key(slow_runtime, "prod-alertmanager")
    other = make_key(slow_runtime, "other-alertmanager")  # never used: not in the key cache
    assert client.get("/ready").status_code == 200

    with proxy.paused(at_most=10):
        started = time.monotonic()
        response = client.post(f"/api/v1/intake/{other}", json=am_payload(am_alert("Cold")))
        elapsed = time.monotonic() - started

    assert_unavailable(response, other, elapsed, within=4)
    # Counted as refused (the key could not be checked, so its integration is unknown), like every refusal.
    refused = slow_runtime.registry.get_sample_value(
        "warroom_alert_intake_rejected_total", {"integration": "unknown", "reason": "unavailable"}
    )
    assert refused == 1


def test_intake_answers_503_when_a_lock_is_held_past_the_lock_timeout(slow_runtime, client, pg_migrated):
    key = make_key(slow_runtime, "prod-alertmanager")
    warm_up(client, key)
    libpq_url = make_url(pg_migrated).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq_url) as locker:
        locker.execute("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE")  # e.g. a migration or a VACUUM FULL
        release = threading.Timer(8, locker.rollback)  # never longer: a missing timeout fails, not hangs
        release.start()
        try:
            started = time.monotonic()
            response = client.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("WhileLocked")))
            elapsed = time.monotonic() - started
        finally:
            release.cancel()
            locker.rollback()

    assert_unavailable(response, key, elapsed, within=4)
    assert client.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("WhileLocked"))).status_code == 200


def test_a_request_answered_503_while_queued_is_not_written_later(pg_migrated, proxy, tmp_path, monkeypatch):
    # The stalled call is not cut here (a long grace), so the first request's commit goes through once the
    # database answers again, as a slow (not dead) database's would: what queued behind it and was answered
    # 503 meanwhile must not be written then (its sender retries it; a freeze would leave thousands).
    monkeypatch.setattr(dbstall, "STALL_GRACE_SECONDS", 30.0)
    settings = Settings(
        data_dir=tmp_path, database_url=proxy.url(pg_migrated), db_statement_timeout=2, db_lock_timeout=1
    )
    truncate_plainly(pg_migrated)
    runtime = Runtime.from_settings(settings, clock=FakeClock())
    key = make_key(runtime, "prod-alertmanager")
    answers: dict[str, int] = {}

    def send(name: str) -> None:
        response = httpx.post(f"{server.url}/api/v1/intake/{key}", json=am_payload(am_alert(name)), timeout=30)
        answers[name] = response.status_code

    try:
        with LiveServer(create_app(runtime)) as server:
            send("Warmup")
            with proxy.paused(at_most=4):
                first = threading.Thread(target=send, args=("Stalled",))
                first.start()
                time.sleep(0.5)  # the writer is now waiting on the database with the first request
                queued = threading.Thread(target=send, args=("Queued",))
                queued.start()
                first.join(10)
                queued.join(10)
            assert answers == {"Warmup": 200, "Stalled": 503, "Queued": 503}
            deadline = time.monotonic() + 10
            while stored(runtime, "Stalled") == 0:  # the stalled commit went through after all
                assert time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(0.5)
            assert stored(runtime, "Queued") == 0
    finally:
        runtime.db.dispose()
