"""Across domains: an Alertmanager alert opens an incident that pages the route's policy, at a real local
webhook; acknowledging through the page's one-click link stops the escalation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.alerts.conftest import am_alert, am_payload
from tests.oncall.helpers import Webhook
from warroom.alerts import integrations
from warroom.config import parse_config_text
from warroom.engine.worker import Engine


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def config(webhook: Webhook):
    return parse_config_text(
        f"""
users:
  - {{id: alice, name: Alice, contacts: ["{webhook.url("alice")}"]}}
  - {{id: bob, name: Bob, contacts: ["{webhook.url("bob")}"]}}
policies:
  - id: dba
    levels:
      - {{notify: [user:alice], escalate_after: 10m}}
      - {{notify: [user:bob]}}
routes:
  - name: db
    match: ['service="db"']
    policy: dba
"""
    )


def test_an_alert_pages_the_routes_policy_and_the_link_acknowledges(runtime, app, api, webhook, clock):
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    sender = TestClient(app, raise_server_exceptions=False)
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DBDown", service="db")))
    assert response.status_code == 200, response.text
    engine = Engine(runtime)
    engine.run_due()
    (page,) = webhook.wait_for(1, path="alice")
    assert "DBDown" in page.title + page.body
    clock.advance(minutes=5)
    engine.run_due()
    assert webhook.at("bob") == []
    # The one-click link: GET shows a confirmation, POST acts (no token needed, the link is signed).
    link = page.link("acknowledge")
    path = "/" + link.split("/", 3)[3]
    assert sender.get(path).status_code == 200
    # The POST answers the page itself (200), not a redirect: there is nothing to go back to in a mail client.
    acted = sender.post(path)
    assert acted.status_code == 200, acted.text
    assert "Acknowledged by alice" in acted.text
    assert api.get("/api/v1/incidents/1").json()["status"] == "acknowledged"
    clock.advance(minutes=30)
    engine.run_due()
    assert webhook.at("bob") == []  # acknowledged: level 2 never pages


def test_without_an_acknowledgement_the_next_level_is_paged(runtime, app, webhook, clock):
    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    sender = TestClient(app, raise_server_exceptions=False)
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DBDown", service="db"))).status_code == 200
    engine = Engine(runtime)
    engine.run_due()
    webhook.wait_for(1, path="alice")
    clock.advance(minutes=10)
    engine.run_due()
    webhook.wait_for(1, path="bob")
