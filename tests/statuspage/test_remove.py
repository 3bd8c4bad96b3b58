"""Removing a component: over the API and the CLI (refused while an open public incident affects it), and what
happens at sync to a component taken out of warroom.yaml."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.statuspage.conftest import statuses
from warroom.auth.models import AuditEntry
from warroom.cli import app
from warroom.statuspage import components

runner = CliRunner()


def _publish(api, make_incident, title: str, names: list[str]) -> int:
    incident = make_incident(severity="P1", services=["checkout"])
    answer = api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": title, "components": names})
    assert answer.status_code == 201, answer.text
    return incident.id


def _resolve(api, number: int) -> None:
    answer = api.post(f"/api/v1/incidents/{number}/public-updates", json={"status": "resolved", "body": "Fixed."})
    assert answer.status_code in (200, 201), answer.text


def test_an_unused_component_is_deleted_and_audited(api, runtime, snapshot):
    assert api.delete("/api/v1/status/components/Search").status_code == 204
    assert list(statuses(snapshot())) == ["Checkout", "Database"]
    assert api.get("/api/v1/status/components/search").status_code == 404
    assert api.delete("/api/v1/status/components/Search").status_code == 404
    with runtime.db.session() as session:
        actions = [(e.action, e.target) for e in session.scalars(select(AuditEntry))]
    assert ("status.component.remove", "component:search") in actions


def test_deleting_a_component_an_open_public_incident_affects_is_refused_naming_it(api, make_incident, snapshot):
    number = _publish(api, make_incident, "Paying is slow", ["Checkout", "Search"])
    refused = api.delete("/api/v1/status/components/checkout")
    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert (
        error["field"] == "name" and f"incident {number}" in error["message"] and "Paying is slow" in error["message"]
    )
    assert "Checkout" in statuses(snapshot())
    _resolve(api, number)
    assert api.delete("/api/v1/status/components/checkout").status_code == 204
    snap = snapshot()
    assert "Checkout" not in statuses(snap)
    # The resolved incident stays in the history; it no longer lists the component.
    assert api.get("/status/history").status_code == 200


@pytest.mark.backend("sqlite")
def test_warroom_component_remove(live_server, make_token, monkeypatch, api, make_incident):
    monkeypatch.setenv("WARROOM_URL", live_server.url)
    monkeypatch.setenv("WARROOM_TOKEN", make_token("admin", "carol"))
    number = _publish(api, make_incident, "Search is down", ["Search"])
    refused = runner.invoke(app, ["component", "remove", "Search"])
    assert refused.exit_code == 1 and f"incident {number}" in refused.stderr and "Search is down" in refused.stderr
    removed = runner.invoke(app, ["component", "remove", "Database"])
    assert removed.exit_code == 0 and removed.stdout.strip() == "component Database removed", removed.stderr
    missing = runner.invoke(app, ["component", "remove", "Database"])
    assert missing.exit_code == 1
    monkeypatch.setenv("WARROOM_TOKEN", make_token("responder", "bob"))
    assert runner.invoke(app, ["component", "remove", "Search"]).exit_code == 1


def test_a_component_taken_out_of_the_file_goes_at_sync_unless_an_open_incident_holds_it(
    api, runtime, make_incident, snapshot, clock
):
    number = _publish(api, make_incident, "Paying is slow", ["Checkout"])
    api.post("/api/v1/status/components", json={"name": "Mobile app"})  # added over the API: not the file's
    settings = runtime.config.status_page
    fewer = settings.model_copy(update={"components": [c for c in settings.components if c.name == "Search"]})
    with runtime.db.transaction() as session:
        components.sync_config(session, fewer, clock.now())
    assert list(statuses(snapshot())) == ["Checkout", "Search", "Mobile app"]  # Database gone, Checkout held
    with runtime.db.transaction() as session:
        held = components.held_back(session, fewer)
    assert held == [("Checkout", [(number, "Paying is slow")])]
    _resolve(api, number)
    with runtime.db.transaction() as session:
        components.sync_config(session, fewer, clock.now())
        assert components.held_back(session, fewer) == []
    assert list(statuses(snapshot())) == ["Search", "Mobile app"]


def test_config_check_reports_a_component_kept_for_an_open_incident(api, runtime, make_incident, tmp_path, monkeypatch):
    import json

    number = _publish(api, make_incident, "Paying is slow", ["Checkout"])
    config = tmp_path / "warroom.yaml"
    config.write_text(
        "status_page:\n  name: Acme status\n  components:\n    - name: Search\n    - name: Database\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WARROOM_DATABASE_URL", runtime.db.url)
    checked = runner.invoke(app, ["config", "check", str(config), "--json"])
    assert checked.exit_code == 0, checked.stderr
    warnings = [w["message"] for w in json.loads(checked.stdout)["warnings"]]
    assert [w for w in warnings if "'Checkout'" in w and f"open public incident {number}" in w], warnings
    _resolve(api, number)
    again = json.loads(runner.invoke(app, ["config", "check", str(config), "--json"]).stdout)
    assert not [w for w in again["warnings"] if "Checkout" in w["message"]]
    # No database there: nothing to say, and no file is created.
    monkeypatch.setenv("WARROOM_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    assert json.loads(runner.invoke(app, ["config", "check", str(config), "--json"]).stdout)["ok"]
    assert not (tmp_path / "absent.db").exists()
