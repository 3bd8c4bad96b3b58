"""`postgres`, `redis` and `sqlite` checks against the machine's PostgreSQL, a redis-server of the tests' own
(started on a free loopback port by the `redis_url` fixture) and a file made here."""

from __future__ import annotations

import sqlite3

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def test_postgres_select_1(check):
    outcome = check(type="postgres", url=PG)
    assert (outcome.status, outcome.message) == ("up", "SELECT 1 ok")


def test_postgres_connections_in_use_threshold(check):
    query = "SELECT count(*)::float / current_setting('max_connections')::int FROM pg_stat_activity"
    assert check(type="postgres", url=PG, query=query, fail_if="> 0.9").status == "up"
    outcome = check(type="postgres", url=PG, query=query, fail_if="> 0")
    assert outcome.status == "down"
    assert outcome.message.startswith("query = ") and outcome.message.endswith("(> 0)")


def test_postgres_unreachable_is_down(check, closed_port):
    outcome = check(type="postgres", url=f"postgresql://postgres@127.0.0.1:{closed_port}/postgres", timeout=3)
    assert outcome.status == "down"
    assert "OperationalError" in outcome.message


def test_postgres_query_error_is_down_with_the_error(check):
    outcome = check(type="postgres", url=PG, query="SELECT * FROM no_such_table", fail_if="> 1")
    assert outcome.status == "down"
    assert "no_such_table" in outcome.message


def test_redis_ping(check, redis_url):
    outcome = check(type="redis", url=redis_url)
    assert (outcome.status, outcome.message) == ("up", "PONG")


def test_redis_info_field_threshold(check, redis_url):
    up = check(type="redis", url=redis_url, info_field="connected_clients", fail_if="> 100000")
    assert up.status == "up" and up.message.startswith("connected_clients = ")
    down = check(type="redis", url=redis_url, info_field="connected_clients", fail_if=">= 1")
    assert down.status == "down"
    missing = check(type="redis", url=redis_url, info_field="no_such_field", fail_if="> 1")
    assert missing.message == "INFO has no field 'no_such_field'"


def test_redis_down_port(check, closed_port):
    assert check(type="redis", url=f"redis://127.0.0.1:{closed_port}").status == "down"


def test_sqlite_opens_and_compares_a_query(check, tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE backups (ok INTEGER)")
        conn.executemany("INSERT INTO backups VALUES (?)", [(1,), (0,), (0,)])
    assert check(type="sqlite", path=str(path)).status == "up"
    outcome = check(type="sqlite", path=str(path), query="SELECT count(*) FROM backups WHERE ok = 0", fail_if="> 1")
    assert (outcome.status, outcome.message) == ("down", "query = 2 (> 1)")
    missing = check(type="sqlite", path=str(tmp_path / "nope.db"))
    assert missing.status == "down" and "does not exist" in missing.message
