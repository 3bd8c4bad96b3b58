"""The `warroom` command as a person uses it, against a real server on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import free_port
from warroom.cli import app

runner = CliRunner()


@pytest.fixture
def cli(live_server, make_token, monkeypatch, runtime):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "alice"))
    monkeypatch.setenv("WARROOM_DATABASE_URL", runtime.settings.resolved_database_url())

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stderr

    return run


def test_the_tour(cli):
    created = json.loads(
        cli(
            "incident",
            "declare",
            "--severity",
            "P1",
            "--title",
            "Checkout API 502s",
            "--service",
            "checkout",
            "--description",
            "5xx above 5%",
            "--json",
        )
    )
    assert created["number"] == 1
    assert "#1 [P1] Checkout API 502s — acknowledged" in cli("incident", "ack", "1")
    cli("incident", "update", "1", "--status", "identified", "--message", "Bad deploy of v2.3.1")
    cli("incident", "note", "1", "Rolled back")
    cli("incident", "update", "1", "--severity", "P0")
    cli("incident", "update", "1", "--commander", "bob")
    cli("incident", "resolve", "1", "--message", "Rollback complete, error rate at baseline")
    shown = json.loads(cli("incident", "show", "1", "--json"))
    assert shown["status"] == "resolved"
    assert shown["commander"] == "bob"
    assert [e["kind"] for e in shown["timeline"]] == [
        "declared",
        "paging_skipped",  # no policy on this installation: nobody paged, and the timeline says so
        "acknowledged",
        "status_changed",
        "note",
        "severity_changed",
        "commander_changed",
        "resolved",
    ]
    human = cli("incident", "show", "1")
    assert "Durations" in human and "Rolled back" in human
    assert "reopened" in json.dumps(json.loads(cli("incident", "reopen", "1", "--json"))["timeline"])


def test_list_with_filters(cli):
    cli("incident", "declare", "-s", "P1", "-t", "Checkout down", "--service", "checkout")
    cli("incident", "declare", "-s", "P3", "-t", "Slow search", "--service", "search")
    listed = json.loads(cli("incident", "list", "--status", "open", "--severity", "P0,P1", "--json"))
    assert [i["title"] for i in listed] == ["Checkout down"]
    assert "Slow search" in cli("incident", "list", "--service", "search")


def test_errors_are_one_line_and_nonzero(cli, monkeypatch):
    assert cli("incident", "show", "7", code=1).strip() == "error: No incident #7."
    err = cli("incident", "declare", "-s", "P9", "-t", "x", code=1)
    assert err.strip() == "error: Unknown severity 'P9': expected one of P0, P1, P2, P3, P4."
    cli("incident", "declare", "-s", "P2", "-t", "x")
    cli("incident", "resolve", "1")
    assert "reopen it first" in cli("incident", "ack", "1", code=1)
    assert cli("incident", "declare", "-s", "P2", "-t", "x", "--label", "novalue", code=2).count("\n") == 1
    monkeypatch.setenv("WARROOM_TOKEN", "wr_nope")
    assert "Invalid or revoked API token." in cli("incident", "list", code=1)
    monkeypatch.setenv("WARROOM_URL", f"http://127.0.0.1:{free_port()}")
    assert cli("incident", "list", code=1).startswith("error: cannot reach warroom")


def test_exports(cli):
    cli("incident", "declare", "-s", "P1", "-t", "Checkout | API 502s", "--service", "checkout")
    cli("incident", "resolve", "1", "--message", "fixed")
    markdown = cli("export", "incidents", "--format", "markdown")
    assert markdown.startswith("# Incidents\n")
    assert "| 1 | P1 | resolved | Checkout \\| API 502s | checkout |" in markdown
    assert "## #1 [P1] Checkout | API 502s" in markdown
    assert "**resolved** by alice — fixed" in markdown
    rows = list(csv.DictReader(io.StringIO(cli("export", "incidents", "--format", "csv"))))
    assert rows[0]["title"] == "Checkout | API 502s" and rows[0]["status"] == "resolved"
    assert float(rows[0]["time_to_resolve_s"]) == 0.0
    data = json.loads(cli("export", "incidents", "--format", "json"))
    assert [e["kind"] for e in data[0]["timeline"]] == [
        "declared",
        "paging_skipped",
        "acknowledged",  # implicit ack
        "resolved",
    ]
    assert "expected one of markdown, csv, json" in cli("export", "incidents", "--format", "xml", code=1)


def test_token_commands_work_on_the_database(cli, monkeypatch, live_server):
    created = json.loads(cli("token", "create", "--name", "bob", "--role", "viewer", "--json"))
    assert created["token"].startswith("wr_")
    assert "bob" in cli("token", "list")
    viewer = httpx.get(f"{live_server.url}/api/v1/incidents", headers={"Authorization": f"Bearer {created['token']}"})
    assert viewer.status_code == 200
    cli("token", "revoke", "bob")
    revoked = httpx.get(f"{live_server.url}/api/v1/incidents", headers={"Authorization": f"Bearer {created['token']}"})
    assert revoked.status_code == 401
    assert "Unknown role 'boss'" in cli("token", "create", "--name", "x", "--role", "boss", code=1)


def test_audit_needs_admin(cli, monkeypatch, make_token):
    assert "needs the admin role" in cli("audit", code=1)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "root"))
    cli("incident", "declare", "-s", "P2", "-t", "x")
    assert json.loads(cli("audit", "--json"))[0]["action"] == "incident.declare"


def test_serve_first_start_writes_an_admin_token(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "WARROOM_DATA_DIR": str(tmp_path / "data"), "WARROOM_PORT": str(port)}
    env.pop("WARROOM_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token_file = tmp_path / "data" / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"name": "admin", "role": "admin"}
        assert (tmp_path / "data" / "warroom.db").exists()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert str(tmp_path / "data" / "admin-token") in output


def test_engine_command_refuses_a_second_engine_on_sqlite(tmp_path: Path):
    from warroom.engine.worker import Engine
    from warroom.server import prepare

    env_data = tmp_path / "data"
    from warroom.config import Settings

    runtime = prepare(Settings(data_dir=env_data))
    first = Engine(runtime)
    first.start()
    try:
        env = {**os.environ, "WARROOM_DATA_DIR": str(env_data)}
        env.pop("WARROOM_DATABASE_URL", None)
        second = subprocess.run(
            [sys.executable, "-m", "warroom", "engine"], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        first.stop()
    assert second.returncode == 1
    assert "SQLite allows one engine" in second.stderr


def test_serve_with_two_workers_answers_and_runs_one_engine(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "WARROOM_DATA_DIR": str(tmp_path / "data"), "WARROOM_PORT": str(port)}
    env.pop("WARROOM_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(6):
            created = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/incidents", headers=headers, json={"title": f"t{n}", "severity": "P3"}
            )
            assert created.status_code == 201
        time.sleep(1)  # let both workers finish starting (one takes the engine lock)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert output.count("engine started") == 1, output
    assert "engine runs in another worker" in output
