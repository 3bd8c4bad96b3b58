"""One sender cannot silence another's incident: an integration's acknowledge or resolve acts on its own alerts."""

from __future__ import annotations

from typing import Any

from warroom.engine import jobs

from .conftest import am_alert, am_payload, events, incident


def pd_event(key: str, action: str, dedup_key: str, **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": key, "event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        # `class` becomes the alertname: the default route groups by it, so this joins Alertmanager's DiskFull.
        event["payload"] = {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical", **payload}
    return event


def send_pd(sender, key: str, action: str, dedup_key: str, **payload: Any) -> None:
    response = sender.post("/v2/enqueue", json=pd_event(key, action, dedup_key, **payload))
    assert response.status_code == 202, response.text


def send_am(sender, key: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(*alerts))
    assert response.status_code == 200, response.text
    return response.json()


def acknowledgers(runtime, number: int) -> list[str]:
    return [e.actor for e in events(runtime, number) if e.kind == "acknowledged"]


def test_another_senders_acknowledge_leaves_the_incident_paging(api, sender, make_integration, runtime):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    opened = send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))
    assert opened["incidents"] == [1]
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})
    assert api.get("/api/v1/alerts", params={"incident": 1}).json()["items"][0]["fingerprint"] == "pd-disk"

    send_pd(sender, pd, "acknowledge", "pd-disk")

    assert incident(api, 1)["status"] == "triggered"
    assert acknowledgers(runtime, 1) == []


def test_senders_acknowledge_the_incident_once_every_firing_alert_is(api, sender, make_integration, runtime):
    first = make_integration("pd-storage", "pagerduty")
    second = make_integration("pd-backup", "pagerduty")
    send_pd(sender, first, "trigger", "disk-a", **{"class": "DiskFull"})
    send_pd(sender, second, "trigger", "disk-b", **{"class": "DiskFull"})

    send_pd(sender, first, "acknowledge", "disk-a")
    assert incident(api, 1)["status"] == "triggered"
    send_pd(sender, second, "acknowledge", "disk-b")

    assert incident(api, 1)["status"] == "acknowledged"
    assert acknowledgers(runtime, 1) == ["pd-backup"]


def test_acknowledging_another_senders_fingerprint_acts_on_nothing(api, sender, make_integration, runtime):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))

    send_pd(sender, pd, "acknowledge", "am-disk")  # Alertmanager's fingerprint, sent with PagerDuty's key

    assert incident(api, 1)["status"] == "triggered"


def test_when_the_unacknowledged_alert_resolves_the_acknowledged_rest_acknowledge_it(
    api, sender, make_integration, runtime
):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})
    send_pd(sender, pd, "acknowledge", "pd-disk")

    send_am(sender, am, am_alert("DiskFull", "resolved", fingerprint="am-disk", ends_at="2026-01-05T09:10:00Z"))

    assert incident(api, 1)["status"] == "acknowledged"
    assert acknowledgers(runtime, 1) == ["prod-alertmanager"]


def test_a_refired_alert_needs_acknowledging_again(api, sender, make_integration, runtime):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))
    send_pd(sender, pd, "acknowledge", "pd-disk")
    send_pd(sender, pd, "resolve", "pd-disk")
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})  # fires again: its old ack is spent

    send_am(sender, am, am_alert("DiskFull", "resolved", fingerprint="am-disk", ends_at="2026-01-05T09:10:00Z"))

    assert incident(api, 1)["status"] == "triggered"


def test_another_senders_resolve_leaves_the_incident_open(api, sender, make_integration, runtime):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})

    send_pd(sender, pd, "resolve", "pd-disk")
    send_pd(sender, pd, "resolve", "am-disk")  # not its alert: recorded as unknown, nothing else

    assert incident(api, 1)["status"] == "triggered"
    with runtime.db.session() as session:
        assert jobs.get(session, "alerts.auto_resolve", "incident:1") is None
    firing = api.get("/api/v1/alerts", params={"incident": 1, "status": "firing"}).json()["items"]
    assert [a["fingerprint"] for a in firing] == ["am-disk"]

    send_am(sender, am, am_alert("DiskFull", "resolved", fingerprint="am-disk", ends_at="2026-01-05T09:10:00Z"))
    assert incident(api, 1)["status"] == "monitoring"


def test_an_incident_senders_acknowledged_does_not_absorb_another_alert(api, sender, make_integration, runtime):
    am = make_integration("prod-alertmanager", "alertmanager")
    pd = make_integration("legacy-pd", "pagerduty")
    send_pd(sender, pd, "trigger", "pd-disk", **{"class": "DiskFull"})
    send_pd(sender, pd, "acknowledge", "pd-disk")  # its only alert: the incident is acknowledged
    assert incident(api, 1)["status"] == "acknowledged"

    answer = send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))  # same group key

    assert answer["incidents"] == [2]  # a new incident that pages, not one whose paging a sender stopped
    assert incident(api, 2)["status"] == "triggered"
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk-2"))
    assert [a["fingerprint"] for a in api.get("/api/v1/alerts", params={"incident": 2}).json()["items"]] == [
        "am-disk-2",
        "am-disk",
    ]


def test_an_incident_a_person_acknowledged_still_takes_the_groups_alerts(api, sender, make_integration):
    am = make_integration("prod-alertmanager", "alertmanager")
    send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk"))
    assert api.post("/api/v1/incidents/1/acknowledge").status_code == 200

    answer = send_am(sender, am, am_alert("DiskFull", fingerprint="am-disk-2"))

    assert answer["incidents"] == [1]
    assert incident(api, 1)["status"] == "acknowledged"
