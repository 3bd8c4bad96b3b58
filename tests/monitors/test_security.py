"""What an admin configures cannot read or change the server (issue 12 §5): log monitors read only under
`monitoring.log_folders` and never show whole lines, postgres queries only read, viewers never see a
monitor's URL query or body, and WARROOM_ALLOW_EXEC=false stops command monitors."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from warroom.config import ConfigFile
from warroom.monitors import service
from warroom.monitors.schemas import MonitorConfig

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "root:$y$j9T$s3cr3t-hash-4f9a:19000:0:99999:7:::"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """The one folder log monitors may read, with an application log in it."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "app.log").write_text("ERROR db timeout\n")
    return folder


@pytest.fixture
def shadow(tmp_path: Path) -> Path:
    """A file of the server no monitor may read."""
    path = tmp_path / "shadow"
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def allow_exec() -> bool:
    """WARROOM_ALLOW_EXEC for the test (parametrize to change)."""
    return True


@pytest.fixture
def touched(tmp_path: Path) -> Path:
    """A file the command monitor creates when it runs."""
    return tmp_path / "the-command-ran"


@pytest.fixture
def config(logs: Path, touched: Path, allow_exec: bool, monkeypatch: pytest.MonkeyPatch) -> ConfigFile:
    # Set before the runtime's Settings are read: the environment is how an operator sets it.
    monkeypatch.setenv("WARROOM_ALLOW_EXEC", "true" if allow_exec else "false")
    return ConfigFile.model_validate(
        {
            "monitoring": {"log_folders": [str(logs)], "sqlite_folders": [str(logs.parent / "dbs")]},
            "monitors": [{"name": "probe", "service": "ops", "type": "command", "command": ["touch", str(touched)]}],
        }
    )


def _sync(runtime: Any) -> None:
    with runtime.db.transaction() as session:
        service.sync_config(session, runtime.config.monitors, now=runtime.clock.now(), severities=["P2"])


def log_monitor(path: Path, **extra: Any) -> dict[str, Any]:
    return {"name": "app-log", "service": "app", "type": "log", "path": str(path), "pattern": "ERROR", **extra}


# -- log monitors -----------------------------------------------------------------------------------------------


