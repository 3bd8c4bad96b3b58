"""Publishing an incident and posting public updates: explicit acts, posted once everywhere."""

from __future__ import annotations

import pytest

from warroom.incidents import timeline
from warroom.statuspage import service as statuspage


def _kinds(runtime, number):
    with runtime.db.session() as session:
        return [e.kind for e in timeline.events(session, number)]


def test_publish_then_update_posts_once_to_timeline_page_and_channel(
    runtime, api, make_incident, engine, webhook, snapshot, clock
):
    incident = make_incident(severity="P1", services=["postgres"], title="pg primary down")
    published = api.post(
        f"/api/v1/incidents/{incident.id}/publish", json={"title": "Database is slow", "components": ["Database"]}
    )
    assert published.status_code == 201, published.text
    body = published.json()
    assert (body["status"], body["components"], body["updates"][0]["status"]) == (
        "investigating",
        ["Database"],
        "investigating",
    )
    assert body["updates"][0]["body"] == (
        "We are investigating reports of Database is slow. We will provide updates as we learn more."
    )
    clock.advance(minutes=20)
    posted = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates",
        json={"status": "identified", "body": "We found the cause.", "actions": "Failing over to the replica"},
    )
    assert posted.status_code == 201, posted.text
    update = posted.json()
    assert update["posted"] and update["public_text"] == "We found the cause."
    internal = update["internal_message"]
    assert internal.startswith("INCIDENT UPDATE - 2026-")
    for line in (
        "Incident: #1 pg primary down",
        "Severity: P1",
        "Status: Identified",
        "Actions: Failing over to the replica",
    ):
        assert line in internal
    # P1's cadence is an hour: the next update is due an hour after this one.
    assert update["next_update_at"].startswith("2026-01-05T10:20")
    kinds = _kinds(runtime, incident.id)
    assert kinds.count("status_published") == 1 and kinds.count("status_update_published") == 1
    with runtime.db.session() as session:
        (event,) = [e for e in timeline.events(session, incident.id) if e.kind == "status_update_published"]
        assert event.data["update_id"] == update["update_id"] and event.data["public"] is True
        assert event.data["status"] == "identified"
        assert session.get(type(incident), incident.id).status == "identified"  # the internal incident follows
        assert session.get(type(incident), incident.id).last_update_at == clock.now()  # reminders count from it
    snap = snapshot()
    assert snap.incidents[0].status == "identified"
    assert snap.incidents[0].updates[0].body == "We found the cause."
    engine.run_due()
    posts = webhook.wait_for(2, path="database-experts")  # the publication and the update (the page was acknowledged)
    assert sorted(m.title for m in posts) == [
        "INCIDENT UPDATE - 2026-01-05 09:00 UTC",
        "INCIDENT UPDATE - 2026-01-05 09:20 UTC",
    ]
    assert any("Actions: Failing over to the replica" in m.body for m in posts)
    engine.run_due()  # each job ran once: running the engine again posts nothing more
    assert len([m for m in webhook.at("database-experts") if "Failing over" in m.body]) == 1


def test_without_text_the_template_is_used_only_when_confirmed(api, make_incident):
    incident = make_incident(severity="P2", services=["checkout"])
    api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "Checkout errors", "components": ["Checkout"]})
    refused = api.post(f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "identified"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body"
    confirmed = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "identified", "use_template": True}
    )
    assert confirmed.status_code == 201
    assert confirmed.json()["public_text"] == (
        "We have identified the cause of Checkout errors and are implementing a fix."
    )
    assert confirmed.json()["from_template"] is True


def test_dry_run_previews_both_texts_and_posts_nothing(runtime, api, make_incident, snapshot):
    incident = make_incident(severity="P0", services=["checkout"], title="Internal: card processor 500s")
    api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "Payments fail", "components": ["Checkout"]})
    before = _kinds(runtime, incident.id)
    preview = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates",
        json={"status": "monitoring", "use_template": True, "dry_run": True},
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["posted"] is False and preview.json()["update_id"] is None
    assert preview.json()["public_text"] == "A fix has been implemented and we are monitoring the results."
    assert "Severity: P0" in preview.json()["internal_message"]
    assert _kinds(runtime, incident.id) == before
    assert snapshot().incidents[0].status == "investigating"


