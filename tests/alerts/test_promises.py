"""Promises the intake makes that nothing else pinned down (issue 13): each test fails when its promise is broken.

- 2xx only after commit: a commit that fails, or a writer that fails, never answers 2xx and counts nothing.
- Dedup inside one batch: the same fingerprint twice is one alert, created once.
- Silences: one that starts later holds nothing back now; `service` means the routed service (docs/alerts.md).
- PagerDuty senders may give the key as the `X-Routing-Key` header (docs/alerts.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from warroom.runtime import Runtime

from .conftest import am_alert, am_payload, kinds

# -- 2xx only after commit ---------------------------------------------------------------------------------------

# A deferred foreign key is checked at COMMIT on both backends: a trigger on alerts breaks it, so every statement
# of the intake's transaction succeeds and only the commit fails, as a full disk or a lost connection would.
_COMMIT_TRAP = {
    "sqlite": [
        "CREATE TABLE trap_parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE trap_child (parent_id INTEGER REFERENCES trap_parent(id) DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER trap AFTER INSERT ON alerts BEGIN INSERT INTO trap_child VALUES (-1); END",
    ],
    "postgresql": [
        "CREATE TABLE trap_parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE trap_child (parent_id INTEGER REFERENCES trap_parent(id) DEFERRABLE INITIALLY DEFERRED)",
        "CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO trap_child VALUES (-1); RETURN NULL; END $$",
        "CREATE TRIGGER trap AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION trap()",
    ],
}
# A statement of the writer itself fails (as a constraint or a bug would): the error comes before any commit.
_WRITER_TRAP = {
    "sqlite": ["CREATE TRIGGER trap BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'writer trap'); END"],
    "postgresql": [
        "CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'writer trap'; END $$",
        "CREATE TRIGGER trap BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION trap()",
    ],
}
_UNTRAP = [
    "DROP TRIGGER IF EXISTS trap ON alerts",
    "DROP FUNCTION IF EXISTS trap()",
    "DROP TABLE IF EXISTS trap_child",
    "DROP TABLE IF EXISTS trap_parent",
]


@pytest.fixture
def trap(runtime: Runtime, backend: str) -> Iterator[Any]:
    """Install one of the traps above; removed afterwards (the PostgreSQL database is shared by the run)."""

    def install(statements: dict[str, list[str]]) -> None:
        with runtime.db.engine.begin() as conn:
            for statement in statements[backend]:
                conn.execute(text(statement))

    yield install
    with runtime.db.engine.begin() as conn:
        for statement in _UNTRAP:
            if backend == "sqlite":
                statement = statement.replace(" ON alerts", "")
                if "FUNCTION" in statement:
                    continue
            conn.execute(text(statement))


def metric(runtime: Runtime, name: str, **labels: str) -> float:
    return runtime.registry.get_sample_value(name, labels) or 0.0


def stored(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.execute(text("SELECT count(*) FROM alerts")).scalar_one())


@pytest.mark.parametrize("which", ["commit", "writer"])
def test_a_failed_write_is_never_answered_2xx(which, runtime, sender, make_integration, trap):
    key = make_integration()
    trap(_COMMIT_TRAP if which == "commit" else _WRITER_TRAP)

    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull")))

    assert response.status_code >= 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert key not in response.text
    assert stored(runtime) == 0
    accepted = metric(runtime, "warroom_alerts_received_total", integration="prod-alertmanager", status="firing")
    assert accepted == 0
    assert metric(runtime, "warroom_alert_intake_rejected_total", integration="prod-alertmanager", reason="error") == 1


def test_pagerduty_sender_is_not_told_success_when_the_commit_fails(runtime, sender, make_integration, trap):
    key = make_integration("legacy-pd", "pagerduty")
    trap(_COMMIT_TRAP)
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }

    response = sender.post("/v2/enqueue", json=event)

    assert response.status_code >= 500
    assert key not in response.text
    assert stored(runtime) == 0


def test_the_intake_works_again_once_the_commit_succeeds(runtime, sender, make_integration, trap):
    key = make_integration()
    trap(_COMMIT_TRAP)
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull"))).status_code >= 500
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM trap_child"))
        conn.execute(text("INSERT INTO trap_parent VALUES (-1)"))  # the trap's row is valid from now on

    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull")))

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert stored(runtime) == 1


# -- dedup inside one batch --------------------------------------------------------------------------------------


def test_the_same_fingerprint_twice_in_one_request_is_one_alert(api, sender, make_integration, runtime):
    key = make_integration()
    twice = am_payload(am_alert("DiskFull", fingerprint="disk-1"), am_alert("DiskFull", fingerprint="disk-1"))

    answer = sender.post(f"/api/v1/intake/{key}", json=twice).json()

    assert [a["action"] for a in answer["alerts"]] == ["created", "repeated"]
    assert answer["alerts"][0]["id"] == answer["alerts"][1]["id"]
    [alert] = api.get("/api/v1/alerts").json()["items"]
    assert alert["received"] == 2
    assert kinds(runtime, 1).count("alert_attached") == 1
    assert [i["number"] for i in api.get("/api/v1/incidents").json()["items"]] == [1]


def test_the_same_fingerprint_from_two_senders_is_two_alerts(api, sender, make_integration):
    first, second = make_integration("am-eu"), make_integration("am-us")
    for key in (first, second):
        answer = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull", fingerprint="disk-1")))
        assert [a["action"] for a in answer.json()["alerts"]] == ["created"]
    assert len(api.get("/api/v1/alerts").json()["items"]) == 2


# -- silences ----------------------------------------------------------------------------------------------------


def test_a_silence_that_starts_later_holds_nothing_back_now(api, sender, make_integration, clock):
    key = make_integration()
    start = clock.now() + timedelta(hours=1)
    created = api.post(
        "/api/v1/silences",
        json={"matchers": ["alertname=DiskFull"], "starts_at": start.isoformat(), "duration": "2h"},
    )
    assert created.status_code == 201, created.text
    silence = created.json()

    now = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull", instance="a"))).json()
    assert now["alerts"][0]["suppressed_by"] is None
    assert now["incidents"] == [1]

    clock.advance(hours=1)
    later = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("DiskFull", instance="b"))).json()
    assert later["alerts"][0]["suppressed_by"] == f"silence:{silence['id']}"


def test_a_silence_on_service_matches_the_routed_service(api, sender, make_integration):
    # The alert has no `service` label: its service is the integration's (docs/alerts.md, "Silences match the
    # alert's labels plus `service` (the routed service)").
    key = make_integration("billing-am", service="billing")
    silence = api.post("/api/v1/silences", json={"matchers": ["service=billing"], "duration": "1h"}).json()

    answer = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("InvoiceLag"))).json()

    assert answer["alerts"][0]["suppressed_by"] == f"silence:{silence['id']}"
    assert answer["incidents"] == []


def test_a_service_label_wins_over_the_routed_service_for_silences(api, sender, make_integration):
    key = make_integration("billing-am", service="billing")
    api.post("/api/v1/silences", json={"matchers": ["service=billing"], "duration": "1h"})

    answer = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("InvoiceLag", service="ledger"))).json()

    assert answer["alerts"][0]["suppressed_by"] is None


# -- X-Routing-Key -----------------------------------------------------------------------------------------------


def test_pagerduty_key_in_the_x_routing_key_header(api, sender, make_integration, runtime):
    key = make_integration("legacy-pd", "pagerduty")
    event = {
        "event_action": "trigger",
        "dedup_key": "disk-1",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }

    accepted = sender.post("/v2/enqueue", json=event, headers={"X-Routing-Key": key})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["dedup_key"] == "disk-1"
    [alert] = api.get("/api/v1/alerts").json()["items"]
    assert alert["fingerprint"] == "disk-1"

    wrong = sender.post("/v2/enqueue", json=event, headers={"X-Routing-Key": "f" * 32})
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == ["Invalid routing key"]
    missing = sender.post("/v2/enqueue", json=event)
    assert missing.status_code == 400
    assert missing.json()["errors"] == ["'routing_key' is missing or blank"]
