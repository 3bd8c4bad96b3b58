"""The alerts migrations (0010-0013) go forward and back on both backends, and matches the models."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from warroom import db as dbmod
from warroom.alerts import integrations, store
from warroom.alerts.models import Alert, Integration
from warroom.config import ConfigFile, normalize_database_url
from warroom.incidents.models import Incident
from warroom.models import Base

ALERT_TABLES = {"alert_integrations", "alerts", "alert_groups", "alert_silences", "maintenance_windows"}


@contextlib.contextmanager
def new_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (no statistics yet), dropped afterwards."""
    admin = os.environ.get("WARROOM_TEST_DATABASE_URL")
    if not admin:
        pytest.skip("PostgreSQL tests need WARROOM_TEST_DATABASE_URL")
    admin = normalize_database_url(admin)
    name = f"warroom_mig_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    with new_pg_database() as url:
        yield url


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(dbmod.table_names(engine))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url):
    dbmod.upgrade(empty_url)
    assert tables(empty_url) >= ALERT_TABLES
    # Down to the engine: the alerts revisions go, and with them every revision built on them (the status page's
    # maintenance links sit on 0014), so the count of steps is not the alerts' own: name the target instead.
    dbmod.downgrade(empty_url, "0002_engine")
    assert not ALERT_TABLES & tables(empty_url)
    assert "incidents" in tables(empty_url)
    dbmod.upgrade(empty_url)
    assert tables(empty_url) >= ALERT_TABLES


def test_models_match_the_migration(empty_url):
    dbmod.upgrade(empty_url)
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    ours = [d for d in diff if any(t in str(d) for t in ALERT_TABLES)]
    assert ours == []


