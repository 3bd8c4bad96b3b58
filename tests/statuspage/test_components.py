"""A component's status: the documented mapping from public incidents, maintenance, monitors and overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.statuspage.conftest import statuses
from warroom.auth.models import AuditEntry
from warroom.incidents import timeline
from warroom.monitors.models import Monitor
from warroom.statuspage import service as statuspage
from warroom.statuspage import status as mapping


def _monitor(runtime, name, service, state, last_status="up"):
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        session.add(
            Monitor(
                name=name,
                service=service,
                type="http",
                source="api",
                spec={},
                interval_s=60,
                severity="P2",
                state=state,
                state_since=now,
                last_status=last_status,
                created_at=now,
                updated_at=now,
            )
        )


def _set_state(runtime, name, state, last_status):
    with runtime.db.transaction() as session:
        monitor = session.scalar(select(Monitor).where(Monitor.name == name))
        monitor.state, monitor.last_status, monitor.state_since = state, last_status, runtime.clock.now()


def test_declared_components_and_groups_are_on_the_page_in_order(snapshot):
    snap = snapshot()
    assert [(c.name, c.group_id) for c in snap.components] == [
        ("Checkout", "shop"),
        ("Search", "shop"),
        ("Database", None),
    ]
    assert [(g.name, g.component_ids) for g in snap.groups] == [("Shop", ("checkout", "search"))]
    assert snap.indicator == "none" and snap.description == "All Systems Operational"
    assert (snap.name, snap.url, snap.time_zone) == ("Acme status", "https://status.example.com", "UTC")


def test_monitors_map_to_statuses_and_move_the_page_version(runtime, clock, snapshot):
    _monitor(runtime, "checkout-a", "checkout", "up")
    _monitor(runtime, "checkout-b", "checkout", "up")
    with runtime.db.session() as session:
        before = statuspage.page_version(session)
    assert statuses(snapshot())["Checkout"] == "operational"
    clock.advance(minutes=1)
    _set_state(runtime, "checkout-a", "up", "warn")
    assert statuses(snapshot())["Checkout"] == "degraded_performance"
    clock.advance(minutes=1)
    _set_state(runtime, "checkout-a", "down", "down")
    snap = snapshot()
    assert statuses(snap)["Checkout"] == "partial_outage"
    assert snap.version != before
    assert [g.status for g in snap.groups] == ["partial_outage"]  # the worst of its members
    clock.advance(minutes=1)
    _set_state(runtime, "checkout-b", "down", "down")
    snap = snapshot()
    assert statuses(snap)["Checkout"] == "major_outage"
    assert (snap.indicator, snap.description) == ("critical", "Major System Outage")
    assert statuses(snap)["Search"] == "operational"


@pytest.mark.parametrize(
    ("severity", "impact", "status"),
    [
        ("P0", "critical", "major_outage"),
        ("P1", "major", "partial_outage"),
        ("P2", "minor", "degraded_performance"),
        ("P4", "none", "operational"),
    ],
)
def test_an_open_public_incident_sets_its_components_by_impact(api, make_incident, snapshot, severity, impact, status):
    incident = make_incident(severity=severity, services=["checkout"])
    assert statuses(snapshot())["Checkout"] == "operational"  # internal incidents are never public by themselves
    published = api.post(
        f"/api/v1/incidents/{incident.id}/publish", json={"title": "Paying is slow", "components": ["Checkout"]}
    )
    assert published.status_code == 201, published.text
    assert published.json()["impact"] == impact
    snap = snapshot()
    assert statuses(snap) == {"Checkout": status, "Search": "operational", "Database": "operational"}
    api.post(f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "resolved", "body": "Fixed."})
    assert statuses(snapshot())["Checkout"] == "operational"


def test_the_impact_follows_the_severity_unless_a_person_chose_it(api, make_incident, snapshot):
    incident = make_incident(severity="P2", services=["checkout"])
    api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "Slow", "components": ["Checkout"]})
    assert statuses(snapshot())["Checkout"] == "degraded_performance"
    api.patch(f"/api/v1/incidents/{incident.id}", json={"severity": "P0"})
    assert statuses(snapshot())["Checkout"] == "major_outage"
    other = make_incident(severity="P0", services=["search"])
    api.post(
        f"/api/v1/incidents/{other.id}/publish", json={"title": "Search", "components": ["Search"], "impact": "minor"}
    )
    api.patch(f"/api/v1/incidents/{other.id}", json={"severity": "P1"})
    assert statuses(snapshot())["Search"] == "degraded_performance"


def test_an_override_wins_until_cleared_on_the_incident_timeline_or_the_audit_log(
    runtime, api, make_incident, snapshot
):
    _monitor(runtime, "search-a", "search", "down", "down")
    assert statuses(snapshot())["Search"] == "major_outage"
    no_reason = api.post("/api/v1/status/components/Search/override", json={"status": "operational"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    set_ = api.post(
        "/api/v1/status/components/Search/override",
        json={"status": "degraded_performance", "reason": "Only the suggestions are down"},
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["status"] == "degraded_performance"
    assert statuses(snapshot())["Search"] == "degraded_performance"
    with runtime.db.session() as session:
        audit = [e.action for e in session.scalars(select(AuditEntry))]
    assert "status.component_override_set" in audit
    incident = make_incident(severity="P2", services=["search"])
    cleared = api.post("/api/v1/status/components/search/override", json={"status": None, "incident": incident.id})
    assert cleared.status_code == 200
    assert statuses(snapshot())["Search"] == "major_outage"
    with runtime.db.session() as session:
        kinds = [e.kind for e in timeline.events(session, incident.id)]
    assert "component_override_cleared" in kinds


def test_components_over_the_api_and_their_errors(api, snapshot):
    added = api.post(
        "/api/v1/status/components", json={"name": "Mobile app", "group": "Apps", "services": ["mobile-api"]}
    )
    assert added.status_code == 201, added.text
    assert (added.json()["id"], added.json()["group"], added.json()["status"]) == ("mobile-app", "Apps", "operational")
    again = api.post("/api/v1/status/components", json={"name": "Mobile app"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "name"
    assert api.get("/api/v1/status/components/nope").status_code == 404
    changed = api.patch("/api/v1/status/components/mobile-app", json={"services": ["mobile-api", "push"]})
    assert changed.json()["services"] == ["mobile-api", "push"]
    assert [c.name for c in snapshot().components][-1] == "Mobile app"
    bad = api.post("/api/v1/status/components/Search/override", json={"status": "on_fire", "reason": "x"})
    assert bad.status_code == 422


def test_the_mapping_table_as_documented():
    assert mapping.from_monitors([]) == "operational"
    assert mapping.from_monitors([("down", "down"), ("down", "down")]) == "major_outage"
    assert mapping.from_monitors([("down", "down"), ("up", "up")]) == "partial_outage"
    assert mapping.from_monitors([("up", "warn")]) == "degraded_performance"
    # An incident during maintenance is shown; maintenance hides expected monitor failures.
    assert (
        mapping.derive(override=None, impacts=[], in_maintenance=True, monitors="major_outage") == "under_maintenance"
    )
    assert mapping.derive(override=None, impacts=["minor"], in_maintenance=True, monitors="major_outage") == (
        "degraded_performance"
    )
    assert mapping.derive(override="operational", impacts=["critical"], in_maintenance=False, monitors="x") == (
        "operational"
    )
    assert mapping.uptime_status(0.995) == "degraded_performance"
    assert mapping.uptime_status(None) == "operational"


def test_page_version_moves_with_each_change_and_not_otherwise(runtime, api, make_incident, clock):
    def version() -> str:
        with runtime.db.session() as session:
            return statuspage.page_version(session)

    first = version()
    assert version() == first
    incident = make_incident(severity="P1", services=["checkout"])
    assert version() == first  # an internal incident changes nothing public
    api.post(f"/api/v1/incidents/{incident.id}/publish", json={"title": "Slow", "components": ["Checkout"]})
    second = version()
    assert second != first
    clock.advance(timedelta(minutes=5))
    api.post(f"/api/v1/incidents/{incident.id}/notes", json={"message": "internal"})
    assert version() == second
    api.post(f"/api/v1/incidents/{incident.id}/public-updates", json={"status": "identified", "body": "Found it."})
    assert version() != second


def test_the_uptime_bar_comes_from_the_services_daily_rollups(runtime, clock, snapshot):
    from datetime import datetime

    from warroom.monitors.models import MonitorRollup

    _monitor(runtime, "checkout-a", "checkout", "up")
    _monitor(runtime, "web-a", "web", "up")  # a service no component stands for
    today = clock.now().date()
    with runtime.db.transaction() as session:
        monitor_id = session.scalar(select(Monitor.id).where(Monitor.name == "checkout-a"))
        for days_ago, checks, up in ((0, 100, 100), (1, 1000, 995), (2, 100, 50), (120, 10, 0)):
            day = today - timedelta(days=days_ago)
            bucket = datetime(day.year, day.month, day.day, tzinfo=clock.now().tzinfo)
            session.add(MonitorRollup(monitor_id=monitor_id, resolution="d", bucket=bucket, checks=checks, up=up))
    bar = {c.name: c.uptime_days for c in snapshot().components}["Checkout"]
    assert len(bar) == 90 and bar[-1].day == today and bar[0].day == today - timedelta(days=89)
    assert [(d.uptime, d.worst_status) for d in bar[-3:]] == [
        (0.5, "major_outage"),
        (0.995, "degraded_performance"),
        (1.0, "operational"),
    ]
    assert bar[0].uptime is None and bar[0].worst_status == "operational"  # nothing measured that day
    assert all(d.uptime is None for d in {c.name: c.uptime_days for c in snapshot().components}["Search"])
