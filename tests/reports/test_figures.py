"""Report figures against the ones worked out by hand from the month in conftest.py, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.reports.conftest import EVIL, SINCE, UNTIL, at
from warroom.incidents.models import Incident, IncidentService
from warroom.runbooks.models import RunbookRun

M = 60.0  # the table is in minutes; reports answer seconds


@pytest.fixture
def get(month: Any, client_for: Callable[..., TestClient]) -> Callable[..., Any]:
    viewer = client_for("viewer")

    def fetch(section: str, **params: Any) -> Any:
        response = viewer.get(f"/api/v1/reports/{section}", params={"since": SINCE, "until": UNTIL, **params})
        assert response.status_code == 200, response.text
        return response.json()[section]

    return fetch


def _groups(incidents: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["group"]: g for g in incidents["groups"]}


def test_phases_of_the_whole_month_against_targets(get):
    incidents = get("incidents")
    assert incidents["total"] == 8  # #9 was detected in October
    every = _groups(incidents)["(all)"]["phases"]
    # detect, started→detected: 2 6 1 3 4 | 10 20 5 → sorted 1 2 3 4 5 6 10 20
    assert every["detect"] == {
        "count": 8, "median": 4.5 * M, "p90": 20 * M, "mean": round(51 / 8 * M, 1),
        "target_met": 6, "target_judged": 8, "target_share": 0.75,
    }  # fmt: skip
    # acknowledge: 4 10 20 6 30 | 25 35 (#8 never acknowledged); P1 ≤15 met 3, P2 ≤30 met 1
    assert every["acknowledge"] == {
        "count": 7, "median": 20 * M, "p90": 35 * M, "mean": round(130 / 7 * M, 1),
        "target_met": 4, "target_judged": 7, "target_share": 0.571,
    }  # fmt: skip
    # mitigate, detected→mitigated: 8 12 25 9 | 40 20 40; P1 ≤10 met 2, P2 ≤30 met 1
    assert every["mitigate"] == {
        "count": 7, "median": 20 * M, "p90": 40 * M, "mean": 22 * M,
        "target_met": 3, "target_judged": 7, "target_share": 0.429,
    }  # fmt: skip
    # recover, mitigated→resolved: 12 18 65 5 | 60 30 0; P1 ≤15 met 2, P2 ≤60 met 3 (60 is on the target: met)
    assert every["recover"] == {
        "count": 7, "median": 18 * M, "p90": 65 * M, "mean": round(190 / 7 * M, 1),
        "target_met": 5, "target_judged": 7, "target_share": 0.714,
    }  # fmt: skip
    # resolve, started→resolved: 22 36 91 17 | 110 70 45; P1 ≤30 met 2, P2 ≤120 met 3
    assert every["resolve"] == {
        "count": 7, "median": 45 * M, "p90": 110 * M, "mean": round(391 / 7 * M, 1),
        "target_met": 5, "target_judged": 7, "target_share": 0.714,
    }  # fmt: skip


def test_phases_per_severity_use_each_severitys_target(get):
    groups = _groups(get("incidents"))
    assert list(groups) == ["(all)", "P1", "P2"]
    assert groups["P1"]["incidents"] == 5 and groups["P2"]["incidents"] == 3
    p1 = groups["P1"]["phases"]
    # acknowledge 4 6 10 20 30: median 10, nearest-rank p90 the 5th, mean 14; ≤15 met 3 of 5
    ack = p1["acknowledge"]
    assert (ack["median"], ack["p90"], ack["mean"]) == (10 * M, 30 * M, 14 * M)
    assert p1["acknowledge"]["target_share"] == 0.6
    # resolve 17 22 36 91: median 29, p90 the 4th, mean 41.5; ≤30 met 2 of 4
    assert (p1["resolve"]["median"], p1["resolve"]["p90"], p1["resolve"]["mean"]) == (29 * M, 91 * M, 41.5 * M)
    assert p1["resolve"]["target_share"] == 0.5
    p2 = groups["P2"]["phases"]
    assert (p2["recover"]["median"], p2["recover"]["p90"], p2["recover"]["target_share"]) == (30 * M, 60 * M, 1.0)


def test_grouped_by_service_team_and_policy(get):
    by_service = _groups(get("incidents", group_by="service"))
    assert list(by_service) == ["(all)", EVIL, "api", "db", "web"]
    assert [by_service[k]["incidents"] for k in (EVIL, "api", "db", "web")] == [1, 1, 3, 4]
    web = by_service["web"]["phases"]["acknowledge"]  # 4 10 20 6
    assert (web["median"], web["p90"], web["mean"]) == (8 * M, 20 * M, 10 * M)
    # Each incident against its own severity's target, as in the whole table above (P1 web, P2 db, P1 api).
    # (met, judged) per phase: detect, acknowledge, mitigate, recover, resolve
    met = {
        name: [(f["target_met"], f["target_judged"]) for f in by_service[name]["phases"].values()]
        for name in ("web", "db", "api")
    }
    assert met["web"] == [(3, 4), (3, 4), (2, 4), (2, 4), (2, 4)]
    # db recovers in 60, 30 and 0 minutes: #6's 60 is exactly on P2's target and met it
    assert met["db"] == [(2, 3), (1, 2), (1, 3), (3, 3), (3, 3)]
    assert met["api"] == [(1, 1), (0, 1), (0, 0), (0, 0), (0, 0)]
    by_team = _groups(get("incidents", group_by="team"))
    assert {k: g["incidents"] for k, g in by_team.items()} == {"(all)": 8, "(none)": 1, "frontend": 4, "storage": 3}
    by_policy = _groups(get("incidents", group_by="policy"))
    assert {k: g["incidents"] for k, g in by_policy.items()} == {
        "(all)": 8, "(none)": 1, "db-policy": 3, "web-policy": 4,
    }  # fmt: skip


def test_trend_per_week_and_per_day(get):
    weeks = get("trend")
    # Weeks start on Monday: Sunday 1 November belongs to the week of 26 October.
    assert [(w["bucket"], w["incidents"]) for w in weeks] == [
        ("2026-10-26", 1), ("2026-11-02", 2), ("2026-11-09", 1),
        ("2026-11-16", 2), ("2026-11-23", 1), ("2026-11-30", 1),
    ]  # fmt: skip
    assert weeks[3]["groups"] == {"P2": 2}
    days = get("trend", bucket="day")
    assert len(days) == 30 and days[0]["bucket"] == "2026-11-01"
    assert {d["bucket"]: d["incidents"] for d in days if d["incidents"]} == {
        "2026-11-01": 1, "2026-11-03": 1, "2026-11-05": 1, "2026-11-10": 1,
        "2026-11-18": 1, "2026-11-20": 1, "2026-11-25": 1, "2026-11-30": 1,
    }  # fmt: skip


def test_alert_noise(get):
    noise = get("noise")
    assert (noise["alerts"], noise["received"]) == (10, 20)  # the October alert is left out
    # alerts per incident that had any: #2 2, #3 3, #6 1, #7 1 → 1 1 2 3
    assert noise["alerts_per_incident"] == {"incidents": 4, "median": 1.5, "p90": 3.0, "mean": 1.8}
    assert [(a["name"], a["alerts"], a["received"]) for a in noise["noisiest"]] == [
        ("HighLatency", 4, 7), ("DiskFull", 2, 6), ("CPU", 2, 2), ("Flappy", 1, 4), ("Backup failed", 1, 1),
    ]  # fmt: skip
    assert noise["no_incident"] == {"total": 3, "silenced": 1, "maintenance": 1, "inhibited": 1, "other": 0}
    assert (noise["pages"], noise["pages_never_acknowledged"]) == (11, 1)


@pytest.mark.parametrize(
    ("minutes", "alerts", "flaps"),
    [
        (30, 2, 2),  # Flappy again after 15 min; HighLatency after exactly 30 (within counts)
        (20, 1, 1),  # only Flappy's 15 min
        (60, 2, 3),  # Flappy's 60 min gap counts too
    ],
)
def test_flapping_within_the_window(get, minutes, alerts, flaps):
    flapping = get("noise", flap_minutes=minutes)["flapping"]
    assert (flapping["window_minutes"], flapping["alerts"], flapping["flaps"]) == (minutes, alerts, flaps)


def test_on_call_load_counts_nights_on_each_persons_clock(get):
    load = get("load")
    assert (load["pages"], load["night_pages"], load["unacknowledged_pages"]) == (11, 6, 1)
    people = {p["person"]: p for p in load["people"]}
    assert [p["person"] for p in load["people"]] == ["bob", "alice", "carol"]  # most paged first
    # bob (UTC): 10:00, 23:30, 08:00, 02:00, 04:00 → 3 at night; #8 never acknowledged; acks after 4 and 35 min
    bob = people["bob"]
    assert (bob["pages"], bob["night_pages"], bob["unacknowledged_pages"], bob["acknowledged"]) == (5, 3, 1, 2)
    assert bob["time_to_acknowledge"] == {"count": 2, "median": 19.5 * M, "p90": 35 * M, "mean": 19.5 * M}
    # alice (New York, UTC-5): 05:03, 18:30, 07:00, 06:30 → 2 at night (on UTC it would be 1: 23:30)
    alice = people["alice"]
    assert (alice["pages"], alice["night_pages"], alice["timezone"]) == (4, 2, "America/New_York")
    assert alice["time_to_acknowledge"]["median"] == 8 * M  # 10 and 6 minutes
    # carol (Tokyo, UTC+9): 21:15, 23:00 → 1 at night; acked #3 5 min after her own page (level 2, +15)
    carol = people["carol"]
    assert (carol["pages"], carol["night_pages"]) == (2, 1)
    assert carol["time_to_acknowledge"] == {"count": 2, "median": 15 * M, "p90": 25 * M, "mean": 15 * M}


def test_runbook_effectiveness_against_similar_incidents(get):
    rows = {r["runbook"]: r for r in get("runbooks")}
    assert list(rows) == ["restart-web", "db-failover"]
    web = rows["restart-web"]
    assert (web["uses"], web["incidents"], web["succeeded"], web["failed"]) == (3, 3, 2, 1)
    assert (web["success_rate"], web["average_run_seconds"]) == (0.667, 6 * M)  # runs of 5, 3 and 10 min
    assert (web["resolve_with"]["count"], web["resolve_with"]["median"]) == (3, 36 * M)  # 22 36 91
    assert (web["resolve_without"]["count"], web["resolve_without"]["median"]) == (1, 17 * M)  # #4, P1 web
    db = rows["db-failover"]
    assert (db["uses"], db["incidents"], db["success_rate"], db["average_run_seconds"]) == (2, 1, None, 20 * M)
    assert (db["resolve_with"]["median"], db["resolve_without"]["count"]) == (70 * M, 2)
    assert db["resolve_without"]["median"] == 77.5 * M  # #6 110 and #8 45, P2 db


def test_similar_incidents_leave_out_the_runbooks_own(get):
    """resolve_without's every figure is over similar incidents only, never the ones that used the runbook."""
    rows = {r["runbook"]: r for r in get("runbooks")}
    assert rows["restart-web"]["resolve_without"] == {"count": 1, "median": 17 * M, "p90": 17 * M, "mean": 17 * M}
    assert rows["db-failover"]["resolve_without"] == {"count": 2, "median": 77.5 * M, "p90": 110 * M, "mean": 77.5 * M}


