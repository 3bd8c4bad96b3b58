"""Durations from the timeline against the severity's targets, with an injected clock."""

from __future__ import annotations

from datetime import timedelta

from warroom.incidents import durations, service, timeline


def measures(runtime, number):
    with runtime.db.session() as session:
        incident = service.get_or_404(session, number)
        stones = durations.milestones(timeline.events(session, number))
        return stones, {
            m.name: m for m in durations.measure(stones, runtime.severities.get(incident.severity), runtime.clock.now())
        }


def test_p0_within_targets(runtime, make_incident, actor, clock):
    start = clock.now()
    clock.advance(minutes=1)
    make_incident(severity="P0", started_at=start)  # detected 1 min after the problem began
    clock.advance(minutes=2)
    with runtime.db.transaction() as session:
        service.acknowledge(session, service.get_for_update(session, 1), actor, clock.now())
    clock.advance(minutes=1)
    with runtime.db.transaction() as session:
        service.change_status(session, service.get_for_update(session, 1), "monitoring", actor, clock.now(), "fixed")
    clock.advance(minutes=4)
    with runtime.db.transaction() as session:
        service.resolve(session, service.get_for_update(session, 1), actor, clock.now())
    stones, m = measures(runtime, 1)
    assert stones.started == start
    assert (m["detect"].seconds, m["detect"].state) == (60, "met")
    assert (m["acknowledge"].seconds, m["acknowledge"].state) == (120, "met")
    assert (m["mitigate"].seconds, m["mitigate"].state) == (180, "met")  # target 3 min: just met
    assert (m["recover"].seconds, m["recover"].state) == (240, "met")
    assert (m["resolve"].seconds, m["resolve"].target_seconds, m["resolve"].state) == (480, 600, "met")


def test_running_then_missed_with_time_left(runtime, make_incident, clock):
    make_incident(severity="P1")  # acknowledge target 15 min
    clock.advance(minutes=10)
    _, m = measures(runtime, 1)
    assert m["acknowledge"].state == "running"
    assert m["acknowledge"].remaining_seconds == 300
    assert m["recover"].state == "pending"
    clock.advance(minutes=6)
    _, m = measures(runtime, 1)
    assert m["acknowledge"].state == "missed"
    assert m["acknowledge"].remaining_seconds == -60


def test_missed_target_after_the_fact(runtime, make_incident, actor, clock):
    make_incident(severity="P2")  # acknowledge target 30 min
    clock.advance(minutes=45)
    with runtime.db.transaction() as session:
        service.acknowledge(session, service.get_for_update(session, 1), actor, clock.now())
    _, m = measures(runtime, 1)
    assert (m["acknowledge"].seconds, m["acknowledge"].state) == (2700, "missed")


def test_reopen_starts_a_new_mitigation_and_resolution(runtime, make_incident, actor, clock):
    make_incident(severity="P2")
    clock.advance(minutes=10)
    with runtime.db.transaction() as session:
        service.resolve(session, service.get_for_update(session, 1), actor, clock.now())
    clock.advance(minutes=5)
    with runtime.db.transaction() as session:
        service.reopen(session, service.get_for_update(session, 1), actor, clock.now())
    stones, m = measures(runtime, 1)
    assert stones.resolved is None and stones.mitigated is None
    assert m["resolve"].state == "running"
    clock.advance(minutes=20)
    with runtime.db.transaction() as session:
        service.resolve(session, service.get_for_update(session, 1), actor, clock.now())
    _, m = measures(runtime, 1)
    assert m["resolve"].seconds == timedelta(minutes=35).total_seconds()


def test_default_targets_come_from_the_seeds(runtime):
    p0, p1, p2 = (runtime.severities.get(n) for n in ("P0", "P1", "P2"))
    assert (p0.detection, p0.mitigation, p0.recovery, p0.resolve) == (
        timedelta(minutes=2),
        timedelta(minutes=3),
        timedelta(minutes=5),
        timedelta(minutes=10),
    )
    assert p1.resolve == timedelta(minutes=30)
    assert p2.resolve == timedelta(hours=2)  # the seed rounds 15+30+60 min up
    assert (p0.update_every, p1.update_every, p2.update_every) == (
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=4),
    )
