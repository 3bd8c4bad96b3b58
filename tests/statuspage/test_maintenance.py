"""Announced maintenance: upcoming, in progress and completed on time by itself, holding back paging meanwhile."""

from __future__ import annotations

from datetime import timedelta

from tests.statuspage.conftest import statuses
from warroom.statuspage import hooks
from warroom.statuspage import service as statuspage


def _alert(api, name):
    return api.post("/api/v1/integrations/pg/alerts", json={"labels": {"alertname": name, "service": "postgres"}})


def test_a_window_moves_on_by_itself_and_suppresses_paging_while_it_runs(runtime, api, engine, clock, snapshot):
    seen: list[tuple[str, str]] = []
    hooks.add_maintenance_hook(runtime, lambda session, event: seen.append((event.kind, event.status)))
    assert (
        api.post(
            "/api/v1/integrations", json={"name": "pg", "type": "alertmanager", "service": "postgres", "severity": "P1"}
        ).status_code
        == 201
    )
    start = clock.now() + timedelta(hours=1)
    announced = api.post(
        "/api/v1/status/maintenance",
        json={
            "title": "Database upgrade",
            "components": ["Database"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert announced.status_code == 201, announced.text
    body = announced.json()
    assert (body["status"], body["components"], len(body["windows"])) == ("scheduled", ["Database"], 1)
    # One object: the alert maintenance window is the announcement's, same start and end, for its service.
    (window,) = api.get("/api/v1/maintenance").json()
    assert (window["service"], window["starts_at"][:16], window["ends_at"][:16]) == (
        "postgres",
        start.isoformat()[:16],
        (start + timedelta(hours=2)).isoformat()[:16],
    )
    snap = snapshot()
    assert [(m.name, m.status, m.scheduled_for) for m in snap.maintenances] == [
        ("Database upgrade", "scheduled", start)
    ]
    assert statuses(snap)["Database"] == "operational"

    clock.advance(hours=1)
    engine.run_due()
    snap = snapshot()
    assert [m.status for m in snap.maintenances] == ["in_progress"]
    assert statuses(snap)["Database"] == "under_maintenance"
    assert snap.description == "Service Under Maintenance"
    _alert(api, "PgDown")
    assert api.get("/api/v1/incidents").json()["items"] == []  # held back: nobody is paged

    clock.advance(hours=2)
    engine.run_due()
    snap = snapshot()
    assert snap.maintenances == ()
    assert statuses(snap)["Database"] == "operational"
    with runtime.db.session() as session:
        done, total = statuspage.history(session, page=1, per_page=10, now=clock.now())
    assert total == 1 and (done[0].kind, done[0].status) == ("maintenance", "completed")
    assert [u.status for u in done[0].updates] == ["completed", "in_progress", "scheduled"]
    assert seen == [
        ("maintenance_scheduled", "scheduled"),
        ("maintenance_started", "in_progress"),
        ("maintenance_completed", "completed"),
    ]
    # After the window, what was held back and still fires pages (the alerts' re-evaluation), as do new alerts.
    _alert(api, "PgDownAgain")
    assert sorted(i["title"] for i in api.get("/api/v1/incidents").json()["items"]) == ["PgDown", "PgDownAgain"]


def test_withdrawn_maintenance_leaves_the_page_and_ends_its_windows(runtime, api, engine, clock, snapshot):
    start = clock.now() + timedelta(minutes=30)
    announced = api.post(
        "/api/v1/status/maintenance",
        json={
            "title": "Search reindex",
            "components": ["Search", "Checkout"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "body": "Search may return stale results.",
        },
    )
    assert announced.status_code == 201
    public_id = announced.json()["id"]
    assert len(announced.json()["windows"]) == 2  # one per service of its components
    assert snapshot().maintenances[0].updates[0].body == "Search may return stale results."
    cancelled = api.post(f"/api/v1/status/maintenance/{public_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"] is not None
    assert snapshot().maintenances == ()
    assert api.get("/api/v1/maintenance").json() == []
    clock.advance(hours=1)
    engine.run_due()
    assert snapshot().maintenances == ()
    with runtime.db.session() as session:
        assert statuspage.history(session, page=1, per_page=10, now=clock.now()) == ([], 0)
    assert api.get("/api/v1/status/maintenance/nope").status_code == 404


def test_refusals_name_the_field(api, clock):
    now = clock.now()
    cases = [
        ({"components": ["Database"], "starts_at": now.isoformat(), "ends_at": now.isoformat()}, "ends_at"),
        (
            {"components": ["Nope"], "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat()},
            "components",
        ),
        (
            {
                "components": ["Database"],
                "starts_at": (now - timedelta(hours=3)).isoformat(),
                "ends_at": (now - timedelta(hours=1)).isoformat(),
            },
            "ends_at",
        ),
    ]
    for body, field in cases:
        answer = api.post("/api/v1/status/maintenance", json={"title": "Work", **body})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == field
