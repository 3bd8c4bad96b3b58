"""The run's PostgreSQL behind a pausable loopback proxy, and a runtime on it with short timeouts: how the
tests of issue 12 §6 (a slow database is an unavailable one) freeze a database without freezing the shared
server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _truncate_all
from tests.dbproxy import PausableProxy
from warroom.clock import FakeClock
from warroom.config import Settings
from warroom.db import Database
from warroom.runtime import Runtime


def truncate_plainly(url: str) -> None:
    """Empty the shared database without the short timeouts under test: a session a previous test left stuck
    behind the paused proxy may still hold a lock for a moment after the proxy closed it."""
    database = Database(url)
    try:
        _truncate_all(database)
    finally:
        database.dispose()


@pytest.fixture
def proxy(pg_migrated: str) -> Iterator[PausableProxy]:
    """The run's PostgreSQL behind a forwarder that can stop answering."""
    url = make_url(pg_migrated)
    forwarder = PausableProxy(url.host or "127.0.0.1", url.port or 5432)
    yield forwarder
    forwarder.close()


@pytest.fixture
def slow_runtime(pg_migrated: str, proxy: PausableProxy, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime built from settings (as `warroom serve` builds it) on the proxied PostgreSQL, short timeouts."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=proxy.url(pg_migrated),
        db_connect_timeout=1,
        db_statement_timeout=2,
        db_lock_timeout=1,
    )
    truncate_plainly(pg_migrated)
    runtime = Runtime.from_settings(settings, clock=FakeClock())
    yield runtime
    runtime.db.dispose()