def test_action_items_opened_done_and_overdue(get):
    # A B C E opened in November; A done in it; B still open and D done only in December were overdue at its end.
    assert get("actions") == {"opened": 4, "done": 1, "overdue": 2}


def test_drills_are_left_out_unless_asked(get):
    assert get("incidents")["total"] == 8
    with_drills = get("incidents", include_drills="true")
    assert with_drills["total"] == 9
    # detect with #10 (1 min): 1 1 2 3 4 5 6 10 20 → median 4
    assert _groups(with_drills)["(all)"]["phases"]["detect"]["median"] == 4 * M
    assert get("trend", include_drills="true") != get("trend")
    # the drill's alert (2 received) joins the noise only when asked for
    noise = get("noise", include_drills="true")
    assert (noise["alerts"], noise["received"]) == (11, 22)
    assert noise["alerts_per_incident"]["incidents"] == 5
    assert ("DrillAlert", 1, 2) in [(a["name"], a["alerts"], a["received"]) for a in noise["noisiest"]]


def test_incidents_without_services_are_similar_to_each_other(month, get):
    """A runbook used on an incident with no service: its similar incidents are those of the same severity
    with no service either (the kind "" of each severity), never one with a service."""
    with month.db.transaction() as session:
        for number, resolved in ((11, 30), (12, 50), (13, 70)):
            detected = at("2026-11-12 09:00", number)
            session.add(
                Incident(
                    id=number, title=f"incident {number}", severity="P2", status="resolved", created_by="tests",
                    started_at=detected, detected_at=detected, created_at=detected, updated_at=detected,
                    acknowledged_at=detected, mitigated_at=detected,
                    resolved_at=at("2026-11-12 09:00", number + resolved),
                    labels={},
                )
            )  # fmt: skip
        session.flush()
        session.add(IncidentService(incident_id=13, service="db"))  # #13 is P2 db: not similar
        session.add(
            RunbookRun(
                incident_id=11, runbook_id="check-dns", title="Check DNS", started_by="alice", started_by_kind="user",
                started_at=detected, finished_at=detected + timedelta(minutes=4), outcome="success",
            )
        )  # fmt: skip
    rows = {r["runbook"]: r for r in get("runbooks")}
    assert rows["check-dns"]["resolve_with"]["median"] == 30 * M  # #11
    assert rows["check-dns"]["resolve_without"] == {"count": 1, "median": 50 * M, "p90": 50 * M, "mean": 50 * M}
    # and db-failover's similar incidents (P2 db) now include #13 (70 min): 45, 70, 110
    assert rows["db-failover"]["resolve_without"]["median"] == 70 * M
