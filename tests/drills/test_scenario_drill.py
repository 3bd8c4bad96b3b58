"""A scenario drill end to end: a real local service broken, the alert injected through the real intake, the
page (marked DRILL) delivered to a real local webhook, acknowledged by its link, the runbook repairing the
service, the report."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.drills.conftest import drill_config
from warroom.config import ConfigFile

SCENARIO: dict[str, Any] = {
    "name": "shop-down",
    "services": ["shop"],
    "alerts": [{"labels": {"alertname": "ShopDown", "service": "shop", "severity": "P2"}}],
    "runbook": "shop-down",
    "policy": "shop",
    "targets": {"detect": "1m", "acknowledge": "5m", "recover": "30m"},
    "timeout": "1h",
}


@pytest.fixture
def config(webhook, shop, tmp_path) -> ConfigFile:
    return drill_config(webhook, shop, tmp_path)


def _health(shop) -> int:
    return httpx.get(shop.url, timeout=5).status_code


def test_a_drill_runs_the_whole_loop_and_reports_against_the_targets(api, client_for, engine, webhook, shop, clock):
    shop.break_("drill: stuck on a bad cache entry")
    assert _health(shop) == 503
    started = api.post("/api/v1/drills/run", json=SCENARIO)
    assert started.status_code == 201, started.text
    drill = started.json()
    number = drill["incident"]
    assert drill["state"] == "running" and number is not None
    incident = api.get(f"/api/v1/incidents/{number}").json()
    assert incident["drill"] is True and incident["services"] == ["shop"]

    engine.run_due()
    (page,) = webhook.wait_for(1)
    assert page.path == "/alice"
    assert page.title.startswith("DRILL: ") and page.body.startswith("DRILL: this is a drill")

    clock.advance(minutes=2)
    link = urlparse(page.link("acknowledge")).path
    assert client_for(None).post(link).status_code == 200
    assert api.get(f"/api/v1/incidents/{number}").json()["status"] == "acknowledged"

    clock.advance(minutes=3)
    responder = client_for("responder", "bob")
    run = responder.post(f"/api/v1/incidents/{number}/runbook-runs", json={"runbook": "shop-down"}).json()
    step = next(s for s in run["steps"] if s["kind"] == "command")
    queued = responder.post(f"/api/v1/incidents/{number}/runbook-runs/{run['id']}/steps/{step['id']}/run", json={})
    assert queued.status_code == 202, queued.text
    engine.run_due()
    assert _health(shop) == 200  # the runbook repaired the real service

    clock.advance(minutes=1)
    assert responder.post(f"/api/v1/incidents/{number}/resolve", json={"message": "fault cleared"}).status_code == 200
    report = api.get(f"/api/v1/drills/{drill['id']}/report").json()
    assert report["state"] == "finished"
    measures = {m["name"]: m for m in report["report"]["measures"]}
    assert measures["detect"]["seconds"] == 0 and measures["detect"]["state"] == "met"
    assert measures["acknowledge"]["seconds"] == 120 and measures["acknowledge"]["state"] == "met"
    assert measures["recover"]["seconds"] == 360 and measures["recover"]["target_seconds"] == 1800
    assert [a["who"] for a in report["report"]["answered"]][:1] == ["alice"]
    (ran,) = report["report"]["steps"]
    assert ran["runbook"] == "shop-down" and ran["outcome"] == "succeeded" and ran["by"] == "bob"
    assert all(c["ok"] for c in report["report"]["checks"]), report["report"]["checks"]
    engine.run_due()  # the drill's alert is resolved once the drill ended: none is left firing
    assert api.get("/api/v1/alerts", params={"status": "firing"}).json()["items"] == []
    (alert,) = api.get("/api/v1/alerts", params={"status": "resolved"}).json()["items"]
    assert alert["labels"]["warroom_drill"] == str(drill["id"])
    history = api.get("/api/v1/drills").json()
    assert [d["id"] for d in history] == [drill["id"]] and history[0]["report"]["state"] == "finished"


def test_a_drill_not_resolved_by_its_deadline_times_out(api, engine, clock):
    drill = api.post("/api/v1/drills/run", json={**SCENARIO, "timeout": "10m"}).json()
    clock.advance(minutes=10)
    engine.run_due()
    report = api.get(f"/api/v1/drills/{drill['id']}/report").json()
    assert report["state"] == "timed_out"
    measures = {m["name"]: m for m in report["report"]["measures"]}
    assert measures["acknowledge"]["state"] == "missed" and measures["acknowledge"]["seconds"] is None
    assert api.get("/api/v1/alerts", params={"status": "firing"}).json()["items"] == []


def test_an_incident_outside_a_drill_is_no_drill_and_its_page_says_nothing_of_one(api, engine, webhook):
    made = api.post(
        "/api/v1/incidents",
        json={"title": "Shop down for real", "severity": "P1", "services": ["shop"], "policy": "shop"},
    )
    assert made.json()["drill"] is False
    engine.run_due()
    (page,) = webhook.wait_for(1)
    assert "DRILL" not in page.title and "DRILL" not in page.body


@pytest.mark.backend("sqlite")
def test_the_api_refuses_a_break_command_naming_the_field(api, shop):
    body = {**SCENARIO, "alerts": [], "break": {"argv": ["rm", "-rf", str(shop.folder)]}}
    answer = api.post("/api/v1/drills/run", json=body)
    assert answer.status_code == 422
    assert "break" in answer.text
    assert shop.folder.exists()
    assert api.get("/api/v1/drills").json() == []


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "a scenario needs"),
        ({"name": "x", "alerts": [{"labels": {"service": "shop"}}]}, "alertname"),
        ({"name": "x", "services": ["shop"], "timeout": "2d"}, "timeout"),
        ({"name": "x", "services": ["shop"], "targets": {"detect": "soon"}}, "targets"),
    ],
)
def test_a_bad_scenario_is_a_4xx_naming_the_field(api, body, field):
    answer = api.post("/api/v1/drills/run", json=body)
    assert answer.status_code == 422
    assert field in answer.text


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("role", "run", "read"),
    [(None, 401, 401), ("bogus", 401, 401), ("viewer", 403, 200), ("responder", 403, 200), ("admin", 201, 200)],
)
def test_who_may_start_and_read_drills(client_for, role, run, read):
    if role == "bogus":
        client = client_for(None)
        client.headers["Authorization"] = "Bearer wr_bogus_token"
    else:
        client = client_for(role)
    assert client.post("/api/v1/drills/run", json=SCENARIO).status_code == run
    assert client.post("/api/v1/drills/contacts", json={"team": "shop-team"}).status_code == (
        run if run != 201 else 201
    )
    assert client.get("/api/v1/drills").status_code == read


@pytest.mark.backend("sqlite")
def test_two_drills_at_once_each_get_their_own_incident(api):
    first = api.post("/api/v1/drills/run", json={"name": "waits", "services": ["shop"]}).json()
    second = api.post("/api/v1/drills/run", json=SCENARIO).json()
    # The second drill's alert is of the shop too, but it carries the second drill's label.
    assert second["incident"] is not None
    assert api.get(f"/api/v1/drills/{first['id']}/report").json()["incident"] is None
    made = api.post("/api/v1/incidents", json={"title": "Shop slow", "severity": "P3", "services": ["shop"]}).json()
    assert made["drill"] is True  # a new shop incident while `waits` runs is that drill's
    assert api.get(f"/api/v1/drills/{first['id']}/report").json()["incident"] == made["number"]
    later = api.post("/api/v1/incidents", json={"title": "Shop slow again", "severity": "P3", "services": ["shop"]})
    assert later.json()["drill"] is False  # each drill takes one incident, the first
