"""Webhook subscribers: the admin API and CLI's routes, Statuspage-shaped bodies, retries after a failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.subscribers.receivers import Hook
from warroom.engine.worker import Engine
from warroom.runtime import Runtime
from warroom.statuspage.subscriber_models import Delivery

ROUTE = "/api/v1/status/subscribers"


@pytest.mark.backend("sqlite")
def test_only_an_admin_manages_subscribers(client_for: Callable[..., TestClient], source: Any) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "components": ["api"]}
    bogus = client_for(None)
    bogus.headers["Authorization"] = "Bearer wr_bogus_token"
    for client, expected in (
        (client_for(None), 401),
        (bogus, 401),
        (client_for("viewer"), 403),
        (client_for("responder"), 403),
    ):
        assert client.get(ROUTE).status_code == expected
        assert client.post(ROUTE, json=body).status_code == expected
        assert client.delete(f"{ROUTE}/1").status_code == expected
    admin = client_for("admin")
    created = admin.post(ROUTE, json=body)
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["kind"] == "webhook" and row["state"] == "confirmed" and row["components"] == ["api"]
    assert [r["id"] for r in admin.get(ROUTE).json()] == [row["id"]]
    assert admin.post(ROUTE, json=body).status_code == 409
    assert admin.delete(f"{ROUTE}/{row['id']}").status_code == 204
    assert admin.delete(f"{ROUTE}/{row['id']}").status_code == 404
    assert admin.get(ROUTE).json() == []


@pytest.mark.backend("sqlite")
def test_webhook_urls_are_checked_naming_the_field(api: TestClient, source: Any) -> None:
    for url in (
        "file:///etc/passwd",
        "ftp://example.com/x",
        "http://",
        "http://exa mple.com/",
        "http://h/\r\nX: y",
        "javascript:alert(1)",
        "http://example.com:99999/",
    ):
        answer = api.post(ROUTE, json={"url": url})
        assert answer.status_code == 422, url
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "url" in answer.text
    answer = api.post(ROUTE, json={"url": "http://example.com/h", "components": ["no-such"]})
    assert answer.status_code == 422 and "components" in answer.text


@pytest.mark.backend("sqlite")
def test_a_webhook_url_with_credentials_is_listed_masked(api: TestClient, source: Any) -> None:
    api.post(ROUTE, json={"url": "https://user:s3cret@hooks.example.com/x?token=abcdef"})
    [row] = api.get(ROUTE).json()
    assert row["address"] == "https://hooks.example.com/x?..."
    assert "s3cret" not in api.get(ROUTE).text and "abcdef" not in api.get(ROUTE).text


def test_webhook_gets_a_statuspage_body_and_is_retried_after_a_failure(
    api: TestClient, hook: Hook, engine: Engine, publish: Callable[..., Any], clock: Any, runtime: Runtime
) -> None:
    assert api.post(ROUTE, json={"url": hook.url}).status_code == 201
    hook.fail = 1
    first = publish("We are investigating slow checkouts.")
    engine.run_due()
    assert hook.refused == 1 and hook.bodies == []
    clock.advance(timedelta(seconds=11))
    engine.run_due()
    [body] = hook.bodies
    assert set(body) == {"meta", "page", "incident"}
    assert body["meta"]["unsubscribe"].startswith("http://127.0.0.1:8080/status/unsubscribe/")
    assert body["page"]["status_indicator"] == "major"
    incident = body["incident"]
    assert incident["name"] == "Checkout is slow" and incident["status"] == "investigating"
    assert incident["impact"] == "major" and incident["component_ids"] == ["checkout"]
    [entry] = incident["incident_updates"]
    assert entry["id"] == first.id and entry["body"] == "We are investigating slow checkouts."
    assert entry["status"] == "investigating" and entry["display_at"].endswith("Z")
    assert "INTERNAL" not in str(body) and "bob" not in str(body) and "alice" not in str(body)

    second = publish("Cause found.", status="identified")
    engine.run_due()
    clock.advance(timedelta(minutes=10))
    engine.run_due()
    assert len(hook.bodies) == 2  # each update exactly once, the retried one included
    assert [u["id"] for u in hook.bodies[1]["incident"]["incident_updates"]] == [second.id, first.id]
    with runtime.db.session() as session:
        assert [d.state for d in session.scalars(select(Delivery).order_by(Delivery.id))] == ["sent", "sent"]

    # The webhook's own unsubscribe link (Statuspage's meta.unsubscribe) removes it.
    path = body["meta"]["unsubscribe"].removeprefix("http://127.0.0.1:8080")
    assert api.post(path).status_code == 200
    assert api.get(ROUTE).json() == []


def test_a_receiver_that_keeps_failing_is_given_up_after_retry_for(
    api: TestClient, hook: Hook, engine: Engine, publish: Callable[..., Any], clock: Any, runtime: Runtime
) -> None:
    api.post(ROUTE, json={"url": hook.url})
    hook.fail = 10_000
    publish("Down.")
    for _ in range(12):
        engine.run_due()
        clock.advance(timedelta(minutes=10))
    engine.run_due()
    with runtime.db.session() as session:
        delivery = session.scalars(select(Delivery)).one()
    assert delivery.state == "failed" and delivery.last_error == "HTTP 503"
    refused = hook.refused
    clock.advance(timedelta(hours=2))
    engine.run_due()
    assert hook.refused == refused and hook.bodies == []


def test_publishing_the_same_update_twice_delivers_it_once(
    api: TestClient, hook: Hook, engine: Engine, publish: Callable[..., Any], runtime: Runtime, source: Any
) -> None:
    from warroom.auth.actor import SYSTEM
    from warroom.incidents import timeline
    from warroom.incidents.models import Incident

    api.post(ROUTE, json={"url": hook.url})
    update = publish("Once.")
    engine.run_due()
    with runtime.db.transaction() as session:  # the same event again (a retried publish, a replay)
        incident = session.scalars(select(Incident)).first()
        assert incident is not None
        timeline.append(
            session,
            incident,
            kind="status_update_published",
            actor=SYSTEM,
            at=runtime.clock.now(),
            data={"update_id": update.id, "status": "investigating", "public": True},
        )
    engine.run_due()
    assert len(hook.bodies) == 1
