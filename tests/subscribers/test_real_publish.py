"""Through the status page's real publishing path: publish, a public update and announced maintenance reach
confirmed subscribers once each, with public fields only and per component."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.subscribers.receivers import Hook, SmtpBox, body_of, link_in
from warroom.config import ConfigFile
from warroom.engine.worker import Engine

STATUS_PAGE: dict[str, Any] = {
    "name": "Acme status",
    "components": [
        {"name": "Checkout", "services": ["checkout"]},
        {"name": "Search", "services": ["search"]},
    ],
}


@pytest.fixture
def config(smtp: SmtpBox) -> ConfigFile:
    return ConfigFile.model_validate(
        {
            "services": [{"name": "checkout"}, {"name": "search"}],
            "status_page": {
                **STATUS_PAGE,
                "subscribers": {"smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "status@acme.test"}},
            },
        }
    )


def _updates(smtp: SmtpBox, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(address) if "Confirm" not in str(m["Subject"])]


def test_publish_update_and_maintenance_reach_subscribers(
    api: TestClient, public: TestClient, engine: Engine, smtp: SmtpBox, hook: Hook, make_incident: Any, clock: Any
) -> None:
    form = public.get("/status/subscribe").text
    assert ">" + " Checkout</label>" in form and ">" + " Search</label>" in form  # the page's real components
    components = {c["name"]: c["id"] for c in api.get("/api/v1/status/components").json()}
    public.post("/status/subscribe", data={"email": "all@example.com"})
    public.post("/status/subscribe", data={"email": "search@example.com", "components": [components["Search"]]})
    assert api.post("/api/v1/status/subscribers", json={"url": hook.url}).status_code == 201
    engine.run_due()
    for address in ("all@example.com", "search@example.com"):
        assert public.post(link_in(smtp.to(address)[0], "confirm")).status_code == 200

    incident = make_incident(severity="P1", services=["checkout"], title="INTERNAL: pg-7 lag, bob paged")
    published = api.post(
        f"/api/v1/incidents/{incident.id}/publish", json={"title": "Checkout is slow", "components": ["Checkout"]}
    )
    assert published.status_code == 201, published.text
    clock.advance(minutes=20)
    posted = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates",
        json={"status": "identified", "body": "We found the cause.", "actions": "fail over pg-7"},
    )
    assert posted.status_code == 201, posted.text
    engine.run_due()

    # Both were due at once here (the engine ran after both), so they may arrive in either order.
    assert sorted(_updates(smtp, "all@example.com")) == [
        "[Acme status] Identified: Checkout is slow",
        "[Acme status] Investigating: Checkout is slow",
    ]
    assert _updates(smtp, "search@example.com") == []  # its filter names another component
    texts = [body_of(m) for m in smtp.to("all@example.com")] + [str(b) for b in hook.bodies]
    assert any("Identified - We found the cause." in t for t in texts)
    assert not any("INTERNAL" in t or "pg-7" in t or "bob" in t for t in texts)
    statuses = sorted(b["incident"]["incident_updates"][0]["status"] for b in hook.bodies)
    assert statuses == ["identified", "investigating"]
    assert {b["incident"]["id"] for b in hook.bodies} == {published.json()["id"]}

    start = clock.now() + timedelta(days=1)
    announced = api.post(
        "/api/v1/status/maintenance",
        json={
            "title": "Search index rebuild",
            "components": ["Search"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "body": "Search may be slow.",
        },
    )
    assert announced.status_code == 201, announced.text
    engine.run_due()
    assert _updates(smtp, "search@example.com") == ["[Acme status] Scheduled: Search index rebuild"]
    engine.run_due()  # nothing more: each subscriber got each update once
    assert len(_updates(smtp, "all@example.com")) == 3 and len(hook.bodies) == 3
