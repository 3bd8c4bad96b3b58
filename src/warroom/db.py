"""Database access: one SQLAlchemy engine per process, SQLite tuned for one writer, PostgreSQL for many."""

from __future__ import annotations

import functools
import heapq
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    Update,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from warroom.clock import as_utc
from warroom.dbstall import StallWatch

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; the naming convention keeps migrations identical on both backends."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass aware UTC")
        aware = as_utc(value)
        # SQLite keeps text; a fixed naive-UTC form sorts and compares correctly.
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long (seconds) the database may take before warroom treats it as unavailable and says so (a 503 the
    sender retries) instead of hanging: a slow database is an unavailable one."""

    connect: float = 5.0  # opening a connection (PostgreSQL connect_timeout; psycopg counts at least 2 s)
    statement: float = 10.0  # one statement (PostgreSQL statement_timeout); also the intake's wait for its commit
    lock: float = 5.0  # waiting for a lock (PostgreSQL lock_timeout, SQLite busy_timeout)


def is_sqlite(url: str) -> bool:
    """True for SQLite URLs."""
    return url.startswith("sqlite")


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other backends and in-memory databases)."""
    if not is_sqlite(url) or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def make_private_dir(path: Path) -> None:
    """Create the folder (and missing parents) with only its owner allowed in, whatever the umask.

    Only the folder itself is made private: its parents are the operator's (a home folder, /var/lib). An existing
    folder is left as it is; `warroom serve` warns when it is open to others."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def create_private_database(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only, before SQLite opens it.

    SQLite creates the WAL and shared-memory files with the mode of the database file, so they are 0600 too;
    left to SQLite, all three would be 0644 under the usual umask and any local user could read every token
    hash, contact URL and the link-signing key."""
    make_private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
    os.chmod(path, PRIVATE_FILE_MODE)  # O_CREAT's mode is filtered by the umask too


# How durable a SQLite commit is (WARROOM_SQLITE_SYNCHRONOUS). In WAL mode NORMAL syncs the log only at
# checkpoints: a commit survives a crash of the process, but the last ones can be lost if the machine loses
# power or the OS crashes. FULL syncs the log at every commit (about 9x fewer single-row commits per second
# here): nothing that was answered 2xx is lost on power loss either.
SQLITE_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


def _sqlite_on_connect(synchronous: str, busy_ms: int) -> Callable[[sqlite3.Connection, Any], None]:
    pragma = SQLITE_SYNCHRONOUS[synchronous]  # a KeyError here is a programming error: Settings validated it

    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level so that we emit BEGIN ourselves (see _ProcessWriteLock.on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={pragma}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def dump_json(value: Any) -> str:
    """JSON columns' text, by orjson: alert payloads, labels and timeline data are written thousands of times
    a second by the intake. Non-string keys become strings, as the json module does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_HOLDS_WRITE_LOCK = "warroom_holds_write_lock"


class _ProcessWriteLock:
    """Write transactions of one process queue here before BEGIN IMMEDIATE.

    SQLite's busy handler sleeps between retries (1, 2, 5, 10, 15, 20, 25... ms), so a thread that finds the
    database locked by another thread of the same process (the intake writer behind an engine pass) waited
    up to tens of milliseconds after the lock was free. A Python lock wakes the next writer at once. Other
    processes (the CLI, other workers) still meet SQLite's own lock and busy timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()

    def on_begin(self, conn: Any) -> None:
        # A write transaction takes the write lock up front (BEGIN IMMEDIATE): two requests that read then
        # write the same incident are serialised instead of one failing with "database is locked" midway.
        if not conn.get_execution_options().get("warroom_write"):
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info  # the pool record's: what on_checkin sees as record.info
        acquired = False
        if not info.get(_HOLDS_WRITE_LOCK):
            # Bounded like SQLite's own busy timeout: a write session opened inside another in the same thread
            # fails as it would without this lock instead of waiting forever.
            if not self._lock.acquire(timeout=self.timeout):
                raise sqlite3.OperationalError("database is locked (another write transaction of this process)")
            info[_HOLDS_WRITE_LOCK] = acquired = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if acquired:
                info.pop(_HOLDS_WRITE_LOCK, None)
                self._lock.release()
            raise

    @property
    def held(self) -> bool:
        """Whether a write transaction of this process holds the lock now."""
        return self._lock.locked()

    def on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        # A session hands its connection back right after COMMIT or ROLLBACK (and on close).
        if record is not None and record.info.pop(_HOLDS_WRITE_LOCK, False):
            self._lock.release()


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, _ProcessWriteLock] = weakref.WeakKeyDictionary()


