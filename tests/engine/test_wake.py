"""A new incident's first page leaves at once: the engine is woken by the commit, not by its poll interval."""

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


def _declare_and_time(api, webhook: Webhook) -> float:
    started = time.monotonic()
    assert api.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"}).status_code == 201
    (page,) = webhook.wait_for(1, timeout=10)
    print(f"first page after {1000 * (page.at - started):.1f} ms")
    return page.at - started


def test_the_engine_in_the_same_process_is_woken_by_the_commit(runtime, api, webhook):
    engine = Engine(runtime, poll_interval=30)
    engine.start()
    try:
        time.sleep(0.1)  # let the engine reach its 30 s sleep
        assert _declare_and_time(api, webhook) < 1.0  # loosely: far below the poll interval
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
    engine = Engine(other, poll_interval=30)
    engine.start()
    try:
        time.sleep(0.3)  # LISTEN is set up
        assert runtime.wake_engine is None  # the API's runtime has no engine: only NOTIFY can wake it
        assert _declare_and_time(api, webhook) < 1.0
    finally:
        engine.stop()
        other.db.dispose()
