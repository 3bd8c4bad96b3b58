"""Notifications: one-click links, storm digests, update reminders, email for real, metrics, no secrets shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.oncall.helpers import Mailbox, Webhook, oncall_config
from warroom.config import ConfigFile
from warroom.incidents import timeline
from warroom.notify.models import Notification


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def events(runtime: Any, number: int, kind: str) -> list[Any]:
    with runtime.db.session() as session:
        return [e for e in timeline.events(session, number) if e.kind == kind]


def link_path(url: str) -> str:
    return url.replace("http://127.0.0.1:8080", "")


def test_the_acknowledge_link_shows_a_page_then_acknowledges_as_the_person_paged(
    runtime, make_incident, engine, webhook, client_for
):
    make_incident(severity="P1")
    engine.run_due()
    (page,) = webhook.wait_for(1)
    anonymous = client_for(None)
    url = link_path(page.link("acknowledge"))
    confirm = anonymous.get(url)
    assert confirm.status_code == 200
    assert "Acknowledge incident #1" in confirm.text and "<form method=post>" in confirm.text
    assert events(runtime, 1, "acknowledged") == []  # a GET never acts
    done = anonymous.post(url)
    assert done.status_code == 200 and "Acknowledged by alice" in done.text
    (acked,) = events(runtime, 1, "acknowledged")
    assert acked.actor == "alice" and acked.actor_kind == "user"
    (via,) = events(runtime, 1, "notification_acknowledged")
    assert via.data == {"notification": page.notification, "user": "alice", "via": "link", "method": "json"}
    again = anonymous.post(url)
    assert again.status_code == 410 and "already used to acknowledge incident #1" in again.text


def test_the_resolve_link_resolves(runtime, make_incident, engine, webhook, client_for, api):
    make_incident(severity="P1")
    engine.run_due()
    (page,) = webhook.wait_for(1)
    assert client_for(None).post(link_path(page.link("resolve"))).status_code == 200
    incident = api.get("/api/v1/incidents/1").json()
    assert incident["status"] == "resolved"
    audit = api.get("/api/v1/audit").json()
    assert any(a["action"] == "incident.resolve" and a["actor"] == "alice" for a in audit)


def test_links_expire_and_cannot_be_forged(runtime, make_incident, engine, webhook, client_for, clock):
    make_incident(severity="P1")
    make_incident(severity="P1", title="Other")
    engine.run_due()
    page = next(m for m in webhook.wait_for(2) if "#1 " in m.title)
    url = link_path(page.link("acknowledge"))
    payload, signature = url.removeprefix("/l/").split(".")
    forged = "/l/" + payload.replace(payload[5], "A" if payload[5] != "A" else "B", 1) + "." + signature
    anonymous = client_for(None)
    assert anonymous.post(forged).status_code == 403
    clock.advance(hours=25)  # links last 24 h
    expired = anonymous.post(url)
    assert expired.status_code == 403 and "expired" in expired.text
    assert events(runtime, 1, "acknowledged") == [] and events(runtime, 2, "acknowledged") == []


def test_a_storm_pages_three_incidents_one_by_one_then_a_digest(runtime, make_incident, engine, webhook, clock):
    for n in range(6):
        make_incident(severity="P1", title=f"Storm {n}")
        clock.advance(seconds=5)
    engine.run_due()
    assert sorted(m.title for m in webhook.messages) == [f"[P1] #{n} Storm {n - 1}" for n in (1, 2, 3)]
    clock.advance(minutes=1)
    engine.run_due()
    digest = webhook.wait_for(4)[3]
    assert digest.path == "/alice" and digest.title == "3 incidents are paging you"
    for number in (4, 5, 6):
        assert f"#{number} Storm" in digest.body
        (sent,) = events(runtime, number, "notification_sent")
        assert sent.message == "paged alice by json in a digest"
    assert len(re.findall(r"Acknowledge: ", digest.body)) == 3


def test_one_person_gets_one_message_per_incident_and_level(runtime, make_incident, engine, webhook, api, clock):
    # alice is on the primary schedule and named directly: one message, not two.
    api.put(
        "/api/v1/policies/default",
        json={"id": "default", "levels": [{"notify": ["schedule:primary", "user:alice", "team:database"]}]},
    )
    api.put("/api/v1/teams/database", json={"id": "database", "members": ["alice", "carol"]})
    make_incident(severity="P1")
    engine.run_due()
    assert sorted(m.path for m in webhook.messages) == ["/alice", "/carol"]


def test_the_commander_is_reminded_until_an_update_is_posted(runtime, make_incident, engine, webhook, clock, api):
    make_incident(severity="P1", commander="bob")  # P1: an update every hour
    engine.run_due()
    api.post("/api/v1/incidents/1/acknowledge")
    clock.advance(minutes=60)
    engine.run_due()
    reminder = [m for m in webhook.messages if m.title.startswith("Update due")]
    assert [m.path for m in reminder] == ["/bob"]
    assert "warroom incident update 1" in reminder[0].body
    (event,) = events(runtime, 1, "update_reminder")
    assert event.message == "status update due (every 1h 00m); reminded bob by json"
    clock.advance(minutes=10)
    api.patch("/api/v1/incidents/1", json={"message": "Rolled back the deploy; watching error rates."})
    clock.advance(minutes=55)  # 65 min after the reminder but only 55 after the update: nothing yet
    engine.run_due()
    assert len(events(runtime, 1, "update_reminder")) == 1
    clock.advance(minutes=5)
    engine.run_due()
    assert len(events(runtime, 1, "update_reminder")) == 2


def test_without_a_commander_whoever_was_paged_is_reminded(runtime, make_incident, engine, webhook, clock):
    make_incident(severity="P0")  # P0: every 30 min
    engine.run_due()
    clock.advance(minutes=30)
    engine.run_due()
    reminded = events(runtime, 1, "update_reminder")[0]
    assert reminded.data["to"] == ["bob"]  # level 2 was paged at minute 10 (P0's acknowledge target is 5 min)


def test_pages_arrive_by_email_for_real(runtime, api, engine, mailbox: Mailbox, make_incident):
    api.put(
        "/api/v1/users/alice",
        json={"id": "alice", "contacts": [{"label": "email", "url": mailbox.url("alice@example.test")}]},
    )
    make_incident(severity="P1", title="Database down")
    engine.run_due()
    (mail,) = mailbox.wait_for(1)
    assert mail.path == "alice@example.test"
    assert mail.title == "[P1] #1 Database down"
    assert "Acknowledge: http://127.0.0.1:8080/l/" in mail.body and mail.notification
    (sent,) = events(runtime, 1, "notification_sent")
    assert sent.message == "paged alice by email"


def test_test_notify_reports_each_method(api, webhook, mailbox):
    api.post("/api/v1/users/alice/contacts", json={"label": "email", "url": mailbox.url("a@example.test")})
    api.post("/api/v1/users/alice/contacts", json={"label": "broken", "url": "json://127.0.0.1:1/nothing"})
    results = api.post("/api/v1/users/alice/test-notify").json()
    assert [(r["method"], r["ok"]) for r in results] == [("json", True), ("email", True), ("broken", False)]
    assert "Connection error" in results[2]["error"]
    assert mailbox.wait_for(1)[0].title == "warroom test notification"


def test_test_notify_for_an_unknown_user_is_a_404_naming_the_user(api):
    answer = api.post("/api/v1/users/nobody/test-notify")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "No user 'nobody'" in answer.json()["detail"] and answer.json()["errors"][0]["field"] == "user"


def test_metrics_count_notifications_and_engine_lateness(runtime, make_incident, engine, webhook, api):
    make_incident(severity="P1")
    engine.run_due()
    text = api.get("/metrics").text
    assert 'warroom_notifications_total{kind="page",outcome="sent"} 1.0' in text
    assert 'warroom_notification_attempts_total{kind="page",result="ok"} 1.0' in text
    assert 'warroom_engine_job_lateness_seconds_count{kind="notify.deliver"} 1.0' in text
    assert 'warroom_engine_jobs{kind="oncall.step",state="pending"} 1.0' in text


def test_credentials_in_contact_urls_never_show(runtime, api, make_incident, engine, caplog):
    secret_url = "json://hookuser:s3cr3t-pw@127.0.0.1:1/hook?token=tok3n-value"
    api.put("/api/v1/users/alice", json={"id": "alice", "contacts": [{"label": "hook", "url": secret_url}]})
    make_incident(severity="P1")
    engine.run_due()
    answers = [
        api.get("/api/v1/users/alice").text,
        api.get("/api/v1/users").text,
        api.get("/api/v1/config/oncall").text,
        api.get("/api/v1/incidents/1/notifications").text,
        api.get("/api/v1/incidents/1").text,
        api.post("/api/v1/users/alice/test-notify").text,
    ]
    for text in [*answers, caplog.text]:
        assert "s3cr3t-pw" not in text and "tok3n-value" not in text
    assert "json://hookuser:****@127.0.0.1:1/hook?token=****" in answers[0]
    with runtime.db.session() as session:
        row = session.scalars(select(Notification)).first()
        assert row.url == secret_url  # kept to deliver, never shown


def test_a_digest_that_cannot_be_delivered_falls_through_for_each_incident(
    runtime, make_incident, engine, webhook, clock
):
    for n in range(5):  # dora's pager does not answer; the fifth and fourth come as a digest
        make_incident(severity="P2", title=f"Storm {n}", data={"policy": "fragile"})
    engine.run_due()
    clock.advance(minutes=1)
    engine.run_due()
    for _ in range(40):
        clock.advance(seconds=30)
        engine.run_due()
    for number in range(1, 6):
        reasons = [e.data["reason"] for e in events(runtime, number, "escalated")]
        assert reasons == ["every page of the previous level failed"], (number, reasons)
    # Bob is in a storm of his own now: three pages, then the other two in a digest.
    assert {m.path for m in webhook.messages} == {"/bob"}
    assert sorted(m.title for m in webhook.messages) == [
        "2 incidents are paging you",
        *[f"[P2] #{n} Storm {n - 1}" for n in (1, 2, 3)],
    ]
    digest_failures = [e for n in (4, 5) for e in events(runtime, n, "notification_failed")]
    assert {e.data["kind"] for e in digest_failures} == {"digest"}