def process_write_lock(engine: Engine) -> _ProcessWriteLock | None:
    """The lock this process's SQLite write transactions queue on (None for PostgreSQL)."""
    return _WRITE_LOCKS.get(engine)


def make_engine(
    url: str, *, pool_size: int = 10, sqlite_synchronous: str = "normal", timeouts: DatabaseTimeouts | None = None
) -> Engine:
    """An engine for `url` with our SQLite pragmas (`sqlite_synchronous`: normal or full) or PostgreSQL pool
    settings, and `timeouts` on every connection."""
    timeouts = timeouts or DatabaseTimeouts()
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            create_private_database(path)
        engine = create_engine(
            url,
            json_serializer=dump_json,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": timeouts.lock},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_timeout=timeouts.statement,
        )
        write_lock = _WRITE_LOCKS[engine] = _ProcessWriteLock(timeout=timeouts.lock)
        event.listen(engine, "connect", _sqlite_on_connect(sqlite_synchronous, round(timeouts.lock * 1000)))
        event.listen(engine, "begin", write_lock.on_begin)
        event.listen(engine, "checkin", write_lock.on_checkin)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        # Waiting for a free pooled connection is waiting for the database too.
        pool_timeout=timeouts.statement,
        json_serializer=dump_json,
        json_deserializer=orjson.loads,
        # psycopg enforces this itself for the whole handshake, so a server that accepts the TCP connection and
        # then never answers (frozen, overloaded) fails the connect too.
        connect_args={"connect_timeout": max(1, math.ceil(timeouts.connect))},
    )
    event.listen(engine, "connect", functools.partial(_postgres_on_connect, timeouts))
    StallWatch(statement=timeouts.statement, connect=timeouts.connect).install(engine.dialect)
    return engine


class BinaryArray(list[Any]):
    """A list that psycopg sends to PostgreSQL as a binary array (for `unnest(CAST(:param AS type[]))`).

    As text, psycopg quotes and escapes each element in Python: about 30 us per alert payload, 18 ms for
    three columns of 200 alerts, against 0.1 ms in binary. Its elements must all be of one type (None aside)."""


