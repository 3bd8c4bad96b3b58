"""`warroom component`, `incident publish`, `incident update --public` and `maintenance announce` as a person
uses them, against a real server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from warroom.cli import app

runner = CliRunner()


@pytest.fixture
def cli(live_server, make_token, monkeypatch):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "alice"))

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stderr

    return run


@pytest.mark.backend("sqlite")
def test_tell_your_users_from_the_command_line(cli, make_incident, snapshot):
    make_incident(severity="P1", services=["checkout"], title="Internal: payments 502")
    published = cli("incident", "publish", "1", "--title", "Checkout is slow", "--components", "Checkout,Search")
    assert "#1 published as" in published and "Checkout is slow (Checkout, Search)" in published
    internal = cli("incident", "update", "1", "--status", "identified")  # without --public: internal only
    assert "identified" in internal and snapshot().incidents[0].status == "investigating"
    preview = cli("incident", "update", "1", "--status", "identified", "--use-template", "--dry-run")
    assert "Public update (not posted)" in preview and "INCIDENT UPDATE - " in preview
    assert snapshot().incidents[0].status == "investigating"
    no_text = cli("incident", "update", "1", "--status", "monitoring", "--public", "", code=1)
    assert "confirm the status's template" in no_text
    posted = cli("incident", "update", "1", "--status", "identified", "--public", "We found the cause.")
    assert "#1 public update posted: identified; next update due" in posted
    assert snapshot().incidents[0].updates[0].body == "We found the cause."
    shown = cli("component", "set", "Search", "--status", "partial_outage", "--reason", "Slow index", "--incident", "1")
    assert "Search: partial_outage (override by alice: Slow index)" in shown
    usage = cli("component", "set", "Search", code=2)
    assert "give --status with --reason, or --clear" in usage
    listed = json.loads(cli("component", "list", "--json"))
    assert [(c["name"], c["status"]) for c in listed] == [
        ("Checkout", "partial_outage"),
        ("Search", "partial_outage"),
        ("Database", "operational"),
    ]
    announced = cli(
        "maintenance",
        "announce",
        "--title",
        "Database upgrade",
        "--components",
        "Database",
        "--starts-in",
        "1h",
        "--duration",
        "30m",
    )
    assert "announced (Database)" in announced and "scheduled" in announced
    (item,) = json.loads(cli("maintenance", "announced", "--json"))
    assert (item["title"], item["status"], len(item["windows"])) == ("Database upgrade", "scheduled", 1)
