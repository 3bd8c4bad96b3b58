"""The lifecycle rules, through the service functions, on both backends."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.errors import Conflict, InvalidInput
from warroom.incidents import service, timeline
from warroom.incidents.lifecycle import ALLOWED
from warroom.incidents.models import Status


def lifecycle(kinds):
    """The lifecycle's own events: paging (the on-call domain's) is left out; on an installation without a
    policy it adds `paging_skipped` (tests/incidents/test_no_policy_trace.py)."""
    return [k for k in kinds if not k.startswith("paging_")]


def kinds(runtime, number):
    with runtime.db.session() as session:
        return lifecycle(e.kind for e in timeline.events(session, number))


def test_declare_opens_triggered_with_a_declared_event(runtime, make_incident):
    incident = make_incident(severity="p1", services=["checkout", "checkout", "payments"])
    assert incident.number == 1
    assert incident.status == "triggered"
    assert incident.severity == "P1"
    assert incident.services == ["checkout", "payments"]
    assert kinds(runtime, 1) == ["declared"]


def test_numbers_follow_each_other(make_incident):
    assert [make_incident().number for _ in range(3)] == [1, 2, 3]


def test_unknown_severity_names_the_accepted_ones(runtime, actor):
    with runtime.db.transaction() as session, pytest.raises(InvalidInput) as info:
        service.declare(
            session, title="x", severity="P9", severities=runtime.severities, actor=actor, now=runtime.clock.now()
        )
    assert str(info.value) == "Unknown severity 'P9': expected one of P0, P1, P2, P3, P4."
    assert info.value.field == "severity"


def test_started_after_detected_is_refused(runtime, actor):
    now = runtime.clock.now()
    with runtime.db.transaction() as session, pytest.raises(InvalidInput, match="started_at"):
        service.declare(
            session,
            title="x",
            severity="P2",
            severities=runtime.severities,
            actor=actor,
            now=now,
            started_at=now,
            detected_at=now - timedelta(minutes=5),
        )


def test_full_lifecycle_appends_one_event_per_change(runtime, make_incident, actor, clock):
    make_incident()
    steps = [
        lambda s, i: service.acknowledge(s, i, actor, clock.now()),
        lambda s, i: service.change_status(s, i, "investigating", actor, clock.now(), "Looking at logs"),
        lambda s, i: service.change_status(s, i, "identified", actor, clock.now(), "Bad deploy of v2.3.1"),
        lambda s, i: service.add_note(s, i, actor, clock.now(), "Rolled back"),
        lambda s, i: service.change_status(s, i, "monitoring", actor, clock.now(), "Error rate dropping"),
        lambda s, i: service.resolve(s, i, actor, clock.now(), "Back to baseline"),
    ]
    for step in steps:
        clock.advance(minutes=1)
        with runtime.db.transaction() as session:
            step(session, service.get_for_update(session, 1))
    with runtime.db.session() as session:
        incident = service.get_or_404(session, 1)
        assert incident.status == "resolved"
        assert incident.acknowledged_at == clock.now() - timedelta(minutes=5)
        assert incident.identified_at == clock.now() - timedelta(minutes=3)
        assert incident.mitigated_at == clock.now() - timedelta(minutes=1)
        assert incident.resolved_at == clock.now()
    assert kinds(runtime, 1) == [
        "declared",
        "acknowledged",
        "status_changed",
        "status_changed",
        "note",
        "status_changed",
        "resolved",
    ]


ILLEGAL = [(a, b) for a, b in itertools.product(Status, Status) if b not in ALLOWED[a]]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a.value}->{b.value}" for a, b in ILLEGAL])
def test_each_illegal_transition_is_refused_naming_the_allowed_ones(
    runtime, make_incident, actor, clock, current, target
):
    make_incident()
    path = {
        Status.TRIGGERED: [],
        Status.ACKNOWLEDGED: ["acknowledged"],
        Status.INVESTIGATING: ["investigating"],
        Status.IDENTIFIED: ["identified"],
        Status.MONITORING: ["monitoring"],
        Status.RESOLVED: ["resolved"],
    }[current]
    with runtime.db.transaction() as session:
        incident = service.get_for_update(session, 1)
        for status in path:
            service.change_status(session, incident, status, actor, clock.now())
    with runtime.db.transaction() as session:
        incident = service.get_for_update(session, 1)
        with pytest.raises(Conflict) as info:
            service.change_status(session, incident, target.value, actor, clock.now())
    if current is Status.RESOLVED:
        assert "reopen it first" in str(info.value)
    else:
        assert "Allowed next: " + ", ".join(s.value for s in ALLOWED[current]) in str(info.value)
    assert kinds(runtime, 1).count("status_changed") + kinds(runtime, 1).count("resolved") == (
        0 if current in (Status.TRIGGERED, Status.ACKNOWLEDGED) else 1
    )


def test_moving_on_without_ack_counts_as_acknowledgement_for_people_only(runtime, make_incident, actor, clock):
    make_incident()
    make_incident()
    clock.advance(minutes=3)
    with runtime.db.transaction() as session:
        service.change_status(session, service.get_for_update(session, 1), "investigating", actor, clock.now())
        service.change_status(session, service.get_for_update(session, 2), "monitoring", SYSTEM, clock.now())
    with runtime.db.session() as session:
        assert service.get_or_404(session, 1).acknowledged_at == clock.now()
        assert service.get_or_404(session, 2).acknowledged_at is None
    assert kinds(runtime, 1) == ["declared", "acknowledged", "status_changed"]
    assert kinds(runtime, 2) == ["declared", "status_changed"]


def test_reopen_only_resolved_and_back_to_investigating(runtime, make_incident, actor, clock):
    make_incident()
    with runtime.db.transaction() as session:
        incident = service.get_for_update(session, 1)
        with pytest.raises(Conflict, match="only resolved incidents can be reopened"):
            service.reopen(session, incident, actor, clock.now())
    with runtime.db.transaction() as session:
        incident = service.get_for_update(session, 1)
        service.resolve(session, incident, actor, clock.now())
        service.reopen(session, incident, actor, clock.now(), "It is back")
        assert incident.status == "investigating"
        assert incident.resolved_at is None
    assert kinds(runtime, 1)[-1] == "reopened"


def test_update_records_each_kind_of_change(runtime, make_incident, actor, clock):
    make_incident(severity="P2")
    with runtime.db.transaction() as session:
        incident = service.get_for_update(session, 1)
        service.update(
            session,
            incident,
            service.Changes(severity="P0", commander="bob", title="Checkout down", services=["checkout", "api"]),
            severities=runtime.severities,
            actor=actor,
            now=clock.now(),
        )
        # Unchanged values append nothing.
        service.update(
            session,
            incident,
            service.Changes(severity="P0", commander="bob"),
            severities=runtime.severities,
            actor=actor,
            now=clock.now(),
        )
    with runtime.db.session() as session:
        events = timeline.events(session, 1)
        severity = next(e for e in events if e.kind == "severity_changed")
        assert severity.data == {"from": "P2", "to": "P0", "direction": "raised"}
        assert lifecycle(e.kind for e in events) == [
            "declared",
            "severity_changed",
            "title_changed",
            "commander_changed",
            "services_changed",
        ]
        assert service.get_or_404(session, 1).services == ["api", "checkout"]


def test_timeline_hooks_run_in_the_same_transaction(runtime, make_incident, actor, clock):
    seen = []
    runtime.timeline_hooks.append(lambda session, incident, event: seen.append((incident.id, event.kind)))
    make_incident()
    with runtime.db.transaction() as session:
        service.acknowledge(session, service.get_for_update(session, 1), actor, clock.now())
    assert [(number, kind) for number, kind in seen if kind in lifecycle([kind])] == [
        (1, "declared"),
        (1, "acknowledged"),
    ]


def test_list_filters_and_paginates_newest_first(runtime, make_incident, actor, clock):
    for n in range(7):
        make_incident(severity="P1" if n % 2 else "P3", services=["checkout"] if n < 3 else ["search"])
    with runtime.db.transaction() as session:
        service.resolve(session, service.get_for_update(session, 7), Actor("bob", Role.RESPONDER), clock.now())
    with runtime.db.session() as session:
        filters = service.parse_filters("open", None, None, runtime.severities)
        page, cursor = service.list_incidents(session, filters, limit=4)
        assert [i.number for i in page] == [6, 5, 4, 3]
        page2, cursor2 = service.list_incidents(session, filters, limit=4, cursor=cursor)
        assert [i.number for i in page2] == [2, 1]
        assert cursor2 is None
        sev = service.parse_filters(None, "P1", None, runtime.severities)
        assert [i.number for i in service.list_incidents(session, sev)[0]] == [6, 4, 2]
        svc = service.parse_filters(None, None, "checkout", runtime.severities)
        assert [i.number for i in service.list_incidents(session, svc)[0]] == [3, 2, 1]
        with pytest.raises(InvalidInput, match="Invalid cursor"):
            service.list_incidents(session, filters, cursor="nonsense!")
