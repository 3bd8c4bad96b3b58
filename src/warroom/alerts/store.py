"""The intake's SQL, for SQLite and PostgreSQL: alert rows read and written without the ORM, inserts through
column arrays and `unnest`, the lock statements, and the index-probe queries the pipeline asks once per batch."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    Update,
    any_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from warroom.alerts.integrations import Source
from warroom.alerts.models import Alert, AlertGroup
from warroom.alerts.routing import Decision
from warroom.alerts.schemas import IncomingAlert
from warroom.db import ColumnArrays
from warroom.incidents.models import Incident


def one_of_param(column: Any, name: str, postgres: bool) -> ColumnElement[bool]:
    """`column IN (:name)`, the list given at execution; on PostgreSQL `column = ANY(:name)`: one statement text
    whatever the number of values, so psycopg prepares it once instead of the server planning each anew."""
    if postgres:
        return cast(ColumnElement[bool], column == any_(bindparam(name, type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(bindparam(name, expanding=True)))


# The statements every commit sends are built once: building one and finding its cache key cost more than
# running it through SQLAlchemy's compiled cache.


@functools.lru_cache(maxsize=2)
def lock_incidents_query(postgres: bool) -> Select[int, str, str]:
    return (
        select(Incident.id, Incident.status, Incident.severity)
        .where(one_of_param(Incident.id, "numbers", postgres))
        .order_by(Incident.id)
        .with_for_update()
    )


@functools.lru_cache(maxsize=2)
def lock_groups_query(postgres: bool) -> Select[str, int | None]:
    return (
        select(AlertGroup.group_key, AlertGroup.incident_id)
        .where(one_of_param(AlertGroup.group_key, "keys", postgres))
        .order_by(AlertGroup.group_key)
        .with_for_update()
    )


class IncidentState(Protocol):
    """What the intake reads of an incident: a locked row (below) or the ORM object."""

    @property
    def id(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def severity(self) -> str: ...


@dataclass
class LockedIncident:
    id: int
    status: str
    severity: str


@dataclass
class Group:
    key: str
    incident_id: int | None


ROW_COLUMNS = (
    "id",
    "integration_id",
    "fingerprint",
    "status",
    "summary",
    "severity",
    "service",
    "route",
    "group_key",
    "incident_id",
    "suppressed_by",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "resolved_at",
    "acknowledged_at",
    "last_seen_at",
    "received",
)


UNLOADED: Any = object()


class AlertRow:
    """An alert read with Core for the intake's hot path: no ORM bookkeeping per attribute. Assignments are
    recorded, and `write_rows` sends them back in one executemany."""

    __slots__ = (*ROW_COLUMNS, "raw", "generator_url", "first_seen_at", "changes")

    id: int
    integration_id: int
    fingerprint: str
    status: str
    summary: str
    severity: str
    service: str | None
    route: str
    group_key: str
    incident_id: int | None
    suppressed_by: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    last_seen_at: datetime
    received: int
    raw: dict[str, Any]  # this and the next two are read only for new alerts (UNLOADED otherwise)
    generator_url: str | None
    first_seen_at: datetime
    changes: dict[str, Any]

    def __init__(self, values: Any) -> None:
        for name in ROW_COLUMNS:
            object.__setattr__(self, name, values[name])
        for name in ("raw", "generator_url", "first_seen_at"):
            object.__setattr__(self, name, UNLOADED)
        object.__setattr__(self, "changes", {})

    def __setattr__(self, name: str, value: Any) -> None:
        current = getattr(self, name)
        if current is UNLOADED or current != value:
            object.__setattr__(self, name, value)
            self.changes[name] = value


def _rows_query(*conditions: Any, lock: bool, statuses: bool) -> Select[Any]:
    table = cast(Table, Alert.__table__)
    query: Select[Any] = select(*(table.c[name] for name in ROW_COLUMNS))
    if statuses:
        incidents_table = cast(Table, Incident.__table__)
        query = query.add_columns(incidents_table.c.status.label("incident_status")).outerjoin(
            incidents_table, incidents_table.c.id == table.c.incident_id
        )
    query = query.where(*conditions).order_by(table.c.fingerprint, table.c.integration_id)  # no sort on SQLite
    return query.with_for_update(of=table) if lock else query


def _read_rows(result: Any, statuses: dict[int, str] | None) -> list[AlertRow]:
    rows = []
    for values in result.mappings():
        row = AlertRow(values)
        if statuses is not None and row.incident_id is not None and values["incident_status"] is not None:
            statuses[row.incident_id] = values["incident_status"]
        rows.append(row)
    return rows


def load_rows(
    session: Session, *conditions: Any, lock: bool = True, statuses: dict[int, str] | None = None
) -> list[AlertRow]:
    """Alerts matching `conditions` as AlertRows (locked FOR UPDATE on PostgreSQL), in (fingerprint, integration)
    order so that two writers lock in the same order. With `statuses`, the status of each alert's incident is
    read in the same statement (not locked) and put there by incident number: one round trip fewer."""
    query = _rows_query(*conditions, lock=lock, statuses=statuses is not None)
    return _read_rows(session.execute(query), statuses)


@functools.lru_cache(maxsize=4)
def _rows_by_key_query(postgres: bool, statuses: bool) -> Select[Any]:
    table = cast(Table, Alert.__table__)
    return _rows_query(
        table.c.integration_id == bindparam("integration"),
        one_of_param(table.c.fingerprint, "fingerprints", postgres),
        lock=True,
        statuses=statuses,
    )


def load_by_keys(
    session: Session, keys: Sequence[tuple[int, str]], *, postgres: bool, statuses: dict[int, str] | None = None
) -> list[AlertRow]:
    """`load_rows` for sorted (integration, fingerprint) keys, in statements built once: `integration_id = ?
    AND fingerprint IN (...)`, at most 500 fingerprints at a time. SQLite scans the whole unique key for a
    row-value IN; this form searches it, by fingerprint first (the key's first column: see migration 0012)."""
    query = _rows_by_key_query(postgres, statuses is not None)
    rows: list[AlertRow] = []
    for integration_id, group in itertools.groupby(keys, key=lambda key: key[0]):
        fingerprints = [fingerprint for _, fingerprint in group]
        for start in range(0, len(fingerprints), 500):
            params = {"integration": integration_id, "fingerprints": fingerprints[start : start + 500]}
            rows.extend(_read_rows(session.execute(query, params), statuses))
    return rows


def write_rows(session: Session, rows: Sequence[AlertRow]) -> None:
    """Send the rows' recorded changes: one UPDATE of every column any row changed (on PostgreSQL one statement
    over column arrays, on SQLite an executemany), each row giving its current values for the ones it did not
    change (they are locked, so those are what is stored). A row that has not loaded such a column (`raw`) is
    written with its own set."""
    table = cast(Table, Alert.__table__)
    changed = [row for row in rows if row.changes]
    union = tuple(sorted({name for row in changed for name in row.changes}))
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in changed:
        columns = union if all(getattr(row, name) is not UNLOADED for name in union) else tuple(sorted(row.changes))
        params = {f"v_{name}": getattr(row, name) for name in columns}
        params["v_id"] = row.id
        shapes.setdefault(columns, []).append(params)
        row.changes.clear()
    postgres = session.get_bind().dialect.name == "postgresql"
    for columns, batch in shapes.items():
        if postgres:
            arrays, statement = _update_from_arrays(columns)
            session.execute(statement, arrays.params(batch, prefix="v_"))
            continue
        statement = (
            update(table)
            .where(table.c.id == bindparam("v_id"))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
        session.execute(statement, batch)


_INSERT_COLUMNS = tuple(name for name in (*ROW_COLUMNS, "generator_url", "first_seen_at", "raw") if name != "id")


_NEW_ALERTS = ColumnArrays(cast(Table, Alert.__table__), _INSERT_COLUMNS)


def insert_values(session: Session, rows: list[dict[str, Any]]) -> Iterator[tuple[int, int, str]]:
    """New alerts in multi-row INSERTs (SQLAlchemy's insertmanyvalues), skipping those another writer created.
    Returned rows are not asked for in parameter order: that made SQLAlchemy send one INSERT per row, since
    ON CONFLICT DO NOTHING may return fewer rows than it was given."""
    table = cast(Table, Alert.__table__)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
        .returning(table.c.id, table.c.integration_id, table.c.fingerprint)
    )
    for returned in session.execute(statement, rows):
        yield int(returned[0]), int(returned[1]), str(returned[2])


@functools.lru_cache(maxsize=64)
def _update_from_arrays(columns: tuple[str, ...]) -> tuple[ColumnArrays, Update]:
    """The batch's UPDATE for one set of changed columns: one statement, where an executemany runs it per row."""
    arrays = ColumnArrays(cast(Table, Alert.__table__), ("id", *columns))
    return arrays, arrays.update("id", prefix="v_")


NEXT_ALERT_IDS = select(func.nextval(func.pg_get_serial_sequence("alerts", "id"))).select_from(
    func.generate_series(1, bindparam("count"))
)


ALL_COLUMNS = ColumnArrays(cast(Table, Alert.__table__), ("id", *_INSERT_COLUMNS))


INSERT_PLACED_ALERTS = (
    ALL_COLUMNS.insert()
    .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
    .returning(Alert.__table__.c.id)
)


def insert_rows(session: Session, rows: Sequence[AlertRow]) -> int:
    """Insert new alerts as they now are (ids from the sequence); how many went in. Fewer than given: another
    writer created some of them after this batch looked."""
    values = [{name: getattr(row, name) for name in ALL_COLUMNS.columns} for row in rows]
    for row in rows:
        row.changes.clear()
    return len(session.execute(INSERT_PLACED_ALERTS, ALL_COLUMNS.params(values)).all())


_INSERT_NEW_ALERTS = (
    _NEW_ALERTS.insert()
    .on_conflict_do_nothing(index_elements=["integration_id", "fingerprint"])
    .returning(Alert.__table__.c.id, Alert.__table__.c.integration_id, Alert.__table__.c.fingerprint)
)


def insert_unnest(session: Session, rows: list[dict[str, Any]]) -> Iterator[tuple[int, int, str]]:
    """New alerts in one INSERT ... SELECT FROM unnest(column arrays), skipping those another writer created.

    One short statement whatever the number of rows, which psycopg parses once and PostgreSQL plans once. The
    multi-row VALUES form it replaces had a placeholder per value: at a few hundred new alerts per batch (the
    first minutes of a new integration) psycopg spent most of 35 ms splitting the statement's text. The arrays
    go in binary: as text, escaping the payloads cost as much again."""
    for returned in session.execute(_INSERT_NEW_ALERTS, _NEW_ALERTS.params(rows)):
        yield int(returned[0]), int(returned[1]), str(returned[2])


@functools.lru_cache(maxsize=1)
def acknowledged_query() -> Select[bool, bool]:
    """(any firing alert of the incident is acknowledged by its sender, any is not)."""

    def firing(acknowledged: bool) -> Any:
        column = Alert.acknowledged_at
        return (
            select(Alert.id)
            .where(
                Alert.incident_id == bindparam("incident"),
                Alert.status == "firing",
                Alert.suppressed_by.is_(None),
                column.is_not(None) if acknowledged else column.is_(None),
            )
            .exists()
        )

    return select(firing(True), firing(False))


@functools.lru_cache(maxsize=4)
def _highest_firing_queries(postgres: bool, names: tuple[str, ...]) -> tuple[Select[int, str, int, int], Any]:
    """`highest_firing`'s two statements: (incident, severity, any alert firing, one of that severity firing)
    and (incident, one probe per severity name, highest first)."""

    def firing_alert(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        # The ORDER BY changes no answer (suppressed_by is NULL in every row found). It is the order of the
        # (incident_id, status, suppressed_by, severity) index, so that index needs no sort and wins even
        # when the planner has no statistics, where it had picked the status index and filtered on incident.
        return (
            select(Alert.id)
            .where(
                Alert.incident_id == Incident.id, Alert.status == "firing", Alert.suppressed_by.is_(None), *conditions
            )
            .order_by(Alert.suppressed_by, Alert.severity)
            .limit(1)
            .scalar_subquery()
        )

    probes = select(
        Incident.id, Incident.severity, firing_alert(), firing_alert(Alert.severity == Incident.severity)
    ).where(one_of_param(Incident.id, "numbers", postgres))
    by_name = select(Incident.id, *(firing_alert(Alert.severity == name) for name in names)).where(
        one_of_param(Incident.id, "numbers", postgres)
    )
    return probes, by_name


def highest_firing(session: Session, names: tuple[str, ...], postgres: bool, numbers: list[int]) -> dict[int, str]:
    """The highest severity among each incident's alerts still firing; incidents with none are left out.

    Index probes (LIMIT 1 each), never a read of every firing alert: an incident's severity is the highest of
    its firing alerts (or a person's choice, which the caller keeps), so while one alert of that severity
    still fires that is the answer, and only an incident that lost its last one probes each severity from the
    highest down. Reading every firing alert's severity had cost PostgreSQL a heap visit per alert (and per
    dead version of one) on every batch, 5-6 ms of 30 under load, and without fresh statistics its planner
    also left the (incident, status) index for the status one, or hashed all firing alerts for an EXISTS."""
    session.flush()  # the incidents' severities as this transaction changed them
    probes, by_name = _highest_firing_queries(postgres, names)
    highest: dict[int, str] = {}
    lowered: list[int] = []
    for number, severity, any_firing, same_firing in session.execute(probes, {"numbers": numbers}):
        if same_firing is not None:
            highest[number] = severity
        elif any_firing is not None:
            lowered.append(number)
    if lowered:
        for incident_id, *found in session.execute(by_name, {"numbers": lowered}):
            # An alert whose severity is no longer in the table counts as the lowest (as in the pipeline's
            # `_valid_severity`).
            highest[cast(int, incident_id)] = next(
                (name for name, hit in zip(names, found, strict=True) if hit is not None), names[-1]
            )
    return highest


def summary_of(incoming: IncomingAlert) -> str:
    labels, annotations = incoming.labels, incoming.annotations
    text = (
        annotations.get("summary")
        or annotations.get("title")
        or annotations.get("message")
        or annotations.get("description")
        or labels.get("alertname")
        or ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        or "alert"
    )
    text = " ".join(text.split())
    return text[:297] + "..." if len(text) > 300 else text


def new_row(
    now: datetime, fingerprint: str, integration: Source, incoming: IncomingAlert, decision: Decision
) -> dict[str, Any]:
    """The columns of a new alert, as first stored."""
    # An acknowledge for an alert never seen is recorded like a resolve for one: stored, not firing.
    firing = incoming.status == "firing" and not incoming.acknowledge
    return {
        "integration_id": integration.id,
        "fingerprint": fingerprint,
        "status": "firing" if firing else "resolved",
        "summary": summary_of(incoming),
        "severity": decision.severity,
        "service": decision.service,
        "route": decision.route,
        "group_key": decision.group_key,
        "incident_id": None,
        "suppressed_by": None,
        "labels": incoming.labels,
        "annotations": incoming.annotations,
        "generator_url": incoming.generator_url,
        "starts_at": incoming.starts_at or now,
        "ends_at": None if firing else (incoming.ends_at or now),
        "first_seen_at": now,
        "last_seen_at": now,
        "resolved_at": None if firing else now,
        "acknowledged_at": None,
        "received": 0,
        "raw": incoming.raw,
    }