def test_a_log_monitor_outside_the_log_folders_is_refused(api, logs, shadow):
    answer = api.post("/api/v1/monitors", json=log_monitor(shadow, pattern="(?P<line>.*)", group_by="line"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "path"
    assert "not under a folder of monitoring.log_folders" in answer.json()["detail"]
    link = logs / "shadow.log"
    link.symlink_to(shadow)
    answer = api.post("/api/v1/monitors", json=log_monitor(link))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "path"
    assert api.post("/api/v1/monitors", json=log_monitor(logs / "app.log")).status_code == 201
    moved = api.patch("/api/v1/monitors/app-log", json={"path": str(shadow)})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "path"


def test_a_file_swapped_for_a_link_is_not_read_when_a_responder_runs_it(api, client_for, logs, shadow):
    assert api.post("/api/v1/monitors", json=log_monitor(logs / "app.log", group_by=1, pattern="(.*)")).status_code
    (logs / "app.log").unlink()
    (logs / "app.log").symlink_to(shadow)
    answer = client_for("responder").post("/api/v1/monitors/app-log/run")
    assert answer.status_code == 200
    result = answer.json()
    assert result["status"] == "down" and "not under a folder of monitoring.log_folders" in result["message"]
    assert "s3cr3t" not in answer.text


def test_group_by_shows_counts_and_the_captured_value_never_whole_lines(api, client_for, logs):
    (logs / "app.log").write_text(f"{SECRET}\n" + "ERROR from 10.0.0.7 " + "x" * 200 + "\n")
    whole = log_monitor(logs / "app.log", name="whole", pattern="(?P<line>.+)", group_by="line")
    assert api.post("/api/v1/monitors", json=whole).status_code == 201
    result = client_for("responder").post("/api/v1/monitors/whole/run").json()
    assert result["status"] == "down"
    assert "s3cr3t" not in str(result) and "xxxx" not in str(result)
    assert result["message"].startswith("(whole line, not shown): 2 matching lines")
    ip = log_monitor(logs / "app.log", name="ip", pattern=r"ERROR from (?P<ip>\S+)", group_by="ip")
    assert api.post("/api/v1/monitors", json=ip).status_code == 201
    assert client_for("responder").post("/api/v1/monitors/ip/run").json()["message"].startswith("10.0.0.7: 1 ")
    rest = log_monitor(logs / "app.log", name="rest", pattern=r"^.(?P<rest>.*)", group_by="rest")
    assert api.post("/api/v1/monitors", json=rest).status_code == 201
    details = client_for("responder").post("/api/v1/monitors/rest/run").json()["details"]["groups"]
    assert all(len(key) <= 64 for key in details), "a captured value is cut to 64 characters"


# -- command monitors and the kill-switch --------------------------------------------------------------------------


@pytest.mark.parametrize("allow_exec", [False])
def test_allow_exec_false_stops_command_monitors(runtime, client_for, touched):
    _sync(runtime)
    result = client_for("responder").post("/api/v1/monitors/probe/run").json()
    assert result["message"] == "not run: command monitors are turned off on this server (WARROOM_ALLOW_EXEC=false)"
    assert not touched.exists()


def test_command_monitors_run_when_allowed(runtime, client_for, touched):
    _sync(runtime)
    assert client_for("responder").post("/api/v1/monitors/probe/run").json()["status"] == "up"
    assert touched.exists()


# -- postgres: read-only, one statement, a statement timeout ------------------------------------------------------


@pytest.fixture
def probe_table() -> Any:
    name = f"warroom_probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (x int)")
    yield name
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"DROP TABLE IF EXISTS {name}_new")


def _rows(table: str) -> int:
    with psycopg.connect(PG) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else -1


def _exists(table: str) -> bool:
    with psycopg.connect(PG) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def test_a_postgres_query_cannot_write(check, probe_table):
    writes = [
        f"CREATE TABLE {probe_table}_new (x int)",
        f"SELECT 1; CREATE TABLE {probe_table}_new (x int)",
        f"WITH t AS (INSERT INTO {probe_table} VALUES (1) RETURNING x) SELECT count(*) FROM t",
        f"select 1; insert into {probe_table} values (1)",
        f"COPY (SELECT 1) TO PROGRAM 'touch /tmp/{probe_table}'",
    ]
    for query in writes:
        outcome = check(type="postgres", url=PG, query=query)
        assert outcome.status == "down", (query, outcome.message)
    assert _rows(probe_table) == 0 and not _exists(f"{probe_table}_new")
    assert not Path(f"/tmp/{probe_table}").exists()


def test_a_postgres_query_runs_read_only_with_the_check_timeout(check):
    outcome = check(type="postgres", url=PG, query="SELECT current_setting('transaction_read_only')", timeout=3)
    assert outcome.message == "query returned 'on'"
    outcome = check(type="postgres", url=PG, query="SELECT current_setting('statement_timeout')", timeout=3)
    assert outcome.message == "query returned '3s'"
    turned_off = f"{PG}?options=-c%20default_transaction_read_only%3Doff"
    outcome = check(type="postgres", url=turned_off, query="SELECT current_setting('transaction_read_only')")
    assert outcome.message == "query returned 'on'", "the URL's own options cannot turn it off"


