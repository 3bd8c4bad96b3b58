"""Migrations 0010_alerts and 0011 go forward and back on both backends, and matches the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from warroom import db as dbmod
from warroom.config import normalize_database_url
from warroom.models import Base

ALERT_TABLES = {"alert_integrations", "alerts", "alert_groups", "alert_silences", "maintenance_windows"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
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


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(dbmod.table_names(engine))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url):
    dbmod.upgrade(empty_url)
    assert tables(empty_url) >= ALERT_TABLES
    dbmod.downgrade(empty_url, "0011_alerts_incident_index@-2")  # both alerts revisions
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
