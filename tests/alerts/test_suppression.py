"""Silences, maintenance windows and inhibition: alerts stored and visible, but no incident and no page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warroom.config import parse_config_text

from .conftest import am_alert, am_payload, incident


@pytest.fixture
def config():
    return parse_config_text(
        """
inhibit:
  - name: db-down
    source: [alertname=DatabaseDown]
    target: ['alertname=~"API5xx.*"']
    equal: [cluster]
"""
    )


def post(sender, key, *alerts):
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(*alerts))
    assert response.status_code == 200, response.text
    return response.json()


def incidents(api):
    return api.get("/api/v1/incidents").json()["items"]


def test_a_silenced_alert_is_stored_but_opens_nothing_until_the_silence_ends(
    api, sender, make_integration, clock, engine
):
    key = make_integration()
    created = api.post(
        "/api/v1/silences",
        json={"matchers": ["alertname=DiskFull", 'env=~"stag.*"'], "duration": "2h", "comment": "migrating disks"},
    )
    assert created.status_code == 201
    silence = created.json()
    assert silence["state"] == "active" and silence["matchers"] == ['alertname="DiskFull"', 'env=~"stag.*"']
    held = post(sender, key, am_alert("DiskFull", env="staging"))
    assert held["alerts"][0]["suppressed_by"] == f"silence:{silence['id']}"
    assert held["incidents"] == []
    other = post(sender, key, am_alert("DiskFull", env="production"))
    assert other["incidents"] == [1]
    [listed] = api.get("/api/v1/alerts", params={"status": "suppressed"}).json()["items"]
    assert listed["labels"]["env"] == "staging"
    clock.advance(hours=1, minutes=59)
    engine.run_due()
    assert len(incidents(api)) == 1
    clock.advance(minutes=1)
    engine.run_due()
    # Released: it joins the open DiskFull incident (same group key) instead of waiting for its next repeat.
    assert len(incidents(api)) == 1
    assert len(api.get("/api/v1/alerts", params={"incident": 1}).json()["items"]) == 2
    assert api.get("/api/v1/alerts", params={"status": "suppressed"}).json()["items"] == []
    assert api.get("/api/v1/silences").json() == []
    assert api.get("/api/v1/silences", params={"include_expired": True}).json()[0]["state"] == "expired"


def test_expiring_a_silence_reevaluates_still_firing_alerts(api, sender, make_integration, engine):
    key = make_integration()
    silence = api.post("/api/v1/silences", json={"matchers": ["service=checkout"], "duration": "4h"}).json()
    post(sender, key, am_alert("A", service="checkout"), am_alert("B", service="checkout"))
    post(sender, key, am_alert("B", service="checkout", status="resolved"))
    assert incidents(api) == []
    expired = api.post(f"/api/v1/silences/{silence['id']}/expire")
    assert expired.json()["state"] == "expired"
    engine.run_due()
    [opened] = incidents(api)
    assert opened["title"] == "A on checkout"  # B resolved meanwhile: no incident for it
    assert api.get("/api/v1/audit").json()[0]["action"] == "silence.expire"


def test_silence_input_errors(api):
    assert api.post("/api/v1/silences", json={"matchers": ['env=~"("'], "duration": "1h"}).status_code == 422
    everything = api.post("/api/v1/silences", json={"matchers": ['env=~".*"'], "duration": "1h"})
    assert everything.status_code == 422 and "every alert" in everything.json()["detail"]
    assert api.post("/api/v1/silences", json={"matchers": ["a=b"], "duration": "soon"}).status_code == 422
    assert api.post("/api/v1/silences", json={"matchers": ["a=b"]}).status_code == 422
    assert api.post("/api/v1/silences/99/expire").status_code == 404


def test_maintenance_window_holds_back_the_service_alerts(api, sender, make_integration, clock, engine, runtime):
    key = make_integration()
    start = clock.now() + timedelta(hours=1)
    window = api.post(
        "/api/v1/maintenance",
        json={"service": "checkout", "starts_at": start.isoformat(), "duration": "2h", "comment": "db upgrade"},
    ).json()
    assert window["active"] is False
    shown = api.get("/api/v1/services/checkout/maintenance").json()
    assert [w["id"] for w in shown] == [window["id"]]
    clock.advance(hours=1)
    held = post(sender, key, am_alert("Error", service="checkout"))
    assert held["alerts"][0]["suppressed_by"] == f"maintenance:{window['id']}"
    assert post(sender, key, am_alert("Timeout", service="search"))["incidents"] == [1]
    clock.advance(hours=2)
    engine.run_due()
    assert [i["services"] for i in incidents(api)] == [["checkout"], ["search"]]


def test_weekly_maintenance_repeats(api, sender, make_integration, clock, engine):
    key = make_integration()
    start = clock.now()
    window = api.post(
        "/api/v1/maintenance",
        json={"service": "batch", "starts_at": start.isoformat(), "duration": "1h", "weekly": True},
    ).json()
    assert window["active"] is True
    clock.advance(hours=1)
    engine.run_due()
    clock.set(start + timedelta(days=7, minutes=30))
    listed = api.get("/api/v1/maintenance", params={"service": "batch"}).json()[0]
    assert listed["active"] is True
    assert listed["next_end"] == (start + timedelta(days=7, hours=1)).isoformat().replace("+00:00", "Z")
    held = post(sender, key, am_alert("Lag", service="batch"))
    assert held["incidents"] == []
    clock.set(start + timedelta(days=7, hours=1))
    engine.run_due()
    assert len(incidents(api)) == 1
    cancel = api.post(f"/api/v1/maintenance/{window['id']}/cancel")
    assert cancel.json()["cancelled_at"] is not None
    clock.set(start + timedelta(days=14, minutes=10))
    assert post(sender, key, am_alert("Other", service="batch"))["incidents"] == [2]


def test_inhibition_by_a_firing_source_with_equal_labels(api, sender, make_integration, engine):
    key = make_integration()
    post(sender, key, am_alert("DatabaseDown", cluster="eu", service="db"))
    eu = post(sender, key, am_alert("API5xxHigh", cluster="eu", service="api"))
    us = post(sender, key, am_alert("API5xxHigh", cluster="us", service="api"))
    assert eu["alerts"][0]["suppressed_by"] == "inhibit:db-down"
    assert us["alerts"][0]["suppressed_by"] is None and us["incidents"] == [2]
    post(sender, key, am_alert("DatabaseDown", cluster="eu", service="db", status="resolved"))
    [alert] = api.get("/api/v1/alerts", params={"service": "api", "status": "firing"}).json()["items"][1:]
    assert alert["labels"]["cluster"] == "eu"
    assert alert["suppressed_by"] is None and alert["incident"] == 2  # joins the open API5xxHigh incident
    assert incident(api, 2)["timeline"][-1]["kind"] == "alert_attached"
