"""The CLI against a real server: integration, alert, route, silence and maintenance commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from warroom.cli import app
from warroom.config import parse_config_text


@pytest.fixture
def config():
    return parse_config_text(
        """
routes:
  - name: db
    match: ['service=~"db|postgres"']
    service: database
    policy: dba
"""
    )


@pytest.fixture
def warroom(live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "alice"))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_integration_lifecycle(warroom):
    created = json.loads(warroom("integration", "create", "--name", "prod-am", "--type", "alertmanager", "--json"))
    assert len(created["key"]) == 32
    assert "key:" in warroom("integration", "create", "--name", "hook", "--type", "generic", "--map", "title=msg")
    listed = json.loads(warroom("integration", "list", "--json"))
    assert [i["name"] for i in listed] == ["hook", "prod-am"]
    assert created["key"] not in warroom("integration", "list")
    assert json.loads(warroom("integration", "show", "hook", "--json"))["mapping"] == {"title": "msg"}
    rotated = json.loads(warroom("integration", "rotate", "prod-am", "--json"))
    assert rotated["key"] != created["key"]
    assert "revoked integration prod-am" in warroom("integration", "revoke", "prod-am")
    error = warroom("integration", "create", "--name", "x", "--type", "nagios", code=1)
    assert "Unknown integration type 'nagios'" in error


def test_alert_send_and_list(warroom):
    warroom("integration", "create", "--name", "manual", "--type", "generic")
    out = warroom(
        "alert",
        "send",
        "--integration",
        "manual",
        "--label",
        "alertname=Test",
        "--label",
        "severity=critical",
        "--label",
        "service=postgres",
        "--annotation",
        "summary=Replication lag",
    )
    assert "incident #1" in out
    alerts = json.loads(warroom("alert", "list", "--status", "firing", "--json"))
    assert [(a["summary"], a["severity"], a["service"]) for a in alerts] == [("Replication lag", "P1", "database")]
    assert "Replication lag" in warroom("alert", "list")
    resolved = warroom(
        "alert",
        "send",
        "--integration",
        "manual",
        "--label",
        "alertname=Test",
        "--label",
        "severity=critical",
        "--label",
        "service=postgres",
        "--resolved",
        "--json",
    )
    assert json.loads(resolved)["alerts"][0]["action"] == "resolved"
    assert json.loads(warroom("alert", "show", "1", "--json"))["status"] == "resolved"
    assert "give at least one --label" in warroom("alert", "send", "--integration", "manual", code=2)


def test_route_test_prints_the_route_and_why(warroom):
    out = warroom("route", "test", "--labels", "alertname=X,service=postgres")
    assert "✓ db" in out
    assert "route: db" in out and "service: database" in out and "policy: dba" in out
    missed = json.loads(warroom("route", "test", "--labels", "alertname=X,service=api", "--json"))
    assert missed["route"] == "default"
    assert missed["routes"][0]["reasons"] == ["service=~\"db|postgres\" does not match (service='api')"]
    assert "db" in warroom("route", "list")


def test_silence_add_list_expire(warroom):
    out = warroom(
        "silence",
        "add",
        "--match",
        "alertname=DiskFull",
        "--match",
        'env=~"stag.*"',
        "--duration",
        "2h",
        "--comment",
        "disk migration",
    )
    assert out.startswith("silence 1 until")
    [listed] = json.loads(warroom("silence", "list", "--json"))
    assert listed["matchers"] == ['alertname="DiskFull"', 'env=~"stag.*"'] and listed["state"] == "active"
    assert "silence 1 expired" in warroom("silence", "expire", "1")
    assert json.loads(warroom("silence", "list", "--json")) == []
    assert "Invalid regular expression" in warroom("silence", "add", "--match", 'env=~"("', code=1)


def test_maintenance_add_list_cancel(warroom):
    out = warroom(
        "maintenance",
        "add",
        "--service",
        "checkout",
        "--start",
        "2026-01-05T10:00:00Z",
        "--duration",
        "2h",
        "--weekly",
        "--comment",
        "patching",
    )
    assert "maintenance 1 for checkout weekly" in out
    [window] = json.loads(warroom("maintenance", "list", "--service", "checkout", "--json"))
    assert window["weekly"] is True and window["active"] is False
    assert "maintenance 1 cancelled" in warroom("maintenance", "cancel", "1")
    assert json.loads(warroom("maintenance", "list", "--json")) == []
