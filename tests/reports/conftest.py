"""A fixed month of incidents, alerts, pages and runbook runs whose report figures are worked out by hand.

Every figure the tests expect is computed in the tests' own words from the table below (minutes after
detection), not with the reports' code. Severities are the defaults: P1 targets detect 5m, acknowledge 15m,
mitigate 10m, recover 15m, resolve 30m (5+10+15);
P2 detect 15m, acknowledge 30m, mitigate 30m, recover 60m, resolve 120m.

 #  sev  detected (UTC)      started  ack   mitigated resolved  services             paged (minutes after detection)
 1  P1   2026-11-01 10:00    -2       4 bob 8         20        web                  bob 0, alice 3 (level 2)
 2  P1   2026-11-03 23:30    -6      10 alice 12      30        web, <script>...     alice 0 (sms+email), bob 0
 3  P1   2026-11-05 12:00    -1      20 carol 25      90        web                  alice 0, carol 15 (level 2)
 4  P1   2026-11-10 11:30    -3       6 alice 9        14        web                  alice 0
 5  P1   2026-11-30 08:00    -4      30 ops   -        -  open  api                  bob 0
 6  P2   2026-11-18 14:00   -10      25 carol 40       100       db                   carol 0
 7  P2   2026-11-20 02:00   -20      35 bob   20       50        db                   bob 0
 8  P2   2026-11-25 04:00    -5       -       40       40        db                   bob 0  (never acknowledged)
 9  P1   2026-10-20 10:00    outside the period: counted nowhere
10  P1   2026-11-15 10:00    -1       2 bob   3         5         web   a DRILL: counted only with include_drills

Action items (created, due, state): A 11-02 due 11-10 done 11-08; B 11-05 due 11-20 open; C 11-25 due 12-15 open;
D 10-15 due 11-01 done 12-03 (after the period); E 11-06 due 11-09 won't do 11-10.
Opened in the period: A B C E = 4; done in it: A = 1; overdue at its end: B (open) and D (done only later) = 2.

People: alice America/New_York (UTC-5 in November), bob UTC, carol Asia/Tokyo (UTC+9).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from warroom.alerts.models import Alert, Integration
from warroom.incidents.models import Incident, IncidentService, TimelineEvent
from warroom.notify.models import Notification
from warroom.oncall.models import Escalation, OncallUser, Team
from warroom.postmortems.models import ActionItem
from warroom.runbooks.models import RunbookRun
from warroom.runtime import Runtime

SINCE, UNTIL = "2026-11-01", "2026-12-01"
EVIL = "<script>alert(1)</script>"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(text: str, minutes: float = 0) -> datetime:
    """A UTC moment from 'YYYY-MM-DD HH:MM' plus minutes."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) + timedelta(minutes=minutes)


