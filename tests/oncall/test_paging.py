"""Paging through escalation policies, with the fake clock and a real local webhook receiver."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from tests.oncall.helpers import Webhook, oncall_config
from warroom.config import ConfigFile
from warroom.engine import jobs
from warroom.incidents import timeline
from warroom.notify.models import Notification
from warroom.oncall import paging


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    return oncall_config(webhook)


def kinds(runtime, number: int) -> list[str]:
    with runtime.db.session() as session:
        return [e.kind for e in timeline.events(session, number)]


def events(runtime, number: int, kind: str) -> list[Any]:
    with runtime.db.session() as session:
        return [e for e in timeline.events(session, number) if e.kind == kind]


def paths(webhook: Webhook) -> list[str]:
    """Where pages went, in order (update reminders left out)."""
    return [m.path.strip("/") for m in webhook.messages if not m.title.startswith("Update due")]


def test_a_p1_pages_whoever_is_on_call_at_once_and_says_so_on_the_timeline(runtime, make_incident, engine, webhook):
    incident = make_incident(severity="P1")
    engine.run_due()
    (message,) = webhook.wait_for(1)
    assert message.path == "/alice"
    assert f"#{incident.number}" in message.title and "P1" in message.title
    assert "Acknowledge: http://127.0.0.1:8080/l/" in message.body
    assert kinds(runtime, incident.number)[:3] == ["declared", "paging_started", "paged"]
    (sent,) = events(runtime, incident.number, "notification_sent")
    assert sent.message == "paged alice by json"
    assert sent.data["notification"] == message.notification and sent.data["method"] == "json"


def test_p3_does_not_page(runtime, make_incident, engine, webhook):
    incident = make_incident(severity="P3")
    engine.run_due()
    assert webhook.messages == []
    assert "paging_started" not in kinds(runtime, incident.number)


def test_levels_follow_their_waits_and_the_policy_repeats(runtime, make_incident, engine, webhook, clock):
    make_incident(severity="P2")  # acknowledge target 30 min: it coincides with a step here
    engine.run_due()
    clock.advance(minutes=9, seconds=59)
    engine.run_due()
    assert paths(webhook) == ["alice"]
    clock.advance(seconds=1)
    engine.run_due()
    assert paths(webhook) == ["alice", "bob"]
    clock.advance(minutes=20)  # level 2 waits 20 min; the database level is not for this category
    engine.run_due()
    assert paths(webhook) == ["alice", "bob", "alice"]  # repeat 1: from the top once more
    clock.advance(minutes=10)
    engine.run_due()
    clock.advance(hours=5)
    engine.run_due()
    assert paths(webhook) == ["alice", "bob", "alice", "bob"]  # then the policy has run out
    with runtime.db.session() as session:
        assert paging.get(session, 1).state == "exhausted"
    missed = events(runtime, 1, "acknowledge_target_missed")
    assert len(missed) == 1 and missed[0].data["escalated"] is False


def test_missing_the_acknowledge_target_is_recorded_and_escalates(runtime, make_incident, engine, webhook, clock):
    make_incident(severity="P1")  # acknowledge target 15 min; level 2 waits until minute 30
    engine.run_due()
    clock.advance(minutes=10)
    engine.run_due()
    clock.advance(minutes=5)
    engine.run_due()
    assert paths(webhook) == ["alice", "bob", "alice"]
    (missed,) = events(runtime, 1, "acknowledge_target_missed")
    assert missed.message == "not acknowledged within the P1 target of 15m; escalating now"
    assert events(runtime, 1, "escalated")[-1].data["reason"] == "acknowledge target missed"


def test_acknowledging_stops_the_escalation(runtime, make_incident, engine, webhook, clock, api):
    make_incident(severity="P1")
    engine.run_due()
    assert api.post("/api/v1/incidents/1/acknowledge").status_code == 200
    clock.advance(hours=2)
    engine.run_due()
    assert paths(webhook) == ["alice"]
    with runtime.db.session() as session:
        assert jobs.get(session, paging.STEP, "1") is None
        assert paging.get(session, 1).state == "acknowledged"
    assert events(runtime, 1, "paging_stopped")[0].message.endswith("acknowledged by alice")


def test_resolving_cancels_pages_not_sent_yet(runtime, make_incident, engine, webhook, clock, api):
    make_incident(severity="P1")  # the first page is queued with the declaration; it has not gone out
    api.post("/api/v1/incidents/1/resolve", json={"message": "false alarm"})
    clock.advance(hours=2)
    engine.run_due()
    assert webhook.messages == []
    with runtime.db.session() as session:
        (page,) = session.scalars(select(Notification)).all()
        assert page.state == "cancelled"
        # No step, no acknowledge target, no reminder left (a P1's post-mortem reminders are another matter).
        assert [j for j in jobs.pending(session) if not j.kind.startswith("postmortems.")] == []


def test_the_category_adds_the_database_level(runtime, make_incident, engine, webhook, api):
    make_incident(severity="P1", data={"category": "database"})
    engine.run_due()
    api.post("/api/v1/incidents/1/escalate")
    answer = api.post("/api/v1/incidents/1/escalate")
    assert answer.status_code == 200 and answer.json()["next_level"] == 1  # repeat starts over next
    engine.run_due()
    assert sorted(paths(webhook)) == ["alice", "bob", "carol", "database-experts"]
    escalated = events(runtime, 1, "escalated")
    assert escalated[-1].message == "level 3: paging carol by json; team database channel"
    assert escalated[-1].actor == "alice"


def test_a_service_pages_with_its_teams_policy_and_declare_can_choose_one(runtime, make_incident, engine, webhook):
    make_incident(severity="P1", services=["postgres"])
    make_incident(severity="P1", data={"policy": "database"})
    engine.run_due()
    assert paths(webhook) == ["database-experts", "database-experts"]
    assert events(runtime, 1, "paging_started")[0].data["policy"] == "database"


def test_declaring_with_an_unknown_policy_is_refused(api):
    answer = api.post("/api/v1/incidents", json={"title": "x", "severity": "P1", "policy": "nope"})
    assert answer.status_code == 422
    assert "Unknown escalation policy 'nope'" in answer.json()["detail"]


def test_raising_the_severity_starts_paging_and_lowering_it_stops(runtime, make_incident, engine, webhook, api):
    make_incident(severity="P3")
    engine.run_due()
    assert webhook.messages == []
    api.patch("/api/v1/incidents/1", json={"severity": "P1"})
    engine.run_due()
    assert paths(webhook) == ["alice"]
    api.patch("/api/v1/incidents/1", json={"severity": "P4"})
    with runtime.db.session() as session:
        assert paging.get(session, 1).state == "stopped"
        assert jobs.get(session, paging.STEP, "1") is None


def test_reopening_pages_again_with_new_notification_ids(runtime, make_incident, engine, webhook, api, clock):
    make_incident(severity="P1")
    engine.run_due()
    api.post("/api/v1/incidents/1/resolve")
    clock.advance(minutes=5)
    api.post("/api/v1/incidents/1/reopen", json={"message": "it is back"})
    engine.run_due()
    first, second = webhook.wait_for(2)
    assert first.path == second.path == "/alice"
    assert first.notification != second.notification
    # A person moving the reopened incident on stops the paging (it cannot be acknowledged again).
    api.patch("/api/v1/incidents/1", json={"status": "identified", "message": "found it"})
    with runtime.db.session() as session:
        assert paging.get(session, 1).state == "acknowledged"


def test_running_a_step_twice_pages_once(runtime, make_incident, engine, webhook, clock):
    make_incident(severity="P1")
    clock.advance(minutes=10)
    with runtime.db.session() as session:
        payload = dict(jobs.get(session, paging.STEP, "1").payload)  # level 2 is due
    engine.run_due()
    with runtime.db.transaction() as session:
        # The same step again, as if an engine died after the first run committed.
        paging.run_step(session, runtime, 1, payload, runtime.clock.now())
    engine.run_due()
    assert paths(webhook) == ["alice", "bob"]
    with runtime.db.session() as session:
        assert len(session.scalars(select(Notification)).all()) == 2


def test_a_page_that_never_arrives_falls_through_to_the_next_level(runtime, make_incident, engine, webhook, clock):
    make_incident(severity="P2", data={"policy": "fragile"})  # dora's pager does not answer; waits are 1 h
    engine.run_due()
    for _ in range(40):  # retries back off 5 s, 10 s ... 2 min; the budget is 15 min
        clock.advance(seconds=30)
        engine.run_due()
    assert paths(webhook) == ["bob"]
    (failed,) = events(runtime, 1, "notification_failed")
    assert failed.message.startswith("could not reach dora by pager after")
    assert failed.data["attempts"] >= 6
    assert events(runtime, 1, "escalated")[0].data["reason"] == "every page of the previous level failed"
    with runtime.db.session() as session:
        page = session.get(Notification, failed.data["notification"])
        assert page.state == "failed"


def test_a_receiver_down_for_ten_minutes_loses_nothing(runtime, make_incident, engine, webhook, clock, api):
    webhook.down = True
    make_incident(severity="P1")
    engine.run_due()
    for _ in range(20):
        clock.advance(seconds=30)
        engine.run_due()
    assert webhook.messages == []
    webhook.down = False
    clock.advance(minutes=2)
    engine.run_due()
    received = [m for m in webhook.messages if m.path == "/alice"]
    assert len(received) == 1
    answer = api.get("/api/v1/incidents/1/notifications").json()
    alice = next(n for n in answer if n["user"] == "alice" and n["level"] == 1)
    assert alice["state"] == "sent" and alice["id"] == received[0].notification
    assert len(alice["attempts"]) > 5 and not alice["attempts"][0]["ok"] and alice["attempts"][-1]["ok"]


def test_notification_rules_add_a_method_after_a_delay_unless_acknowledged(
    runtime, make_incident, engine, webhook, clock, api
):
    api.put(
        "/api/v1/users/alice",
        json={
            "id": "alice",
            "contacts": [
                {"label": "push", "url": webhook.url("alice-push")},
                {"label": "phone", "url": webhook.url("alice-phone")},
            ],
            "rules": [{"after": "0m", "contacts": ["push"]}, {"after": "5m", "contacts": ["phone"], "urgency": "high"}],
        },
    )
    make_incident(severity="P1", title="Acknowledged in time")
    make_incident(severity="P1", title="Nobody answers")
    make_incident(severity="P2", title="Low urgency")  # the phone rule is for high urgency only
    engine.run_due()
    assert sorted(paths(webhook)) == ["alice-push", "alice-push", "alice-push"]
    clock.advance(minutes=3)
    api.post("/api/v1/incidents/1/acknowledge")
    clock.advance(minutes=2)
    engine.run_due()
    phone = [m.title for m in webhook.messages if m.path == "/alice-phone"]
    assert phone == ["[P1] #2 Nobody answers"]


def test_raising_to_p0_adds_the_levels_chosen_by_severity(runtime, make_incident, engine, webhook, api):
    api.put(
        "/api/v1/policies/default",
        json={
            "id": "default",
            "levels": [
                {"notify": ["user:alice"], "escalate_after": "10m"},
                {"notify": ["user:carol"], "escalate_after": "10m", "when": {"severity": ["P0"]}},
                {"notify": ["user:bob"], "escalate_after": "10m"},
            ],
        },
    )
    make_incident(severity="P1")
    assert [lv["notify"] for lv in api.get("/api/v1/incidents/1/paging").json()["levels"]] == [
        ["user:alice"],
        ["user:bob"],
    ]
    api.patch("/api/v1/incidents/1", json={"severity": "P0"})
    paging_state = api.get("/api/v1/incidents/1/paging").json()
    assert [lv["notify"] for lv in paging_state["levels"]] == [["user:alice"], ["user:carol"], ["user:bob"]]
    assert events(runtime, 1, "paging_reevaluated")[0].message == "paging re-evaluated for P0: 3 levels"
    engine.run_due()  # only the first page is due; the P0 acknowledge target is 5 minutes away
    assert paths(webhook) == ["alice"]


def test_escalating_an_incident_that_never_paged_starts_its_policy(runtime, make_incident, engine, webhook, api):
    make_incident(severity="P3")
    answer = api.post("/api/v1/incidents/1/escalate")
    assert answer.status_code == 200 and answer.json()["state"] == "active"
    engine.run_due()
    assert paths(webhook) == ["alice"]
    assert events(runtime, 1, "paging_started")[0].data["reason"] == "manual"
    api.post("/api/v1/incidents/1/resolve")
    assert api.post("/api/v1/incidents/1/escalate").status_code == 409


def test_a_team_member_removed_from_the_config_is_skipped_not_fatal(runtime, make_incident, engine, webhook, api):
    with runtime.db.transaction() as session:
        # As after a config sync that dropped carol: the team still names her.
        session.execute(text("DELETE FROM oncall_users WHERE id = 'carol'"))
    api.put("/api/v1/policies/default", json={"id": "default", "levels": [{"notify": ["team:database", "user:bob"]}]})
    make_incident(severity="P1")
    engine.run_due()
    assert sorted(paths(webhook)) == ["bob", "database-experts"]
    (paged,) = events(runtime, 1, "paged")
    assert paged.data["problems"] == ["unknown user carol"]


def test_a_step_that_keeps_crashing_says_so_on_the_timeline(
    runtime, make_incident, engine, webhook, clock, monkeypatch
):
    make_incident(severity="P2")
    engine.run_due()

    def broken(*args, **kwargs):
        raise RuntimeError("schedule store unreachable")

    monkeypatch.setattr(paging, "resolve_targets", broken)
    for _ in range(30):
        clock.advance(minutes=10)
        engine.run_due()
    errors = events(runtime, 1, "paging_error")
    assert errors and "RuntimeError: schedule store unreachable" in errors[0].message
    assert "warroom incident escalate 1" in errors[0].message


def test_each_level_waits_its_own_escalate_after(runtime, make_incident, engine, webhook, clock, api):
    # Waits of 2, 7 and 13 minutes: level 2 at 2m, level 3 at 9m, level 4 at 22m (all before P2's 30m target).
    policy = {
        "id": "stepped",
        "levels": [
            {"notify": ["user:alice"], "escalate_after": "2m"},
            {"notify": ["user:bob"], "escalate_after": "7m"},
            {"notify": ["user:carol"], "escalate_after": "13m"},
            {"notify": ["channel:database"], "escalate_after": "5m"},
        ],
    }
    assert api.post("/api/v1/policies", json=policy).status_code == 201
    make_incident(severity="P2", data={"policy": "stepped"})
    first_paged: dict[str, int] = {}
    for step in range(0, 25 * 60 + 1, 30):  # every 30 s for 25 minutes
        engine.run_due()
        for path in paths(webhook):
            first_paged.setdefault(path, step)
        clock.advance(seconds=30)
    assert first_paged == {"alice": 0, "bob": 2 * 60, "carol": 9 * 60, "database-experts": 22 * 60}
    assert paths(webhook) == ["alice", "bob", "carol", "database-experts"]
