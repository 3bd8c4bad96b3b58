"""The intake over HTTP: keys, formats, dedup, answers senders understand, rejections counted."""

from __future__ import annotations

import json

import pytest
from prometheus_client import generate_latest

from warroom.alerts import integrations

from .conftest import am_alert, am_payload, incident, kinds


def rejected(runtime, integration: str, reason: str) -> float:
    value = runtime.registry.get_sample_value(
        "warroom_alert_intake_rejected_total", {"integration": integration, "reason": reason}
    )
    return value or 0.0


def test_a_firing_alert_opens_one_incident(api, sender, make_integration, runtime):
    key = make_integration()
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert(service="checkout")))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1 and body["incidents"] == [1]
    assert body["alerts"][0]["action"] == "created"
    opened = incident(api, 1)
    assert opened["title"] == "HighErrorRate on checkout"
    assert opened["severity"] == "P1"
    assert opened["services"] == ["checkout"]
    assert opened["created_by"] == "prod-alertmanager"
    assert opened["timeline"][0]["actor_kind"] == "integration"
    assert kinds(runtime, 1) == ["declared", "paging_skipped", "alert_attached"]  # no policy: nobody paged


def test_repeats_update_the_alert_and_create_nothing(api, sender, make_integration, runtime, clock):
    key = make_integration()
    payload = am_payload(am_alert(service="checkout"))
    sender.post(f"/api/v1/intake/{key}", json=payload)
    clock.advance(minutes=1)
    for _ in range(3):
        assert sender.post(f"/api/v1/intake/{key}", json=payload).json()["alerts"][0]["action"] == "repeated"
    [alert] = api.get("/api/v1/alerts").json()["items"]
    assert alert["received"] == 4
    assert alert["last_seen_at"] == "2026-01-05T09:01:00Z"
    assert alert["first_seen_at"] == "2026-01-05T09:00:00Z"
    assert api.get("/api/v1/incidents").json()["items"].__len__() == 1
    assert kinds(runtime, 1) == ["declared", "paging_skipped", "alert_attached"]  # no policy: nobody paged


def test_a_resolve_for_an_unknown_alert_is_recorded_and_ignored(api, sender, make_integration):
    key = make_integration()
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert(status="resolved")))
    assert response.json()["alerts"][0]["action"] == "resolve_unknown"
    [alert] = api.get("/api/v1/alerts").json()["items"]
    assert (alert["status"], alert["incident"]) == ("resolved", None)
    assert api.get("/api/v1/incidents").json()["items"] == []


def test_bearer_key_works_like_the_path_key(api, sender, make_integration):
    key = make_integration()
    response = sender.post("/api/v1/intake", json=am_payload(am_alert()), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json()["incidents"] == [1]


def test_unknown_and_revoked_keys_look_the_same(api, sender, make_integration, runtime):
    key = make_integration()
    unknown = sender.post(f"/api/v1/intake/{'0' * 32}", json=am_payload(am_alert()))
    assert api.delete("/api/v1/integrations/prod-alertmanager").status_code == 200
    revoked = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert()))
    missing = sender.post("/api/v1/intake", json=am_payload(am_alert()))
    assert unknown.status_code == revoked.status_code == missing.status_code == 401
    assert unknown.json() == revoked.json()
    assert unknown.json()["detail"] == "Unknown or revoked integration key."
    assert "prod-alertmanager" not in revoked.text
    assert rejected(runtime, "unknown", "unknown_key") == 2
    assert rejected(runtime, "unknown", "missing_key") == 1
    assert api.get("/api/v1/alerts").json()["items"] == []