# number: (severity, detected, started, (ack minutes, by), mitigated, resolved, services, policy)
INCIDENTS: dict[int, tuple[Any, ...]] = {
    1: ("P1", "2026-11-01 10:00", -2, (4, "bob"), 8, 20, ["web"], "web-policy"),
    2: ("P1", "2026-11-03 23:30", -6, (10, "alice"), 12, 30, ["web", EVIL], "web-policy"),
    3: ("P1", "2026-11-05 12:00", -1, (20, "carol"), 25, 90, ["web"], "web-policy"),
    4: ("P1", "2026-11-10 11:30", -3, (6, "alice"), 9, 14, ["web"], "web-policy"),
    5: ("P1", "2026-11-30 08:00", -4, (30, "ops-token"), None, None, ["api"], None),
    6: ("P2", "2026-11-18 14:00", -10, (25, "carol"), 40, 100, ["db"], "db-policy"),
    7: ("P2", "2026-11-20 02:00", -20, (35, "bob"), 20, 50, ["db"], "db-policy"),
    8: ("P2", "2026-11-25 04:00", -5, None, 40, 40, ["db"], "db-policy"),
    9: ("P1", "2026-10-20 10:00", -2, (3, "bob"), 5, 10, ["web"], "web-policy"),
    10: ("P1", "2026-11-15 10:00", -1, (2, "bob"), 3, 5, ["web"], None),
}
DRILLS = {10}
# A second acknowledgement, later (after a reopen, say): only an incident's first one counts, so it changes nothing.
LATE_ACKS = {3: [(22, "bob")]}
# (created, due, status, closed)
ACTION_ITEMS = [
    ("2026-11-02 09:00", date(2026, 11, 10), "done", "2026-11-08 09:00"),
    ("2026-11-05 09:00", date(2026, 11, 20), "open", None),
    ("2026-11-25 09:00", date(2026, 12, 15), "open", None),
    ("2026-10-15 09:00", date(2026, 11, 1), "done", "2026-12-03 09:00"),
    ("2026-11-06 09:00", date(2026, 11, 9), "wont_do", "2026-11-10 09:00"),
]
# (incident, person, level, minutes after detection, contact methods)
PAGES = [
    (1, "bob", 1, 0, ["sms"]),
    (1, "alice", 2, 3, ["sms"]),
    (2, "alice", 1, 0, ["sms", "email"]),
    (2, "bob", 1, 0, ["sms"]),
    (3, "alice", 1, 0, ["sms"]),
    (3, "carol", 2, 15, ["sms"]),
    (4, "alice", 1, 0, ["sms"]),
    (5, "bob", 1, 0, ["sms"]),
    (6, "carol", 1, 0, ["sms"]),
    (7, "bob", 1, 0, ["sms"]),
    (8, "bob", 1, 0, ["sms"]),
    (9, "bob", 1, 0, ["sms"]),
]
# (name label or None, summary, incident, suppressed_by, received, first seen)
ALERTS = [
    ("HighLatency", "p99 over 1s", 2, None, 3, "2026-11-03 23:30"),
    ("HighLatency", "p99 over 1s", 2, None, 1, "2026-11-03 23:31"),
    ("HighLatency", "p99 over 1s", 3, None, 2, "2026-11-05 12:00"),
    ("HighLatency", "p99 over 1s", 3, None, 1, "2026-11-05 12:01"),
    ("DiskFull", "disk full", 3, None, 5, "2026-11-05 12:02"),
    ("DiskFull", "disk full", None, "silence:1", 1, "2026-11-06 08:00"),
    ("CPU", "cpu hot", None, "maintenance:2", 1, "2026-11-07 08:00"),
    ("CPU", "cpu hot", None, "inhibit:db-down", 1, "2026-11-08 08:00"),
    ("Flappy", "flaps", 6, None, 4, "2026-11-18 14:00"),
    (None, "Backup failed", 7, None, 1, "2026-11-20 02:00"),
    ("Old", "before the period", None, "silence:1", 1, "2026-10-20 08:00"),
    ("DrillAlert", "drill", 10, None, 2, "2026-11-15 10:00"),  # the drill's: counted only with include_drills
]
# (runbook, incident, outcome, minutes the run took or None while running)
RUNS = [
    ("restart-web", 1, "success", 5),
    ("restart-web", 2, "success", 3),
    ("restart-web", 3, "failed", 10),
    ("db-failover", 7, "unknown", 20),
    ("db-failover", 7, None, None),
]