def test_refusals_name_the_field(api, make_incident):
    incident = make_incident(severity="P1", services=["checkout"])
    not_published = api.post(
        f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "identified", "body": "x"}
    )
    assert not_published.status_code == 404
    unknown = api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "T", "components": ["Nope"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "components"
    assert api.post("/api/v1/incidents/999/publish", json={"title": "T"}).status_code == 404
    assert (
        api.post(
            f"/api/v1/incidents/{incident.id}/publish", json={"title": "T", "components": ["Checkout"]}
        ).status_code
        == 201
    )
    twice = api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "T"})
    assert twice.status_code == 409
    bad_status = api.post(f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "exploded", "body": "x"})
    assert bad_status.status_code == 422


def test_a_drill_is_never_published(runtime, api, make_incident, snapshot):
    drill = make_incident(severity="P1", services=["checkout"], labels={"drill": "true"})
    refused = api.post(f"/api/v1/incidents/{drill.id}/publish", json={"title": "Slow", "components": ["Checkout"]})
    assert refused.status_code == 409
    assert "drill" in refused.json()["detail"]
    flagged = make_incident(severity="P1", services=["checkout"])
    with runtime.db.transaction() as session:  # the drills domain's flag (`warroom drill run` sets it)
        session.get(type(flagged), flagged.id).drill = True
    refused = api.post(f"/api/v1/incidents/{flagged.id}/publish", json={"title": "Slow", "components": ["Checkout"]})
    assert refused.status_code == 409
    assert snapshot().incidents == ()


def test_history_and_public_incident(runtime, api, make_incident, clock):
    numbers = []
    for n in range(3):
        incident = make_incident(severity="P2", services=["search"])
        api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": f"Search {n}", "components": ["Search"]})
        numbers.append(incident.id)
        clock.advance(minutes=5)
    for number in numbers[:2]:
        api.post(f"/api/v1/incidents/{number}/public-updates", json={"status": "resolved", "body": "Fixed."})
        clock.advance(minutes=5)
    with runtime.db.session() as session:
        page, total = statuspage.history(session, page=1, per_page=1, now=clock.now())
        assert total == 2 and [i.name for i in page] == ["Search 1"]
        page2, _ = statuspage.history(session, page=2, per_page=1, now=clock.now())
        assert [i.name for i in page2] == ["Search 0"]
        one = statuspage.public_incident(session, page[0].id, now=clock.now())
        assert (one.status, [u.status for u in one.updates]) == ("resolved", ["resolved", "investigating"])
        with pytest.raises(statuspage.NotFound):
            statuspage.public_incident(session, "nope", now=clock.now())


@pytest.mark.parametrize(
    ("method", "path", "body", "least"),
    [
        ("GET", "/api/v1/status/components", None, "viewer"),
        ("POST", "/api/v1/status/components", {"name": "New"}, "admin"),
        ("POST", "/api/v1/status/components/Search/override", {"status": None}, "responder"),
        ("POST", "/api/v1/incidents/1/publish", {"title": "Slow", "components": ["Search"]}, "responder"),
        ("GET", "/api/v1/status/maintenance", None, "viewer"),
    ],
)
def test_roles(client_for, make_incident, method, path, body, least):
    make_incident(severity="P2", services=["search"])
    assert client_for(None).request(method, path, json=body).status_code == 401
    bogus = client_for(None)
    bogus.headers["Authorization"] = "Bearer wr_bogus"
    assert bogus.request(method, path, json=body).status_code == 401
    order = ["viewer", "responder", "admin"]
    for role in order:
        answer = client_for(role).request(method, path, json=body).status_code
        if order.index(role) < order.index(least):
            assert answer == 403, (role, answer)
        else:
            assert answer in (200, 201), (role, answer)
            break
