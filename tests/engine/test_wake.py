"""A new incident's first page leaves at once: the engine is woken by the commit, not by its poll interval.

The engines here poll once an hour, so a page that arrives within the test's generous timeout can only have
been sent because the commit woke the engine; no wall-clock threshold, which a loaded machine would break.
The latency is printed (pytest -s) for whoever wants the figure."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.oncall.helpers import Webhook, oncall_config
from warroom.config import ConfigFile, Settings
from warroom.db import Database
from warroom.engine.worker import Engine
from warroom.runtime import Runtime


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


HOUR = 3600.0  # the poll interval: far beyond any test timeout
WAIT_S = 60.0  # how long a woken engine may take on a loaded machine


def _declare_and_wait_for_the_page(api, webhook: Webhook) -> None:
    started = time.monotonic()
    assert api.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"}).status_code == 201
    (page,) = webhook.wait_for(1, timeout=WAIT_S)
    print(f"first page after {1000 * (page.at - started):.1f} ms")


def _engine_asleep(engine: Engine) -> None:
    """Wait until the engine has done its first pass and sleeps for its poll interval."""
    deadline = time.monotonic() + WAIT_S
    while not engine.asleep():
        assert time.monotonic() < deadline, "the engine never went to sleep"
        time.sleep(0.01)


def _listening(database_url: str) -> None:
    """Wait until some backend has run LISTEN warroom_jobs (a NOTIFY before it would be lost)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    deadline = time.monotonic() + WAIT_S
    with psycopg.connect(url, autocommit=True) as conn:
        while not conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN warroom_jobs'"
        ).fetchone():
            assert time.monotonic() < deadline, "the engine never listened"
            time.sleep(0.01)


def test_the_engine_in_the_same_process_is_woken_by_the_commit(runtime, api, webhook):
    engine = Engine(runtime, poll_interval=HOUR)
    engine.start()
    try:
        _engine_asleep(engine)
        _declare_and_wait_for_the_page(api, webhook)
    finally:
        engine.stop()


@pytest.mark.backend("postgresql")
def test_an_engine_in_another_process_is_woken_by_listen_notify(runtime, api, webhook, backend, database_url, tmp_path):
    other = Runtime(
        settings=Settings(data_dir=tmp_path, database_url=database_url),
        config=runtime.config,
        db=Database(database_url),
        clock=runtime.clock,
    )
    engine = Engine(other, poll_interval=HOUR)
    engine.start()
    try:
        _listening(database_url)
        _engine_asleep(engine)
        assert runtime.wake_engine is None  # the API's runtime has no engine: only NOTIFY can wake it
        _declare_and_wait_for_the_page(api, webhook)
    finally:
        engine.stop()
        other.db.dispose()
