"""The leak test over HTTP: after the domain's leak scenario (an incident full of internal detail, published and
updated), no public route answers any of that detail, and the page shows what was published."""

from __future__ import annotations

import gzip

from starlette.testclient import TestClient

from tests.statuspage import test_leak
from tests.statuspage.test_leak import INTERNAL


def test_no_public_route_shows_internal_detail(app, runtime, client_for, clock, snapshot):
    # The same incident as the domain's leak test: its setup runs here (and checks the snapshot on the way).
    test_leak.test_nothing_internal_reaches_the_snapshot_history_or_public_incident(
        runtime, client_for, clock, snapshot
    )
    anonymous = TestClient(app, raise_server_exceptions=False)
    incidents = anonymous.get("/api/v2/incidents.json").json()["incidents"]
    assert [i["name"] for i in incidents] == ["Checkout is slow"]
    public_id = incidents[0]["id"]
    components = [c["id"] for c in anonymous.get("/api/v2/components.json").json()["components"] if not c["group"]]
    assert len(components) == 3
    paths = [
        "/status",
        "/status/history",
        "/status/history?page=1",
        f"/status/incidents/{public_id}",
        "/status/history.atom",
        "/status/history.rss",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/status/status.css",
        *(f"/status/badge/{c}.json" for c in components),
    ]
    words = {word for text in INTERNAL.values() for word in text.split() if word.isupper() and len(word) > 5}
    seen = []
    for path in paths:
        response = anonymous.get(path, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, (path, response.status_code)
        body = (
            response.content
            if response.headers.get("content-encoding") != "gzip"
            else gzip.decompress(response.content)
        )
        text = body.decode()
        leaked = [name for name, value in INTERNAL.items() if value in text] + [w for w in words if w in text]
        assert leaked == [], f"{path} shows internal detail: {leaked}"
        seen.append(text)
    everything = "\n".join(seen)
    # What was published is there: the public title, each public update, and the resolved state.
    assert "Checkout is slow" in everything and "We found the cause and are fixing it." in everything
    assert "All fixed." in anonymous.get(f"/status/incidents/{public_id}").text
    assert incidents[0]["status"] == "resolved" and incidents[0]["shortlink"].endswith(f"/status/incidents/{public_id}")


def test_publishing_shows_on_the_page_and_in_the_widget_json_at_once(app, runtime, client_for, clock):
    runtime.extras["statuspage_recheck"] = 0
    responder = client_for("responder")
    anonymous = TestClient(app, raise_server_exceptions=False)
    before = anonymous.get("/status")
    assert before.status_code == 200 and "All Systems Operational" in before.text
    assert "Checkout" in before.text and "Shop" in before.text  # components and groups from warroom.yaml
    summary = anonymous.get("/api/v2/summary.json")
    assert summary.json()["status"]["indicator"] == "none"

    number = responder.post("/api/v1/incidents", json={"title": "db pool", "severity": "P1"}).json()["number"]
    published = responder.post(
        f"/api/v1/incidents/{number}/publish", json={"title": "Payments fail", "components": ["Checkout"]}
    )
    assert published.status_code == 201, published.text

    after = anonymous.get("/status", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert "Payments fail" in after.text and "All Systems Operational" not in after.text
    changed = anonymous.get("/api/v2/summary.json", headers={"If-None-Match": summary.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["status"]["indicator"] != "none"
    assert [i["name"] for i in changed.json()["incidents"]] == ["Payments fail"]
    # Nothing changed since: the next revalidation is a 304.
    assert anonymous.get("/status", headers={"If-None-Match": after.headers["etag"]}).status_code == 304
