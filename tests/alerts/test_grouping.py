"""From alerts to incidents: grouping, severity, timeline events, auto-resolve with the engine."""

from __future__ import annotations

import pytest

from warroom.alerts import integrations, pipeline, resolving
from warroom.alerts.schemas import IncomingAlert
from warroom.config import parse_config_text
from warroom.engine import jobs

from .conftest import am_alert, am_payload, events, incident, kinds


@pytest.fixture
def config():
    return parse_config_text(
        """
services:
  - name: checkout
  - name: database
routes:
  - name: payments
    match: ['service="payments"']
    severity: P0
    policy: payments-oncall
    category: payment
  - name: db
    match: ['service=~"db|postgres"']
    service: database
    group_by: [cluster]
    policy: dba
    runbook: db-failover
    auto_runbook: true
    resolve_after: 1m
  - name: checkout
    match: [service=checkout]
    group_by: [service]
    policy: web-oncall
"""
    )


def post(sender, key, *alerts):
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(*alerts))
    assert response.status_code == 200, response.text
    return response.json()


def test_same_group_key_attaches_to_the_same_open_incident(api, sender, make_integration, runtime):
    key = make_integration()
    post(sender, key, am_alert("DBDown", service="db", cluster="eu", instance="a"))
    post(sender, key, am_alert("DBSlow", service="db", cluster="eu", instance="b", severity="warning"))
    post(sender, key, am_alert("DBDown", service="db", cluster="us", instance="c"))
    assert [i["number"] for i in api.get("/api/v1/incidents").json()["items"]] == [2, 1]
    # The route names runbook db-failover and policy dba, which this installation does not have: the
    # timeline says so, and the alert is still taken.
    assert kinds(runtime, 1) == [
        "declared",
        "runbook_auto_skipped",
        "paging_error",
        "paging_skipped",  # and no default policy either: nobody paged
        "alert_attached",
        "alert_attached",
    ]
    opened = incident(api, 1)
    assert opened["services"] == ["database"]
    assert opened["labels"] == {"cluster": "eu"}
    declared = opened["timeline"][0]["data"]
    assert (declared["policy"], declared["runbook"], declared["auto_runbook"], declared["route"]) == (
        "dba",
        "db-failover",
        True,
        "db",
    )


def test_policy_and_category_reach_the_declared_event(api, sender, make_integration):
    key = make_integration()
    post(sender, key, am_alert("PaymentsDown", service="payments", severity="info"))
    opened = incident(api, 1)
    assert opened["severity"] == "P0"  # the route says P0 whatever the sender says
    assert opened["timeline"][0]["data"]["policy"] == "payments-oncall"
    assert opened["timeline"][0]["data"]["category"] == "payment"


def test_incident_severity_is_the_highest_firing_alert(api, sender, make_integration, runtime):
    key = make_integration()
    post(sender, key, am_alert("Disk", service="db", cluster="eu", severity="warning"))
    assert incident(api, 1)["severity"] == "P3"
    post(sender, key, am_alert("Down", service="db", cluster="eu", severity="critical"))
    assert incident(api, 1)["severity"] == "P1"
    post(sender, key, am_alert("Crash", service="db", cluster="eu", severity="critical"))
    post(sender, key, am_alert("Down", status="resolved", service="db", cluster="eu", severity="critical"))
    assert incident(api, 1)["severity"] == "P1"  # Crash still fires at P1
    post(sender, key, am_alert("Crash", status="resolved", service="db", cluster="eu", severity="critical"))
    assert incident(api, 1)["severity"] == "P3"
    changes = [e for e in events(runtime, 1) if e.kind == "severity_changed"]
    assert [(e.data["from"], e.data["to"]) for e in changes] == [("P3", "P1"), ("P1", "P3")]


def test_a_severity_a_person_set_is_not_lowered_by_alerts(api, sender, make_integration):
    key = make_integration()
    post(sender, key, am_alert("Disk", service="db", cluster="eu", severity="warning"))
    post(sender, key, am_alert("Down", service="db", cluster="eu", severity="critical"))
    api.patch("/api/v1/incidents/1", json={"severity": "P0"})
    post(sender, key, am_alert("Down", status="resolved", service="db", cluster="eu"))
    assert incident(api, 1)["severity"] == "P0"


