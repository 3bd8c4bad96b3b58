"""v2 `affected_components`: each affected component's status before and after a public update, recorded when
the update is posted and served as Statuspage does."""

from __future__ import annotations

from tests.statuspage.conftest import statuses


def _v2_updates(client, public_id: str) -> list[dict]:
    [item] = [i for i in client.get("/api/v2/incidents.json").json()["incidents"] if i["id"] == public_id]
    return item["incident_updates"]


def test_each_update_records_its_components_before_and_after(runtime, api, make_incident, snapshot):
    runtime.extras["statuspage_recheck"] = 0
    api.post("/api/v1/status/components/Database/override", json={"status": "under_maintenance", "reason": "Upgrade"})
    incident = make_incident(severity="P1", services=["checkout"])
    body = {"title": "Paying is slow", "components": ["Checkout", "Database"]}
    published = api.post(f"/api/v1/incidents/{incident.id}/publish", json=body)
    assert published.status_code == 201, published.text
    public_id = published.json()["id"]
    during = statuses(snapshot())["Checkout"]
    assert during != "operational"
    posted = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "identified", "body": "Found it."}
    )
    assert posted.status_code in (200, 201), posted.text
    api.post(f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "resolved", "body": "Fixed."})
    resolved, identified, first = _v2_updates(api, public_id)
    assert first["affected_components"] == [
        {"code": "checkout", "name": "Checkout", "old_status": "operational", "new_status": during},
        # An override wins over the incident: Statuspage lists the component, its status unchanged.
        {"code": "database", "name": "Database", "old_status": "under_maintenance", "new_status": "under_maintenance"},
    ]
    assert identified["affected_components"][0] == {
        "code": "checkout",
        "name": "Checkout",
        "old_status": during,
        "new_status": during,
    }
    assert resolved["affected_components"][0] == {
        "code": "checkout",
        "name": "Checkout",
        "old_status": during,
        "new_status": "operational",
    }
    # The HTML page and the history read the same snapshot: nothing else changes for them.
    assert api.get(f"/status/incidents/{public_id}").status_code == 200