def test_malformed_wrong_shape_and_oversized_bodies(sender, make_integration, runtime):
    key = make_integration()
    bad_json = sender.post(
        f"/api/v1/intake/{key}", content=b'{"alerts": [', headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["title"] == "Malformed JSON"
    wrong = sender.post(f"/api/v1/intake/{key}", json={"version": "4", "alerts": [{"labels": {}}]})
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [{"field": "alerts.0.labels", "message": "an alert needs at least one label"}]
    old = am_payload(am_alert())
    old["version"] = "2"
    version = sender.post(f"/api/v1/intake/{key}", json=old)
    assert version.status_code == 422
    assert "warroom accepts version 4" in version.json()["detail"]
    huge = sender.post(
        f"/api/v1/intake/{key}",
        content=json.dumps(am_payload(am_alert(summary="x" * (1024 * 1024)))).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert rejected(runtime, "prod-alertmanager", "malformed_json") == 1
    assert rejected(runtime, "prod-alertmanager", "invalid_payload") == 1
    assert rejected(runtime, "prod-alertmanager", "unsupported_version") == 1
    text = generate_latest(runtime.registry).decode()
    assert 'warroom_alert_intake_rejected_total{integration="prod-alertmanager",reason="malformed_json"} 1.0' in text


def test_metrics_endpoint_shows_accepted_and_rejected(api, sender, make_integration):
    key = make_integration()
    sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert()))
    sender.post(f"/api/v1/intake/{key}", content=b"nope", headers={"Content-Type": "application/json"})
    text = api.get("/metrics").text
    assert 'warroom_alerts_received_total{integration="prod-alertmanager",status="firing"} 1.0' in text
    assert 'warroom_alert_intake_rejected_total{integration="prod-alertmanager",reason="malformed_json"} 1.0' in text


def test_the_original_payload_is_kept_with_the_alert(api, sender, make_integration):
    key = make_integration()
    piece = am_alert(service="checkout")
    piece["extra"] = {"anything": [1, 2]}
    sender.post(f"/api/v1/intake/{key}", json=am_payload(piece))
    alert = api.get("/api/v1/alerts/1").json()
    assert alert["raw"] == piece


def pd_event(key: str, action: str = "trigger", dedup_key: str | None = "db-1-disk", **payload) -> dict:
    event = {"routing_key": key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event["payload"] = {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical", **payload}
    return event


def test_pagerduty_events_v2_answers_like_pagerduty(api, sender, make_integration, runtime):
    key = make_integration("legacy-pd", "pagerduty")
    response = sender.post("/v2/enqueue", json=pd_event(key))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "db-1-disk"}
    generated = sender.post("/v2/enqueue", json=pd_event(key, dedup_key=None, summary="Other"))
    assert generated.status_code == 202
    assert len(generated.json()["dedup_key"]) == 32
    invalid = sender.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "payload": {}})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.summary' is missing or blank",
            "'payload.source' is missing or blank",
            "'payload.severity' is missing or blank",
        ],
    }
    wrong_key = sender.post("/v2/enqueue", json=pd_event("f" * 32))
    assert wrong_key.status_code == 400
    assert wrong_key.json()["errors"] == ["Invalid routing key"]
    assert rejected(runtime, "unknown", "unknown_key") == 1

    unknown_ack = sender.post("/v2/enqueue", json=pd_event(key, "acknowledge", dedup_key="never-seen"))
    assert unknown_ack.status_code == 202
    assert api.get("/api/v1/alerts", params={"status": "firing"}).json()["items"][-1]["fingerprint"] == "db-1-disk"
    assert sender.post("/v2/enqueue", json=pd_event(key, "acknowledge")).status_code == 202
    assert incident(api, 1)["status"] == "acknowledged"
    assert sender.post("/v2/enqueue", json=pd_event(key, "resolve")).status_code == 202
    first = api.get("/api/v1/alerts", params={"incident": 1}).json()["items"][0]
    assert first["status"] == "resolved"
    assert first["labels"]["source"] == "db-1"


def test_pagerduty_integration_also_takes_its_key_in_the_path(sender, make_integration):
    key = make_integration("legacy-pd", "pagerduty")
    response = sender.post(f"/api/v1/intake/{key}", json=pd_event(key))
    assert response.status_code == 202
    assert response.json()["dedup_key"] == "db-1-disk"


def test_grafana_and_generic_integrations(api, sender, make_integration):
    grafana = make_integration("grafana", "grafana")
    payload = {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Latency", "severity": "warning", "service": "web"},
                "annotations": {"summary": "p99 latency above 2s"},
                "startsAt": "2026-01-05T08:59:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "f00d",
            }
        ],
        "version": "1",
    }
    assert sender.post(f"/api/v1/intake/{grafana}", json=payload).status_code == 200
    assert incident(api, 1)["severity"] == "P3"
    generic = make_integration(
        "cron-checker",
        "generic",
        mapping={"title": "job.name", "status": "job.result", "fingerprint": "job.id"},
        service="batch",
    )
    response = sender.post(
        f"/api/v1/intake/{generic}", json={"job": {"name": "Nightly export failed", "result": "problem", "id": 42}}
    )
    assert response.status_code == 200, response.text
    opened = incident(api, 2)
    assert (opened["title"], opened["services"]) == ("Nightly export failed", ["batch"])