def test_all_resolved_moves_to_monitoring_then_resolved_by_warroom(
    api, sender, make_integration, runtime, clock, engine
):
    key = make_integration()
    post(sender, key, am_alert("Error", service="checkout"), am_alert("Latency", service="checkout"))
    post(sender, key, am_alert("Error", service="checkout", status="resolved"))
    assert incident(api, 1)["status"] == "triggered"  # Latency still fires
    post(sender, key, am_alert("Latency", service="checkout", status="resolved"))
    assert incident(api, 1)["status"] == "monitoring"
    clock.advance(minutes=4, seconds=59)
    engine.run_due()
    assert incident(api, 1)["status"] == "monitoring"
    clock.advance(seconds=1)
    engine.run_due()
    resolved = incident(api, 1)
    assert resolved["status"] == "resolved"
    # The last event of the incident's own (a required post-mortem's reminder may follow the resolve).
    last = [e for e in resolved["timeline"] if not e["kind"].startswith("postmortem_")][-1]
    assert (last["kind"], last["actor"], last["actor_kind"]) == ("resolved", "warroom", "system")
    assert "quiet for 5 min" in last["message"]


def test_route_resolve_after_is_used(api, sender, make_integration, clock, engine):
    key = make_integration()
    post(sender, key, am_alert("Down", service="db", cluster="eu"))
    post(sender, key, am_alert("Down", service="db", cluster="eu", status="resolved"))
    clock.advance(minutes=1)
    engine.run_due()
    assert incident(api, 1)["status"] == "resolved"


def test_a_refire_during_monitoring_returns_to_investigating(api, sender, make_integration, runtime, clock, engine):
    key = make_integration()
    post(sender, key, am_alert("Error", service="checkout"))
    post(sender, key, am_alert("Error", service="checkout", status="resolved"))
    assert incident(api, 1)["status"] == "monitoring"
    clock.advance(minutes=2)
    refired = post(sender, key, am_alert("Error", service="checkout"))
    assert refired["alerts"][0]["action"] == "refired"
    assert refired["incidents"] == [1]
    assert incident(api, 1)["status"] == "investigating"
    with runtime.db.session() as session:
        assert jobs.pending(session, resolving.AUTO_RESOLVE) == []
    clock.advance(minutes=10)
    engine.run_due()
    assert incident(api, 1)["status"] == "investigating"
    assert kinds(runtime, 1)[-3:] == ["status_changed", "status_changed", "alert_refired"]


def test_when_a_person_acknowledged_warroom_only_notes_it(api, sender, make_integration, runtime, clock, engine):
    key = make_integration()
    post(sender, key, am_alert("Error", service="checkout"))
    assert api.post("/api/v1/incidents/1/acknowledge").status_code == 200
    post(sender, key, am_alert("Error", service="checkout", status="resolved"))
    assert incident(api, 1)["status"] == "acknowledged"
    clock.advance(minutes=5)
    engine.run_due()
    after = incident(api, 1)
    assert after["status"] == "acknowledged"
    note = after["timeline"][-1]
    assert note["kind"] == "note" and note["actor"] == "warroom"
    assert "leaves resolving it to the responders" in note["message"]


def test_a_resolved_incident_is_not_reused(api, sender, make_integration):
    key = make_integration()
    post(sender, key, am_alert("Error", service="checkout"))
    api.post("/api/v1/incidents/1/resolve", json={"message": "fixed"})
    again = post(sender, key, am_alert("Error", service="checkout", status="resolved"))
    assert again["alerts"][0]["action"] == "resolved"
    fresh = post(sender, key, am_alert("Error", service="checkout"))
    assert fresh["incidents"] == [2]


def test_a_still_firing_alert_whose_incident_was_closed_opens_a_new_one(api, sender, make_integration):
    key = make_integration()
    post(sender, key, am_alert("Error", service="checkout"))
    api.post("/api/v1/incidents/1/resolve", json={"message": "we think it is fixed"})
    repeat = post(sender, key, am_alert("Error", service="checkout"))
    assert repeat["alerts"][0]["action"] == "repeated"
    assert repeat["incidents"] == [2]


