"""Reminders through a real local webhook receiver, with the injected clock: the commander of a required
post-mortem when it is due and overdue (publishing or reopening stops them), the owner of an overdue item."""

from __future__ import annotations

from datetime import timedelta

from warroom.engine import jobs


def titles(webhook, path: str) -> list[str]:
    return [m.title for m in webhook.at(path)]


def test_the_commander_is_reminded_when_due_and_overdue_until_published(
    runtime, api, make_incident, engine, clock, webhook
):
    make_incident(severity="P1", commander="alice")
    make_incident(severity="P3", commander="alice", title="Typo on the status page")
    clock.advance(minutes=20)
    api.post("/api/v1/incidents/1/resolve")
    api.post("/api/v1/incidents/2/resolve")  # P3 needs no post-mortem: no reminder
    engine.run_due()
    (due,) = webhook.wait_for(1, path="alice")
    assert due.title == "Post-mortem due: [P1] #1 Checkout API 502s"
    assert "is due by 2026-01-07 09:20 UTC (not drafted yet)" in due.body
    assert "warroom postmortem draft 1" in due.body
    overdue = api.get("/api/v1/postmortems", params={"overdue": "true"}).json()
    assert overdue == []
    clock.advance(hours=47)
    engine.run_due()
    assert len(webhook.at("alice")) == 1  # not yet due
    clock.advance(hours=1)
    engine.run_due()
    webhook.wait_for(2, path="alice")
    assert titles(webhook, "alice")[1] == "Post-mortem overdue: [P1] #1 Checkout API 502s"
    listed = api.get("/api/v1/postmortems", params={"overdue": "true"}).json()
    assert [(r["incident"], r["state"], r["overdue"]) for r in listed] == [(1, None, True)]
    # Drafted but not published: still overdue, reminded again a day later.
    api.post("/api/v1/incidents/1/postmortem")
    clock.advance(days=1)
    engine.run_due()
    third = webhook.wait_for(3, path="alice")[2]
    assert "was due on 2026-01-07 09:20 UTC (draft, version 1)" in third.body
    api.post("/api/v1/postmortems/1/state", json={"state": "in_review"})
    api.post("/api/v1/postmortems/1/state", json={"state": "published"})
    assert api.get("/api/v1/postmortems", params={"overdue": "true"}).json() == []
    with runtime.db.session() as session:
        assert jobs.pending(session, "postmortems.remind") == []  # publishing cancelled them
    clock.advance(days=3)
    engine.run_due()
    assert len(webhook.at("alice")) == 3
    assert webhook.at("bob") == []


def test_reopening_the_incident_cancels_the_reminders(runtime, api, make_incident, engine, clock, webhook):
    make_incident(severity="P0", commander="alice")
    api.post("/api/v1/incidents/1/resolve")
    api.post("/api/v1/incidents/1/reopen")
    with runtime.db.session() as session:
        assert jobs.pending(session, "postmortems.remind") == []
    clock.advance(days=3)
    engine.run_due()
    # The reopened incident's status-update reminders go on (the on-call domain's); no post-mortem one.
    assert [t for t in titles(webhook, "alice") if "Post-mortem" in t] == []


def test_an_overdue_action_item_reminds_its_owner(runtime, api, make_incident, engine, clock, webhook):
    make_incident(severity="P2")
    made = api.post(
        "/api/v1/action-items",
        json={
            "incident": 1,
            "text": "Add a replica",
            "owner": "bob",
            "due": "2026-01-06",
            "ticket_url": "https://t.example/1",
        },
    )
    assert made.status_code == 201, made.text
    api.post(
        "/api/v1/action-items", json={"incident": 1, "text": "Write the runbook", "owner": "alice", "due": "2026-02-01"}
    )
    clock.advance(hours=38)  # 2026-01-06 23:00: due today, not overdue
    engine.run_due()
    assert webhook.at("bob") == []
    assert api.get("/api/v1/action-items", params={"overdue": "true"}).json() == []
    clock.advance(hours=1)  # 2026-01-07 00:00
    engine.run_due()
    (reminder,) = webhook.wait_for(1, path="bob")
    assert reminder.title == "Action item overdue: Add a replica"
    assert "was due on 2026-01-06" in reminder.body and "warroom action done 1" in reminder.body
    overdue = api.get("/api/v1/action-items", params={"overdue": "true", "owner": "bob"}).json()
    assert [(i["id"], i["overdue"]) for i in overdue] == [(1, True)]
    assert api.get("/api/v1/action-items", params={"overdue": "true", "owner": "alice"}).json() == []
    api.patch("/api/v1/action-items/1", json={"status": "done"})
    with runtime.db.session() as session:
        assert [j.key for j in jobs.pending(session, "postmortems.item_overdue")] == ["2"]  # alice's, not yet due
    clock.advance(timedelta(days=8))
    engine.run_due()
    assert len(webhook.at("bob")) == 1  # done: no weekly repeat
    assert webhook.at("alice") == []


def test_action_item_counts_for_the_reports(runtime, api, make_incident, clock):
    from warroom.postmortems import service

    make_incident(severity="P2")
    start = clock.now()
    for text, due in (("One", "2026-01-06"), ("Two", "2026-01-20"), ("Three", None)):
        api.post("/api/v1/action-items", json={"incident": 1, "text": text, "due": due})
    clock.advance(days=2)
    api.patch("/api/v1/action-items/3", json={"status": "done"})
    with runtime.db.session() as session:
        counts = service.action_item_counts(session, since=start, until=start + timedelta(days=7))
    assert counts == {"opened": 3, "done": 1, "overdue": 1}