def load_month(runtime: Runtime) -> None:
    """Write the data set above straight into the tables."""
    created = at("2026-10-01 00:00")
    with runtime.db.transaction() as session:
        for uid, zone in (("alice", "America/New_York"), ("bob", "UTC"), ("carol", "Asia/Tokyo")):
            session.add(OncallUser(id=uid, name=uid, timezone=zone, created_at=created, updated_at=created))
        session.add(Team(id="frontend", services=["web"], members=[], created_at=created, updated_at=created))
        session.add(Team(id="storage", services=["db"], members=[], created_at=created, updated_at=created))
        integration = Integration(name="prom", type="generic", created_at=created, created_by="tests")
        session.add(integration)
        for number, (sev, detected, started, ack, mitigated, resolved, services, policy) in INCIDENTS.items():
            d = at(detected)
            session.add(
                Incident(
                    id=number,
                    title=f"incident {number}",
                    severity=sev,
                    status="resolved" if resolved is not None else "acknowledged",
                    created_by="tests",
                    started_at=at(detected, started),
                    detected_at=d,
                    created_at=d,
                    updated_at=d,
                    acknowledged_at=at(detected, ack[0]) if ack else None,
                    mitigated_at=at(detected, mitigated) if mitigated is not None else None,
                    resolved_at=at(detected, resolved) if resolved is not None else None,
                    labels={},
                    drill=number in DRILLS,
                )
            )
            session.flush()
            for service in services:
                session.add(IncidentService(incident_id=number, service=service))
            if ack:
                session.add(
                    TimelineEvent(
                        incident_id=number,
                        at=at(detected, ack[0]),
                        kind="acknowledged",
                        actor=ack[1],
                        actor_kind="user",
                        message="",
                        data={},
                    )
                )
            for late, by in LATE_ACKS.get(number, ()):
                session.add(
                    TimelineEvent(
                        incident_id=number,
                        at=at(detected, late),
                        kind="acknowledged",
                        actor=by,
                        actor_kind="user",
                        message="",
                        data={},
                    )
                )
            if policy:
                session.add(
                    Escalation(
                        incident_id=number, policy_id=policy, policy={}, severity=sev, started_at=d, updated_at=d
                    )
                )
        for number, person, level, minutes, methods in PAGES:
            when = at(INCIDENTS[number][1], minutes)
            for method in methods:
                session.add(
                    Notification(
                        id=f"p-{number}-{person}-{level}-{method}",
                        incident_id=number,
                        kind="page",
                        user_id=person,
                        method=method,
                        url="json://127.0.0.1:9/",
                        generation=1,
                        cycle=0,
                        level=level,
                        state="sent",
                        due_at=when,
                        created_at=when,
                    )
                )
        session.flush()
        for index, (name, summary, number, suppressed, received, seen) in enumerate(ALERTS):
            session.add(
                Alert(
                    integration_id=integration.id,
                    fingerprint=f"fp{index}",
                    status="firing",
                    summary=summary,
                    severity="P1",
                    service=None,
                    route="default",
                    group_key=f"g{index}",
                    incident_id=number,
                    suppressed_by=suppressed,
                    labels={"alertname": name} if name else {},
                    starts_at=at(seen),
                    first_seen_at=at(seen),
                    last_seen_at=at(seen),
                    received=received,
                )
            )
        session.flush()
        # Flapping: alert 9 (Flappy, #6) resolves at +10 and fires again at +25 (15 min: a flap), resolves at +40
        # and fires at +100 (60 min); alert 1 (#2) resolves at +5 and fires at +35 (exactly 30 min: a flap).
        flaps = ((6, 9, ((10, "r"), (25, "f"), (40, "r"), (100, "f"))), (2, 1, ((5, "r"), (35, "f"))))
        for number, alert_id, steps in flaps:
            for minutes, what in steps:
                session.add(
                    TimelineEvent(
                        incident_id=number,
                        at=at(INCIDENTS[number][1], minutes),
                        kind="alert_resolved" if what == "r" else "alert_refired",
                        actor="prom",
                        actor_kind="integration",
                        message="Flappy" if number == 6 else "HighLatency",
                        data={"alert": alert_id},
                    )
                )
        for created_at, due_on, status, closed_at in ACTION_ITEMS:
            session.add(
                ActionItem(
                    incident_id=1,
                    text=f"item created {created_at}",
                    owner="bob",
                    due_on=due_on,
                    status=status,
                    created_by="alice",
                    created_at=at(created_at),
                    updated_at=at(closed_at or created_at),
                    closed_at=at(closed_at) if closed_at else None,
                )
            )
        for index, (runbook, number, outcome, took) in enumerate(RUNS):
            start = at(INCIDENTS[number][1], 1 + index)
            session.add(
                RunbookRun(
                    incident_id=number,
                    runbook_id=runbook,
                    title=runbook.replace("-", " ").title(),
                    started_by="alice",
                    started_by_kind="user",
                    started_at=start,
                    finished_at=start + timedelta(minutes=took) if took is not None else None,
                    outcome=outcome,
                )
            )


@pytest.fixture
def month(runtime: Runtime) -> Runtime:
    """The runtime with the month loaded and the clock on 2026-12-01 09:00 UTC."""
    runtime.clock.set(T0)  # type: ignore[attr-defined]
    load_month(runtime)
    return runtime
