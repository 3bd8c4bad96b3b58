"""The scheduler's writes: check results, changed states and rollup increments stored as one batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.monitors.models import Monitor
from warroom.monitors.state import MonitorState


@dataclass(frozen=True)
class ResultRow:
    """One check's result, as the engine hands it to `write_batch`."""

    monitor_id: int
    at: datetime
    status: str
    latency_ms: float | None
    message: str
    details: dict[str, Any] | None


@dataclass(frozen=True)
class StateRow:
    """A monitor's state to store, with its last result."""

    monitor_id: int
    state: MonitorState
    last: ResultRow


@dataclass
class Rollup:
    """Counts to add to one (monitor, resolution, bucket)."""

    monitor_id: int
    resolution: str
    bucket: datetime
    checks: int = 0
    up: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0

    def add(self, ok: bool, latency_ms: float | None) -> None:
        """Count one result."""
        self.checks += 1
        self.up += 1 if ok else 0
        if latency_ms is not None:
            self.latency_sum_ms += latency_ms
            self.latency_max_ms = max(self.latency_max_ms, latency_ms)


def minute_of(at: datetime) -> datetime:
    """The minute bucket `at` falls in."""
    return at.replace(second=0, microsecond=0)


def day_of(at: datetime) -> datetime:
    """The UTC day bucket `at` falls in."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _sql_time(dialect: str) -> Any:
    """How a timestamp is bound on `dialect`, matching what UTCDateTime stores."""
    if dialect == "sqlite":
        return lambda at: None if at is None else at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda at: at


def _sql_json(dialect: str) -> Any:
    return lambda value: None if value is None else json.dumps(value, separators=(",", ":"), default=str)


_RESULTS_SQL = (
    "INSERT INTO monitor_results (monitor_id, at, status, latency_ms, message, details) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {j})"
)
_STATES_SQL = (
    "UPDATE monitors SET state = {p}, state_since = {p}, failures = {p}, successes = {p}, failing_since = {p}, "
    "alert_open = {p}, last_checked_at = {p}, last_status = {p}, last_message = {p}, last_latency_ms = {p} "
    "WHERE id = {p}"
)
_ROLLUPS_SQL = (
    "INSERT INTO monitor_rollups (monitor_id, resolution, bucket, checks, up, latency_sum_ms, latency_max_ms) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET "
    "checks = monitor_rollups.checks + excluded.checks, up = monitor_rollups.up + excluded.up, "
    "latency_sum_ms = monitor_rollups.latency_sum_ms + excluded.latency_sum_ms, "
    "latency_max_ms = {greatest}(monitor_rollups.latency_max_ms, excluded.latency_max_ms)"
)


def _live_monitor_ids(session: Session, ids: set[int]) -> set[int]:
    """Which of `ids` still exist, kept from being deleted until the caller's transaction ends.

    FOR KEY SHARE on PostgreSQL: a concurrent DELETE waits for this batch instead of slipping in between the
    check and the inserts (SQLite's writer already holds the database's write lock)."""
    if not ids:
        return set()
    query = select(Monitor.id).where(Monitor.id.in_(sorted(ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True, read=True)
    return set(session.scalars(query))


def write_batch(
    session: Session, results: Sequence[ResultRow], states: Sequence[StateRow], rollups: Sequence[Rollup]
) -> None:
    """Store a batch of results, the states that changed and rollup increments (one transaction, no commit).

    Plain DBAPI executemany, not the ORM: at 1,000 results a second the per-row Python of the ORM in the
    writer thread holds the GIL long enough to delay the checks on the event loop.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    when, as_json = _sql_time(dialect), _sql_json(dialect)
    sqlite_ = dialect == "sqlite"
    p = "?" if sqlite_ else "%s"
    # A monitor deleted since these rows were counted has no row for them to point at: its history went with
    # it. Writing them anyway failed the whole batch on the foreign key, and the retried batch failed again,
    # so no monitor's result or alert was stored until a restart.
    ids = {r.monitor_id for r in results} | {s.monitor_id for s in states} | {r.monitor_id for r in rollups}
    live = _live_monitor_ids(session, ids)
    if len(live) < len(ids):
        results = [r for r in results if r.monitor_id in live]
        states = [s for s in states if s.monitor_id in live]
        rollups = [r for r in rollups if r.monitor_id in live]
    if results:
        connection.exec_driver_sql(
            _RESULTS_SQL.format(p=p, j=p if sqlite_ else "%s::json"),
            [(r.monitor_id, when(r.at), r.status, r.latency_ms, r.message, as_json(r.details)) for r in results],
        )
    if states:
        connection.exec_driver_sql(
            _STATES_SQL.format(p=p),
            [
                (
                    s.state.state,
                    when(s.state.since),
                    s.state.failures,
                    s.state.successes,
                    when(s.state.failing_since),
                    s.state.alert_open,
                    when(s.last.at),
                    s.last.status,
                    s.last.message,
                    s.last.latency_ms,
                    s.monitor_id,
                )
                for s in states
            ],
        )
    if rollups:
        connection.exec_driver_sql(
            _ROLLUPS_SQL.format(p=p, greatest="max" if sqlite_ else "greatest"),
            [
                (r.monitor_id, r.resolution, when(r.bucket), r.checks, r.up, r.latency_sum_ms, r.latency_max_ms)
                for r in rollups
            ],
        )
