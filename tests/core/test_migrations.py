"""Migrations upgrade an empty database on both backends, go back down, and match the models."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from warroom import db as dbmod
from warroom.config import normalize_database_url
from warroom.models import Base


@pytest.fixture
def empty_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    raw = os.environ.get("WARROOM_TEST_DATABASE_URL")
    if not raw:
        pytest.skip("PostgreSQL tests need WARROOM_TEST_DATABASE_URL (set by .ci/run)")
    admin = create_engine(normalize_database_url(raw), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"warroom_m_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(normalize_database_url(raw)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_an_empty_database_then_down_and_up_again(empty_url):
    dbmod.upgrade(empty_url)
    engine = create_engine(empty_url, poolclass=NullPool)
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= set(inspect(engine).get_table_names())
    assert dbmod.pending_migrations(empty_url) == []
    dbmod.downgrade(empty_url, "base")
    assert set(inspect(engine).get_table_names()) & expected == set()
    dbmod.upgrade(empty_url)
    assert expected <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(empty_url):
    dbmod.upgrade(empty_url)
    engine = create_engine(empty_url, poolclass=NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; generate a migration: {diff}"


def test_unique_token_names_migration_renames_later_duplicates_and_goes_back(empty_url):
    dbmod.upgrade(empty_url, "0002_engine")
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for index, name in enumerate(["ci", "deploy", "ci", "ci", "ci-4"], start=1):
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (id, name, role, lookup, token_hash, created_at, created_by) "
                        "VALUES (:id, :name, 'viewer', :lookup, 'h', '2026-01-01 00:00:00', 'tests')"
                    ),
                    {"id": index, "name": name, "lookup": f"lk{index}"},
                )
        dbmod.upgrade(empty_url, "0003_auth_unique_token_names")
        with engine.connect() as conn:
            names = [r[0] for r in conn.execute(text("SELECT name FROM api_tokens ORDER BY id"))]
        # The oldest keeps its name; later ones get their id, and another suffix if that is taken too.
        assert names == ["ci", "deploy", "ci-3", "ci-4-2", "ci-4"]
        dbmod.downgrade(empty_url, "0002_engine")
        dbmod.upgrade(empty_url)
        assert dbmod.pending_migrations(empty_url) == []
    finally:
        engine.dispose()
