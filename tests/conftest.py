"""Fixtures shared by every domain's tests: the database on both backends, a fake clock, the app, tokens."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from warroom import db as dbmod
from warroom.app import create_app
from warroom.auth import service as auth_service
from warroom.auth.actor import Actor, Role
from warroom.clock import FakeClock
from warroom.config import ConfigFile, Settings, normalize_database_url
from warroom.db import Base, Database, DatabaseTimeouts
from warroom.incidents import service as incidents
from warroom.incidents.models import Incident
from warroom.models import Base as _AllModels  # noqa: F401  (registers every table)
from warroom.runtime import Runtime

PG_ENV = "WARROOM_TEST_DATABASE_URL"
TEMPLATE_ENV = "WARROOM_TEST_SQLITE_TEMPLATE"
CONNECT_TIMEOUT_S = 60.0

# Fixtures shared by more than one domain's tests, kept in their own modules.
pytest_plugins = ["tests.slowdb"]


def _pg_admin_url() -> str | None:
    raw = os.environ.get(PG_ENV)
    return normalize_database_url(raw) if raw else None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (concurrent runs do not meet), dropped at the end."""
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (set by .ci/run)")
    name = f"warroom_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time).

    WARROOM_TEST_SQLITE_TEMPLATE names one migrated already: tests/mutations.py makes it once for its ~100
    pytest runs, except for a mutant planted in the migrations."""
    given = os.environ.get(TEMPLATE_ENV)
    if given:
        return Path(given)
    path = tmp_path_factory.mktemp("template") / "template.db"
    dbmod.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> str:
    """The run's PostgreSQL database, migrated once."""
    dbmod.upgrade(pg_url)
    return pg_url


_RESETS: dict[str, str] = {}


def _reset_statements(database: Database) -> str:
    """One round trip that empties every table (children first) and restarts every sequence at 1."""
    key = database.engine.url.render_as_string(hide_password=True)
    if key not in _RESETS:
        with database.engine.connect() as conn:
            sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
            restarts = [f"SELECT setval('\"{name}\"', 1, false)" for (name,) in sequences]
        deletes = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
        _RESETS[key] = "; ".join(deletes + restarts)
    return _RESETS[key]


def _truncate_all(database: Database) -> None:
    """Empty the PostgreSQL test database as a fresh one: no rows, ids from 1.

    DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE gives each of the ~50 tables new files
    (116 ms a test on an idle host, over 10 s once under CI load) where these deletes take 3 ms."""
    with database.engine.begin() as conn:
        # The reset between tests is not under test: never let warroom's own 10 s statement timeout fail it.
        conn.execute(text("SET LOCAL statement_timeout = '120s'"))
        conn.exec_driver_sql(_reset_statements(database))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backend(*names): run only on these backends (sqlite, postgresql)")


# The fuzz runs and the doc tours, which take a minute or more under CI (its log lists the 30 slowest), longest
# first. pytest-xdist hands out the first quarter of the tests round-robin in collection order, so moving these
# to the front starts them at once on every worker, alongside the short ones, instead of leaving one worker
# finishing a two-minute fuzz run at the end of an otherwise finished suite. Not the SIGKILL and multi-process
# tests: started together with these they met load spikes that broke their timing.
SLOW_FIRST = (
    "tests/fuzz/test_openapi.py::test_every_route_answers_as_documented_and_never_5xx[postgresql-admin]",
    "tests/docs/test_tours.py::test_tour_runs[README.md]",
    "tests/fuzz/test_openapi.py::test_every_route_answers_as_documented_and_never_5xx[sqlite-admin]",
    "tests/fuzz/",
    "tests/docs/test_tours.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: every other test keeps its place


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Each test that uses the database runs once per backend; @pytest.mark.backend("postgresql") narrows it
    # for behaviour that exists on one backend only (several engines, the SQLite engine lock).
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backend")
        names = list(marker.args) if marker else ["sqlite", "postgresql"]
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this run of the test."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on the current backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "warroom.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("pg_migrated"))


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def config() -> ConfigFile:
    """The warroom.yaml of the test (empty unless a test overrides this fixture)."""
    return ConfigFile()


@pytest.fixture
def runtime(database_url: str, backend: str, clock: FakeClock, config: ConfigFile, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on the test database with the fake clock."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    # Connecting is not under test here (tests/slowdb.py's runtime is for that): under CI load a new
    # PostgreSQL backend once took longer than warroom's 5 s connect timeout, failing a test's setup.
    database = Database(database_url, timeouts=DatabaseTimeouts(connect=CONNECT_TIMEOUT_S))
    if backend == "postgresql":
        _truncate_all(database)
    rt = Runtime(settings=settings, config=config, db=database, clock=clock)
    yield rt
    database.dispose()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    """The ASGI app."""
    return create_app(runtime)


@pytest.fixture
def make_token(runtime: Runtime) -> Callable[..., str]:
    """Create a token with a role and return its plaintext."""

    unnamed: dict[str, int] = {}

    def make(role: str = "admin", name: str | None = None) -> str:
        # Token names are unique: a test that makes several tokens of one role without naming them gets
        # admin-token, admin-token-2, ...
        if name is None:
            unnamed[role] = unnamed.get(role, 0) + 1
            name = f"{role}-token" if unnamed[role] == 1 else f"{role}-token-{unnamed[role]}"
        with runtime.db.transaction() as session:
            _, plaintext = auth_service.create_token(
                session, name=name, role=Role(role), created_by="tests", now=runtime.clock.now()
            )
        return plaintext

    return make


@pytest.fixture
def client_for(app: Any, make_token: Callable[..., str]) -> Iterator[Callable[..., TestClient]]:
    """An in-process HTTP client acting with a token of `role` (None: no token)."""
    clients: list[TestClient] = []

    def make(role: str | None = "admin", name: str | None = None) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        if role is not None:
            client.headers["Authorization"] = f"Bearer {make_token(role, name)}"
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_for: Callable[..., TestClient]) -> TestClient:
    """An admin client."""
    return client_for("admin", "alice")


@pytest.fixture
def actor() -> Actor:
    """A responder acting directly on the services."""
    return Actor(name="alice", role=Role.RESPONDER)


@pytest.fixture
def make_incident(runtime: Runtime, actor: Actor) -> Callable[..., Incident]:
    """Declare an incident through the service (committed)."""

    def make(severity: str = "P1", title: str = "Checkout API 502s", **kwargs: Any) -> Incident:
        with runtime.db.transaction() as session:
            incident = incidents.declare(
                session,
                title=title,
                severity=severity,
                severities=runtime.severities,
                actor=actor,
                now=runtime.clock.now(),
                **kwargs,
            )
        return incident

    return make


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread, for tests that need a real socket (the CLI)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    """The app on a real port."""
    with LiveServer(app) as server:
        yield server
