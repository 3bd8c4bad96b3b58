"""A slow database is an unavailable one: every connection has connect, statement and lock timeouts, and
`/ready` answers 503 within 2 s when the database does not answer (issue 12 §6)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from warroom.app import create_app
from warroom.auth import service as auth_service
from warroom.auth.actor import Role
from warroom.clock import FakeClock
from warroom.config import Settings
from warroom.runtime import Runtime


def wait_ready(client: TestClient, within: float) -> None:
    deadline = time.monotonic() + within
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "not ready again after the database came back"
        time.sleep(0.1)


@pytest.mark.parametrize("pool", ["warm", "cold"])
def test_ready_answers_503_within_2s_while_postgres_does_not_answer(pool, slow_runtime, proxy):
    client = TestClient(create_app(slow_runtime), raise_server_exceptions=False)
    assert client.get("/ready").status_code == 200
    if pool == "cold":
        slow_runtime.db.dispose()  # the next ping must open a connection: the server never finishes the handshake

    with proxy.paused(at_most=8):
        started = time.monotonic()
        response = client.get("/ready")
        elapsed = time.monotonic() - started
        again = client.get("/ready")  # a second probe while the first ping is still stuck: as quick

    assert response.status_code == 503, response.text
    assert elapsed < 2
    assert response.headers["Retry-After"] == "5"
    assert response.json()["detail"] == "The database is unreachable."
    assert again.status_code == 503
    wait_ready(client, within=10)
    client.close()


def test_every_postgresql_connection_has_statement_and_lock_timeouts(slow_runtime):
    for _ in range(2):  # the second session reuses the pooled connection after its reset (a rollback)
        with slow_runtime.db.session() as session:
            shown = session.execute(
                text("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            )
            assert tuple(shown.one()) == ("2s", "1s")
            session.rollback()


def test_a_statement_over_the_timeout_is_cancelled(slow_runtime):
    started = time.monotonic()
    with pytest.raises(Exception, match="statement timeout"), slow_runtime.db.session() as session:
        session.execute(text("SELECT pg_sleep(10)"))
    assert time.monotonic() - started < 5


def test_sqlite_waits_for_the_write_lock_as_long_as_the_lock_timeout(tmp_path):
    settings = Settings(data_dir=tmp_path, db_lock_timeout=2)
    runtime = Runtime.from_settings(settings, clock=FakeClock())
    try:
        with runtime.db.session() as session:
            assert session.execute(text("PRAGMA busy_timeout")).scalar_one() == 2000
    finally:
        runtime.db.dispose()


def test_any_request_answers_503_while_postgres_does_not_answer(slow_runtime, proxy):
    with slow_runtime.db.transaction() as session:
        _, token = auth_service.create_token(
            session, name="alice", role=Role.ADMIN, created_by="tests", now=slow_runtime.clock.now()
        )
    client = TestClient(create_app(slow_runtime), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/api/v1/incidents").status_code == 200

    with proxy.paused(at_most=12):
        started = time.monotonic()
        response = client.get("/api/v1/incidents")
        elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert token not in response.text
    assert elapsed < 7  # no answer for the statement timeout (2 s) and a grace, then one reconnect (2 s)
    wait_ready(client, within=10)
    assert client.get("/api/v1/incidents").status_code == 200
    client.close()