class ColumnArrays:
    """Many rows of one table sent to PostgreSQL as one array per column, for statements that read them with
    unnest(): one short statement for any number of rows, which psycopg parses once, PostgreSQL plans once,
    and whose arrays go in binary. An executemany runs its statement once per row; a multi-row VALUES has a
    placeholder per value, so each batch size is a new statement to split and parse.

    JSON columns travel as text and are cast back; timestamps are made aware UTC, as UTCDateTime does."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._json = {name for name in self.columns if isinstance(table.c[name].type, JSON)}
        self._times = {name for name in self.columns if isinstance(table.c[name].type, (UTCDateTime, DateTime))}

    def _array_type(self, name: str) -> Any:
        if name in self._json:
            return ARRAY(Text)
        if name in self._times:
            return ARRAY(DateTime(timezone=True))
        column_type = self.table.c[name].type
        # Strings as text[]: an explicit cast to varchar(n)[] would cut long values silently, where the
        # INSERT's own conversion refuses them, as a plain INSERT does.
        return ARRAY(Text) if isinstance(column_type, String) else ARRAY(column_type)

    def source(self, prefix: str = "") -> Any:
        """unnest(CAST(:<prefix><column> AS type[]), ...) AS anon(<columns>, n), n the row's position."""
        arrays = func.unnest(*(cast(bindparam(prefix + name), self._array_type(name)) for name in self.columns))
        return arrays.table_valued(*self.columns, with_ordinality="n").render_derived(with_types=False)

    def value(self, source: Any, name: str) -> Any:
        """The source's column as the table's type (JSON text cast back to JSON)."""
        return cast(source.c[name], JSON) if name in self._json else source.c[name]

    def params(self, rows: Sequence[Mapping[str, Any]], prefix: str = "") -> dict[str, BinaryArray]:
        """Rows (keys: `prefix` + column) as one binary array per column."""
        arrays: dict[str, BinaryArray] = {}
        for name in self.columns:
            key = prefix + name
            if name in self._json:
                arrays[key] = BinaryArray(dump_json(row[key]) for row in rows)
            elif name in self._times:
                arrays[key] = BinaryArray(None if row[key] is None else as_utc(row[key]) for row in rows)
            else:
                arrays[key] = BinaryArray(row[key] for row in rows)
        return arrays

    def insert(self) -> postgresql.Insert:
        """INSERT INTO table (columns) SELECT ... FROM the arrays, in the rows' order (ids follow it)."""
        source = self.source()
        picked = select(*(self.value(source, name) for name in self.columns)).order_by(source.c.n)
        return postgresql.insert(self.table).from_select(list(self.columns), picked)

    def update(self, key: str, prefix: str) -> Update:
        """UPDATE table SET <the other columns> FROM the arrays WHERE table.<key> = the array's <key>.

        The keys go a second time, as `key = ANY(...)`: joined with the arrays alone, the planner read all
        of a table of a few thousand rows (sequential scan, hash join); this tells it how few rows change."""
        source = self.source(prefix)
        column = self.table.c[key]
        by_key = column == any_(cast(bindparam(prefix + key), self._array_type(key)))
        values = {name: self.value(source, name) for name in self.columns if name != key}
        return update(self.table).where(by_key, column == source.c[key]).values(values)


def _postgres_on_connect(timeouts: DatabaseTimeouts, dbapi_connection: Any, _record: Any) -> None:
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(BinaryArray, ListBinaryDumper)
    # Session defaults, committed: a SET inside a transaction that the pool's reset rolls back would be undone.
    # statement_timeout also bounds lock waits; lock_timeout gives up on a lock sooner (a migration, a VACUUM FULL).
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {round(timeouts.statement * 1000)}")
        cursor.execute(f"SET lock_timeout = {round(timeouts.lock * 1000)}")
    dbapi_connection.commit()


class Database:
    """The engine plus the two kinds of sessions: plain (reads) and write (takes the write lock on SQLite)."""

    def __init__(
        self,
        url: str,
        *,
        engine: Engine | None = None,
        pool_size: int = 10,
        sqlite_synchronous: str = "normal",
        timeouts: DatabaseTimeouts | None = None,
    ) -> None:
        self.url = url
        self.timeouts = timeouts or DatabaseTimeouts()
        self.engine = engine or make_engine(
            url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous, timeouts=self.timeouts
        )
        self._ping_lock = threading.Lock()
        self._ping: _Ping | None = None
        # Shared with every session (session.info): the runtime puts itself here so that domain hooks
        # reached from a service function can find the clock and config without a global.
        self.session_info: dict[str, Any] = {}
        self._reads = sessionmaker(bind=self.engine, expire_on_commit=False, info=self.session_info)
        self._writes = sessionmaker(
            bind=self.engine.execution_options(warroom_write=True), expire_on_commit=False, info=self.session_info
        )

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite (one writer, one engine process)."""
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        """A session for reading (it may write, but takes no lock up front)."""
        return self._reads()

    def write_session(self) -> Session:
        """A session for a change: BEGIN IMMEDIATE on SQLite; rows are locked with FOR UPDATE on PostgreSQL."""
        return self._writes()

    def listen_sessions(self, name: str, listener: Callable[..., Any]) -> None:
        """Run `listener` on the session event `name` (after_flush, before_commit...) of every session of this
        database, reading and writing alike; other databases of the process (tests) are left alone."""
        for maker in (self._reads, self._writes):
            event.listen(maker, name, listener)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session that commits on success and rolls back on error."""
        session = self.write_session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self, timeout: float | None = None) -> bool:
        """True when the database answers a trivial query (within `timeout` seconds, when given).

        With a timeout the query runs in its own thread, and at most one runs at a time: while the database does
        not answer, every caller gets False within `timeout`, and the probes of a load balancer do not pile up
        threads and connections behind the one that is stuck (it finishes when the database answers again)."""
        if timeout is None:
            return self._answers()
        with self._ping_lock:
            ping = self._ping
            if ping is None or ping.finished.is_set():
                ping = self._ping = _Ping(self._answers)
        return ping.result(timeout)

    def _answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except (OperationalError, SAOperationalError, OSError):
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