def test_a_query_that_does_not_read_is_refused_when_the_monitor_is_made(api):
    body = {"name": "db", "service": "s", "type": "postgres", "url": PG, "query": "-- hi\nCOPY x TO PROGRAM 'id'"}
    answer = api.post("/api/v1/monitors", json=body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "query"
    assert "one statement that reads" in answer.json()["detail"]
    body["query"] = "/* lag */ SELECT 1"
    assert api.post("/api/v1/monitors", json=body).status_code == 201


def test_a_config_query_that_does_not_read_names_the_line():
    from warroom.config import ConfigError, parse_config_text

    text = (
        "monitors:\n  - name: db\n    service: s\n    type: postgres\n    url: postgres://x/y\n"
        "    query: DROP TABLE t\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config_text(text)
    assert [str(p) for p in info.value.problems] == [
        "warroom.yaml:6: monitors.0.query: the query must be one statement that reads:"
        " it starts with one of select, with, values, table, show"
    ]


# -- what viewers see of an http monitor --------------------------------------------------------------------------


def test_viewers_never_see_url_query_secrets_headers_or_the_body(api, client_for, runtime):
    body = {
        "name": "partner",
        "service": "s",
        "type": "http",
        "method": "POST",
        "url": "https://partner.example/health?api_key=k3y-s3cr3t-9911&region=eu",
        "body": '{"password": "b0dy-s3cr3t"}',
        "headers": {"X-Partner-Signature": "hdr-s3cr3t-77", "Accept": "application/json"},
    }
    assert api.post("/api/v1/monitors", json=body).status_code == 201
    # A last result whose message quotes the URL (as some client errors do).
    with runtime.db.transaction() as session:
        monitor = service.get(session, "partner")
        monitor.last_message = f"InvalidURL: {body['url']}"
    for role in ("viewer", "responder"):
        reader = client_for(role)
        for answer in (reader.get("/api/v1/monitors"), reader.get("/api/v1/monitors/partner")):
            assert answer.status_code == 200
            assert "s3cr3t" not in answer.text, role
        spec = reader.get("/api/v1/monitors/partner").json()["spec"]
        assert spec["url"] == "https://partner.example/health?api_key=********&region=********"
        assert spec["body"] == "********"
        assert spec["headers"] == {"X-Partner-Signature": "********", "Accept": "********"}
    admin = api.get("/api/v1/monitors/partner").json()
    assert admin["spec"]["url"] == body["url"] and admin["spec"]["body"] == body["body"]
    assert admin["spec"]["headers"] == body["headers"]


def test_redaction_keeps_the_definition_valid():
    spec = MonitorConfig.model_validate(
        {"name": "a", "service": "s", "type": "http", "url": "https://h/x?token=abcd1234", "body": "b"}
    ).spec()
    masked = service.redact(spec)
    assert MonitorConfig.model_validate(masked).url == "https://h/x?token=********"


# -- sqlite monitors ----------------------------------------------------------------------------------------------


def test_a_sqlite_monitor_cannot_read_warroom_s_own_database(api, client_for, runtime, tmp_path):
    # The link-signing key lives in warroom's database: reading it would let anyone forge signed links.
    own = runtime.settings.resolved_database_url().removeprefix("sqlite:///")
    if not own.startswith("/"):
        own = str(tmp_path / "warroom.db")  # PostgreSQL run: any SQLite file outside the allowed folders
        sqlite3.connect(own).close()
    body = {"name": "db", "service": "s", "type": "sqlite", "path": own, "query": "SELECT count(*) FROM sqlite_master"}
    answer = api.post("/api/v1/monitors", json=body)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "path"
    assert "monitoring.sqlite_folders" in answer.json()["detail"]


def test_a_sqlite_file_swapped_for_a_link_is_not_opened(api, client_for, tmp_path):
    folder = tmp_path / "dbs"
    folder.mkdir()
    sqlite3.connect(folder / "app.db").close()
    body = {"name": "db", "service": "s", "type": "sqlite", "path": str(folder / "app.db")}
    assert api.post("/api/v1/monitors", json=body).status_code == 201
    secret = tmp_path / "secret.db"
    with sqlite3.connect(secret) as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
    (folder / "app.db").unlink()
    (folder / "app.db").symlink_to(secret)
    result = client_for("responder").post("/api/v1/monitors/db/run").json()
    assert result["status"] == "down" and "not under a folder of monitoring.sqlite_folders" in result["message"]