def test_alert_list_filters_and_pages(api, sender, make_integration):
    am = make_integration()
    other = make_integration("grafana", "grafana", service="web")
    sender.post(f"/api/v1/intake/{am}", json=am_payload(*[am_alert(f"A{i}", service="api") for i in range(5)]))
    sender.post(f"/api/v1/intake/{am}", json=am_payload(am_alert("A0", status="resolved", service="api")))
    sender.post(f"/api/v1/intake/{other}", json=am_payload(am_alert("W", severity="info")))
    assert len(api.get("/api/v1/alerts", params={"status": "firing"}).json()["items"]) == 5
    assert [a["summary"] for a in api.get("/api/v1/alerts", params={"status": "resolved"}).json()["items"]] == [
        "A0 on api"
    ]
    assert [a["integration"] for a in api.get("/api/v1/alerts", params={"service": "web"}).json()["items"]] == [
        "grafana"
    ]
    assert len(api.get("/api/v1/alerts", params={"integration": "prod-alertmanager"}).json()["items"]) == 5
    assert len(api.get("/api/v1/alerts", params={"incident": 1}).json()["items"]) == 1
    page1 = api.get("/api/v1/alerts", params={"limit": 4}).json()
    page2 = api.get("/api/v1/alerts", params={"limit": 4, "cursor": page1["next_cursor"]}).json()
    ids = [a["id"] for a in page1["items"] + page2["items"]]
    everything = [a["id"] for a in api.get("/api/v1/alerts").json()["items"]]
    assert ids == everything == sorted(everything, reverse=True)
    assert len(ids) == 6 and page2["next_cursor"] is None
    assert api.get("/api/v1/alerts", params={"status": "bogus"}).status_code == 422
    assert api.get("/api/v1/alerts", params={"cursor": "zzz"}).status_code == 422


def test_integration_management_is_audited_and_never_shows_keys(api, client_for, runtime):
    created = api.post("/api/v1/integrations", json={"name": "prod-am", "type": "alertmanager", "severity": "p2"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert len(key) == 32
    assert created.json()["severity"] == "P2"
    listed = api.get("/api/v1/integrations").text
    assert key not in listed and "prod-am" in listed
    with runtime.db.session() as session:
        row = integrations.get_integration(session, "prod-am")
        assert row.key_hash == integrations.hash_key(key)  # only the hash (and a 12-character lookup prefix) is stored
        assert key not in (row.key_lookup or "") + row.key_hash
    duplicate = api.post("/api/v1/integrations", json={"name": "prod-am", "type": "alertmanager"})
    assert duplicate.status_code == 409
    bad_type = api.post("/api/v1/integrations", json={"name": "x", "type": "nagios"})
    assert bad_type.status_code == 422 and "alertmanager" in bad_type.json()["detail"]
    rotated = api.post("/api/v1/integrations/prod-am/rotate").json()["key"]
    assert rotated != key
    responder = client_for("responder")
    assert responder.post("/api/v1/integrations", json={"name": "y", "type": "generic"}).status_code == 403
    actions = [e["action"] for e in api.get("/api/v1/audit").json()]
    assert actions[:2] == ["integration.rotate", "integration.create"]


def test_rotation_stops_the_old_key_at_once(sender, api, make_integration):
    key = make_integration()
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert())).status_code == 200
    new = api.post("/api/v1/integrations/prod-alertmanager/rotate").json()["key"]
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert())).status_code == 401
    assert sender.post(f"/api/v1/intake/{new}", json=am_payload(am_alert())).status_code == 200


@pytest.fixture
def config():
    from warroom.config import parse_config_text

    return parse_config_text(
        """
integrations:
  - name: yaml-am
    type: alertmanager
    key_env: WARROOM_TEST_AM_KEY
    service: payments
"""
    )


def test_an_integration_from_warroom_yaml(monkeypatch, sender, api):
    monkeypatch.setenv("WARROOM_TEST_AM_KEY", "s3cret-from-the-environment")
    response = sender.post(
        "/api/v1/intake", json=am_payload(am_alert()), headers={"Authorization": "Bearer s3cret-from-the-environment"}
    )
    assert response.status_code == 200, response.text
    assert incident(api, 1)["services"] == ["payments"]
    [row] = api.get("/api/v1/integrations").json()
    assert (row["name"], row["source"]) == ("yaml-am", "config")