class _Ping:
    """One ping running in a daemon thread (never joined at exit: it may be waiting on a frozen database)."""

    def __init__(self, answers: Callable[[], bool]) -> None:
        self.started = time.monotonic()
        self.finished = threading.Event()
        self.ok = False
        self._answers = answers
        threading.Thread(target=self._run, name="warroom-ping", daemon=True).start()

    def _run(self) -> None:
        try:
            self.ok = self._answers()
        finally:
            self.finished.set()

    def result(self, timeout: float) -> bool:
        """The answer, or False when it has not come `timeout` seconds after this ping started."""
        remaining = self.started + timeout - time.monotonic()
        return self.finished.wait(max(remaining, 0.0)) and self.ok


def migrations_dir() -> Path:
    """Where the Alembic scripts live inside the package."""
    return Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Any:
    """An Alembic Config pointing at our scripts and `url`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _alembic(url: str, action: Callable[[Any], None]) -> None:
    """Run an Alembic command on one connection (our SQLite pragmas apply to it)."""
    engine = make_engine(url) if is_sqlite(url) else create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            action(cfg)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply pending migrations (every domain's branch) to the database at `url`."""
    from alembic import command

    _alembic(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str = "base") -> None:
    """Undo migrations down to `revision`."""
    from alembic import command

    _alembic(url, lambda cfg: command.downgrade(cfg, revision))


def migration_status(url: str) -> list[tuple[str, bool, str]]:
    """Every migration in the order it applies (oldest first): (revision, applied, its one-line description)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    path = sqlite_path(url)
    if path is not None:
        # Opening it would create the file with the umask's mode: `db upgrade` asks for the status first.
        create_private_database(path)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    applied: set[str] = set()
    for head in current:
        applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    # Each migration after the ones it needs, and among those free to go next the lowest id first: the domains'
    # branches interleave by their numbers (0010_alerts before 0040_runbooks) instead of one branch at a time.
    revisions = {rev.revision: rev for rev in script.walk_revisions()}
    needs = {name: {d for d in _down_revisions(rev) if d in revisions} for name, rev in revisions.items()}
    ready = [name for name, down in needs.items() if not down]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(name)
        for other, down in needs.items():
            if name in down:
                down.discard(name)
                if not down:
                    heapq.heappush(ready, other)
    return [(name, name in applied, revisions[name].doc or "") for name in ordered]


def _down_revisions(rev: Any) -> tuple[str, ...]:
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def pending_migrations(url: str) -> list[str]:
    """Revisions not yet applied to the database at `url`, in the order they will apply."""
    return [revision for revision, applied, _doc in migration_status(url) if not applied]


def table_names(engine: Engine) -> list[str]:
    """Tables present in the database (for the readiness check and tests)."""
    return inspect(engine).get_table_names()