def _seed_alerts(session: Session, integration_id: int, incident_ids: list[int], count: int = 3000) -> None:
    """`count` firing alerts spread over `incident_ids` (or linked to none), in a table never analysed."""
    now = datetime.now(UTC)
    rows = [
        {
            "integration_id": integration_id,
            "fingerprint": f"fp-{i:05d}",
            "status": "firing",
            "summary": "s",
            "severity": ("P1", "P3")[i // 100 % 2],
            "route": "default",
            "group_key": f"g{i % 50}",
            "incident_id": incident_ids[i % len(incident_ids)] if incident_ids else None,
            "labels": {"alertname": f"A{i}"},
            "annotations": {},
            "starts_at": now,
            "first_seen_at": now,
            "last_seen_at": now,
            "received": 1,
            "raw": {},
        }
        for i in range(count)
    ]
    session.execute(insert(Alert.__table__), rows)


@contextlib.contextmanager
def _alerts_session() -> Iterator[tuple[Session, Integration]]:
    """A session on a new, migrated PostgreSQL database (no statistics yet) with one integration."""
    with new_pg_database() as url:
        dbmod.upgrade(url)
        engine = dbmod.make_engine(url)
        try:
            with Session(engine) as session:
                integration, _ = integrations.create_integration(
                    session, name="am", type="alertmanager", created_by="tests", now=datetime.now(UTC)
                )
                yield session, integration
        finally:
            engine.dispose()


def _plans(session: Session, run: Callable[[], object]) -> list[str]:
    """EXPLAIN of each statement `run` sends, exactly as it was sent."""
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    connection = session.connection()
    return [
        "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())  # type: ignore[arg-type]
        for statement, parameters in sent
    ]


def test_postgresql_finds_alerts_by_fingerprint_before_it_has_statistics():
    """The intake's lookup (`integration_id = ? AND fingerprint = ANY(?)`) searches the unique key by fingerprint
    even in a new database whose alerts table grew faster than autovacuum analyses it. With the key led by
    integration_id the planner scanned every alert of the integration instead (11 ms a batch at 5,000 alerts)."""
    with _alerts_session() as (session, integration):
        _seed_alerts(session, integration.id, [])
        session.commit()
        keys = [(integration.id, "fp-00010"), (integration.id, "fp-02000")]
        found: list[store.AlertRow] = []
        [plan] = _plans(session, lambda: found.extend(store.load_by_keys(session, keys, postgres=True)))
        assert sorted(row.fingerprint for row in found) == ["fp-00010", "fp-02000"]
        session.rollback()
    assert "uq_alerts_fingerprint" in plan, plan
    assert "Filter" not in plan, plan


def test_postgresql_checks_resolved_incidents_without_reading_all_firing_alerts():
    """When alerts resolve, the intake asks per incident whether an alert of its severity still fires: an index
    probe per incident, whatever the statistics say. As EXISTS, PostgreSQL with statistics older than the rows
    hashed every firing alert instead (4-5 ms a batch at 5,000 alerts/s)."""
    with _alerts_session() as (session, integration):
        now = datetime.now(UTC)
        incident_rows = [
            {
                "title": f"Incident {i}",
                "severity": "P1" if i % 2 else "P2",
                "status": "triggered",
                "created_by": "tests",
                "started_at": now,
                "detected_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(30)
        ]
        numbers = list(session.scalars(insert(Incident.__table__).returning(Incident.id), incident_rows))
        _seed_alerts(session, integration.id, numbers)
        session.commit()
        names = tuple(ConfigFile().severity_table().names())
        highest: dict[int, str] = {}
        plans = _plans(session, lambda: highest.update(store.highest_firing(session, names, True, numbers[:4])))
        session.rollback()
    # Each incident has P1 and P3 alerts firing. Those at P1 are answered by the first statement; those at P2
    # (no P2 alert fires) by the second, which probes P0, P1, ... and finds P1.
    assert highest == {numbers[0]: "P1", numbers[1]: "P1", numbers[2]: "P1", numbers[3]: "P1"}
    assert len(plans) == 2
    for plan in plans:
        assert "ix_alerts_incident_id_status" in plan, plan
        assert "ix_alerts_status_id" not in plan and "hashed" not in plan, plan


def test_postgresql_writes_alert_changes_by_primary_key_in_one_statement():
    """The batch's changes go in one UPDATE ... FROM unnest(arrays) that finds its rows in the primary key of a
    table of 100,000 alerts never analysed (not by reading the table), and what is read back is what was
    written: JSON with quotes, backslashes and non-ASCII text, times, NULLs, columns left alone."""
    with _alerts_session() as (session, integration):
        _seed_alerts(session, integration.id, [])
        # Then as many again as a busy installation keeps (resolved alerts stay): 100,000 in all.
        session.execute(
            text(
                "INSERT INTO alerts (integration_id, fingerprint, status, summary, severity, route, group_key,"
                " labels, annotations, starts_at, first_seen_at, last_seen_at, received, raw)"
                " SELECT :integration, 'old-' || n, 'resolved', 's', 'P3', 'default', 'g', '{}', '{}',"
                " now(), now(), now(), 1, '{}' FROM generate_series(1, 97000) AS n"
            ),
            {"integration": integration.id},
        )
        session.commit()
        keys = [(integration.id, f"fp-{i:05d}") for i in range(0, 3000, 15)]  # a batch's 200 alerts
        rows = store.load_by_keys(session, keys, postgres=True)
        later = datetime(2026, 11, 23, 21, 0, 0, 123456, tzinfo=UTC)
        for number, row in enumerate(rows):
            row.received += number + 1
            row.last_seen_at = later
            row.labels = {"alertname": 'Disk "full"', "path": "C:\\data", "team": "équipe"}
            row.ends_at = None
        plans = _plans(session, lambda: store.write_rows(session, rows))
        session.commit()
        stored = {row.fingerprint: row for row in store.load_by_keys(session, keys, postgres=True)}
    assert len(plans) == 1
    assert "pk_alerts" in plans[0] and "Seq Scan on alerts" not in plans[0], plans[0]
    assert [stored[f"fp-{i:05d}"].received for i in (0, 15, 2985)] == [2, 3, 201]
    for row in stored.values():
        assert row.labels == {"alertname": 'Disk "full"', "path": "C:\\data", "team": "équipe"}
        assert row.last_seen_at == later
        assert row.ends_at is None
        assert row.summary == "s"  # columns no row changed are not written