def test_health_checks_use_a_builtin_integration(runtime, api):
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        monitors = integrations.builtin_integration(session, "monitors", now=now)
        again = integrations.builtin_integration(session, "monitors", now=now)
        assert monitors.id == again.id and monitors.type == "monitor"
        result = pipeline.ingest_alerts(
            session,
            runtime,
            monitors,
            [
                IncomingAlert(
                    fingerprint=None,
                    status="firing",
                    labels={
                        "alertname": "checkout-http",
                        "service": "checkout",
                        "severity": "P2",
                        "monitor": "checkout-http",
                    },
                    annotations={"summary": "checkout-http is down: HTTP 502"},
                    starts_at=None,
                    ends_at=None,
                    generator_url=None,
                    raw={"check": "http"},
                )
            ],
            now=now,
        )
    assert result.incidents == [1]
    opened = incident(api, 1)
    assert (opened["title"], opened["severity"], opened["created_by"]) == (
        "checkout-http is down: HTTP 502",
        "P2",
        "monitors",
    )
    assert opened["timeline"][0]["data"]["policy"] == "web-oncall"


def test_alert_send_and_route_test_through_the_api(api):
    created = api.post("/api/v1/integrations", json={"name": "manual", "type": "generic"}).json()
    sent = api.post(
        "/api/v1/integrations/manual/alerts",
        json={
            "labels": {"alertname": "Test", "severity": "critical", "service": "checkout"},
            "annotations": {"summary": "hello"},
        },
    )
    assert sent.status_code == 200
    assert sent.json()["incidents"] == [1]
    assert created["key"] not in sent.text
    assert api.get("/api/v1/audit").json()[0]["action"] == "alert.send"
    explained = api.post("/api/v1/routes/test", json={"labels": {"alertname": "X", "service": "postgres"}}).json()
    assert explained["route"] == "db"
    assert explained["service"] == "database"
    assert [r["matches"] for r in explained["routes"]] == [False, True, False]
    assert explained["routes"][0]["reasons"] == ["service=\"payments\" does not match (service='postgres')"]


def test_bulk_written_events_keep_their_place_among_the_others(api, sender, make_integration, runtime):
    key = make_integration()
    post(sender, key, am_alert("Disk", service="db", cluster="eu", severity="warning"))
    # One request: the second alert raises the incident's severity between two plain attachments.
    post(
        sender,
        key,
        am_alert("Slow", service="db", cluster="eu", severity="warning"),
        am_alert("Down", service="db", cluster="eu", severity="critical"),
        am_alert("Lag", service="db", cluster="eu", severity="warning"),
    )
    tail = [(e.kind, e.message if e.kind == "alert_attached" else "") for e in events(runtime, 1)][-6:]
    assert tail == [
        ("alert_attached", "Slow on db"),
        ("severity_changed", ""),
        ("paging_error", ""),  # P1 pages: the paging hook ran on severity_changed, in its place
        ("paging_skipped", ""),
        ("alert_attached", "Down on db"),
        ("alert_attached", "Lag on db"),
    ]
    ids = [e.id for e in events(runtime, 1)]
    assert ids == sorted(ids)


def test_a_hook_that_names_no_kinds_still_sees_every_alert_event(api, sender, make_integration, runtime):
    seen_by_all: list[str] = []
    seen_by_declared: list[str] = []
    runtime.timeline_hooks.append(lambda _session, _incident, event: seen_by_all.append(event.kind))
    runtime.add_timeline_hook(
        lambda _session, _incident, event: seen_by_declared.append(event.kind), kinds=("declared",)
    )
    key = make_integration()
    post(sender, key, am_alert("Disk", service="db", cluster="eu", severity="warning"))
    post(sender, key, am_alert("Disk", status="resolved", service="db", cluster="eu", severity="warning"))
    assert {"declared", "alert_attached", "alert_resolved", "status_changed"} <= set(seen_by_all)
    assert seen_by_declared == ["declared"]
    assert kinds(runtime, 1).count("alert_attached") == 1
