"""The scheduler running for real (its own thread and uvloop loop) against local targets, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from warroom.engine import jobs
from warroom.monitors import alerting, service
from warroom.monitors.checks import Outcome
from warroom.monitors.handlers import PRUNE_KIND
from warroom.monitors.models import Monitor, MonitorResult
from warroom.monitors.scheduler import MonitorScheduler
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig


def add(runtime, **definition) -> Monitor:
    definition.setdefault("service", "checkout")
    with runtime.db.transaction() as session:
        monitor, _ = service.create(
            session,
            MonitorConfig.model_validate(definition),
            source="api",
            now=runtime.clock.now(),
            severities=runtime.severities.names(),
        )
    return monitor


def statuses(runtime, name):
    with runtime.db.session() as session:
        monitor = service.get(session, name)
        query = select(MonitorResult.status).where(MonitorResult.monitor_id == monitor.id).order_by(MonitorResult.id)
        return list(session.scalars(query))


def current(runtime, name) -> Monitor:
    with runtime.db.session() as session:
        return service.get(session, name)


def metric(runtime, name, **labels):
    return runtime.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def start(runtime):
    running = []

    def make(**kwargs) -> MonitorScheduler:
        kwargs.setdefault("refresh", 0.1)
        kwargs.setdefault("batch_interval", 0.05)
        scheduler = MonitorScheduler(runtime, **kwargs)
        scheduler.start()
        running.append(scheduler)
        assert scheduler.ready.wait(60)
        return scheduler

    yield make
    for scheduler in running:
        scheduler.stop()


def alert_rows(runtime):
    """The alerts the real intake pipeline stored for the monitors integration, oldest first."""
    from warroom.alerts.models import Alert

    with runtime.db.session() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def incidents(runtime):
    from warroom.incidents.models import Incident

    with runtime.db.session() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_checks_run_and_results_are_stored_with_rollups(runtime, start, target, clock, eventually):
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.2)
    start()
    eventually(lambda: len(statuses(runtime, "web")) >= 3)
    assert set(statuses(runtime, "web")) == {"up"}
    monitor = current(runtime, "web")
    assert (monitor.state, monitor.last_status) == ("up", "up")
    assert monitor.last_message.startswith("200 OK in ")
    clock.advance(minutes=1)  # closes the minute: its rollup (and the day's) is written

    def uptime():
        with runtime.db.session() as session:
            return service.uptime(session, monitor.id, now=clock.now())

    eventually(lambda: uptime()["h24"] == 1.0)
    assert uptime()["d7"] == uptime()["d90"] == 1.0
    with runtime.db.session() as session:
        assert service.latency_percentiles(session, monitor.id, now=clock.now())["count"] >= 3
        assert [job.kind for job in jobs.pending(session)] == [PRUNE_KIND]  # history is pruned by an engine job


def test_down_fires_an_alert_that_opens_an_incident_and_up_resolves_it(runtime, start, target, eventually):
    add(
        runtime,
        name="web",
        type="http",
        url=f"{target.url}/health",
        interval=0.1,
        down_after=2,
        recover_after=2,
        severity="P1",
        labels={"team": "payments"},
    )
    start()
    eventually(lambda: current(runtime, "web").state == "up")
    target.behaviour.status = 503
    eventually(lambda: current(runtime, "web").alert_open)
    assert current(runtime, "web").state == "down"
    (firing,) = alert_rows(runtime)
    assert (firing.status, firing.fingerprint) == ("firing", "monitor:web")
    assert firing.labels == {
        "alertname": "web",
        "service": "checkout",
        "severity": "P1",
        "monitor": "web",
        "check": "http",
        "team": "payments",
    }
    assert firing.annotations["description"] == "status 503 Service Unavailable, expected 2xx or 3xx"
    (incident,) = incidents(runtime)
    assert (incident.title, incident.severity, incident.services) == ("web is down", "P1", ["checkout"])
    target.behaviour.status = 200
    eventually(lambda: not current(runtime, "web").alert_open)
    assert [a.status for a in alert_rows(runtime)] == ["resolved"]
    # Every alert of the incident resolved: it waits in monitoring for the route's resolve_after.
    assert incidents(runtime)[0].status == "monitoring"
    # Recovery needed two successes in a row before resolving.
    tail = statuses(runtime, "web")
    assert tail[tail.index("down") :].count("up") >= 2


def test_a_refused_alert_is_retried_without_losing_results(runtime, start, target, monkeypatch, eventually):
    calls = []
    real = alerting.raise_down

    def refuse_once(session, runtime_, monitor, message, now, **kwargs):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("alert intake unavailable")
        real(session, runtime_, monitor, message, now, **kwargs)

    monkeypatch.setattr(alerting, "raise_down", refuse_once)
    monkeypatch.setattr("warroom.monitors.recorder.ALERT_RETRY", 0.2)
    target.behaviour.status = 500
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1)
    start()
    eventually(lambda: current(runtime, "web").alert_open)
    assert len(calls) == 2 and len(alert_rows(runtime)) == 1
    assert statuses(runtime, "web")[0] == "down"


def test_a_check_that_raises_is_a_failure_and_the_others_keep_running(runtime, start, target, eventually):
    target.prometheus["answer"] = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}
    # The timeout is the interval: 0.1 s timed out on a loaded CI machine, so both take 1 s.
    add(runtime, name="broken", type="prometheus", url=target.url, query="up", fail_if="< 1", interval=1, timeout=1)
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=1, timeout=1)
    start()
    eventually(lambda: len(statuses(runtime, "broken")) >= 3 and len(statuses(runtime, "web")) >= 3)
    broken = current(runtime, "broken")
    assert (broken.state, broken.last_message) == ("down", "KeyError: 'value'")
    assert set(statuses(runtime, "web")) == {"up"}


def test_a_hung_target_is_cut_at_its_timeout(runtime, start, target, eventually):
    add(runtime, name="hang", type="http", url=f"{target.url}/hang", interval=0.5, timeout=0.2)
    start()
    eventually(lambda: statuses(runtime, "hang"))
    monitor = current(runtime, "hang")
    assert (monitor.last_status, monitor.last_message) == ("down", "timed out after 0.2s")
    assert 180 < monitor.last_latency_ms < 1000


def test_pause_stops_the_checks_and_resume_restarts_them(runtime, start, target, eventually):
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1)
    start()
    eventually(lambda: len(statuses(runtime, "web")) >= 2)
    with runtime.db.transaction() as session:
        service.set_paused(session, service.get(session, "web"), True, runtime.clock.now())
    eventually(lambda: target.behaviour.hits == target.behaviour.hits and _quiet(target))
    hits = target.behaviour.hits
    import time

    time.sleep(0.5)
    assert target.behaviour.hits == hits
    with runtime.db.transaction() as session:
        service.set_paused(session, service.get(session, "web"), False, runtime.clock.now())
    eventually(lambda: target.behaviour.hits > hits)


def _quiet(target, wait=0.3):
    import time

    before = target.behaviour.hits
    time.sleep(wait)
    return target.behaviour.hits == before


def test_heartbeat_pinged_then_not(runtime, start, clock, eventually):
    monitor = add(runtime, name="backup", type="heartbeat", period="1h", grace="10m", interval=0.1)
    with runtime.db.transaction() as session:
        token = service.issue_token(session, service.get(session, "backup"))
    start()
    eventually(
        lambda: current(runtime, "backup").last_message == "waiting for the first ping (expected every 1h + 10m grace)"
    )
    clock.advance(minutes=71)
    eventually(lambda: current(runtime, "backup").state == "down")
    assert current(runtime, "backup").last_message.startswith("no ping since the monitor was created 1h 11m ago")
    with runtime.db.transaction() as session:
        service.record_ping(session, token, clock.now())
    eventually(lambda: current(runtime, "backup").state == "up")
    clock.advance(minutes=69)
    eventually(lambda: current(runtime, "backup").last_message == "last ping 1h 09m ago")
    assert current(runtime, "backup").state == "up"
    clock.advance(minutes=2)
    eventually(lambda: current(runtime, "backup").state == "down")
    assert current(runtime, "backup").last_message == "last ping 1h 11m ago (expected every 1h + 10m grace)"
    assert monitor.id == current(runtime, "backup").id


def test_overload_sheds_and_delays_but_never_reports_a_healthy_target_down(runtime, start, target, eventually):
    target.behaviour.delay = 0.05
    for index in range(20):
        add(runtime, name=f"web-{index}", type="http", url=f"{target.url}/health", interval=0.2)
    start(options=MonitoringConfig(concurrency=2, max_delay=0.1))
    eventually(lambda: metric(runtime, "warroom_monitor_checks_shed_total", reason="late") > 5)
    assert metric(runtime, "warroom_monitor_checks_delayed_total") > 5
    with runtime.db.session() as session:
        assert set(session.scalars(select(MonitorResult.status))) == {"up"}


def test_timing_failures_while_the_loop_was_late_are_inconclusive(runtime):
    scheduler = MonitorScheduler(runtime)
    scheduler._lag.extend([(10.0, 0.001), (10.5, 0.4), (11.0, 0.001)])
    slow = Outcome("down", "timed out after 2s", latency_ms=2000, timing=True)
    assert scheduler._inconclusive(slow, started=9.0, ended=11.0) == "loop_lag"
    assert scheduler._inconclusive(slow, started=11.0, ended=13.0) is None  # the loop was fine: the target hung
    refused = Outcome("down", "ConnectionRefusedError", latency_ms=1)
    assert scheduler._inconclusive(refused, started=9.0, ended=11.0) is None
    assert scheduler._inconclusive(Outcome("down", "EMFILE", local=True), started=0, ended=1) == "local_error"


@pytest.mark.backend("postgresql")
def test_engines_share_the_monitors_and_take_over_a_dead_ones(runtime, start, target, clock, eventually):
    for index in range(12):
        add(runtime, name=f"web-{index}", type="http", url=f"{target.url}/health", interval=0.2)
    first = start(engine_id="engine-a", engine_ttl=1.0)
    second = start(engine_id="engine-b", engine_ttl=1.0)
    eventually(lambda: len(first.engines) == 2 and len(second.engines) == 2)
    eventually(lambda: len(first.slots) + len(second.slots) == 12 and first.slots and second.slots)
    assert not set(first.slots) & set(second.slots)
    taken = set(second.slots)
    second.kill()  # no goodbye: it just stops heartbeating
    clock.advance(seconds=2)
    eventually(lambda: len(first.slots) == 12)
    killed_at = clock.now()
    clock.advance(seconds=1)

    def checked_again():
        with runtime.db.session() as session:
            query = select(MonitorResult.monitor_id).where(MonitorResult.at > killed_at)
            return taken <= set(session.scalars(query))

    eventually(checked_again)


@pytest.mark.backend("postgresql")
def test_an_engine_that_stops_cleanly_hands_over_at_once(runtime, start, target, eventually):
    for index in range(8):
        add(runtime, name=f"web-{index}", type="http", url=f"{target.url}/health", interval=0.2)
    first = start(engine_id="engine-a")
    second = start(engine_id="engine-b")
    eventually(lambda: len(first.slots) + len(second.slots) == 8 and second.slots)
    second.stop()
    eventually(lambda: len(first.slots) == 8)


def test_config_monitors_sync_idempotently(runtime, clock):
    def sync(*configs):
        with runtime.db.transaction() as session:
            return service.sync_config(
                session, [MonitorConfig.model_validate(c) for c in configs], now=clock.now(), severities=["P1", "P2"]
            )

    web = {"name": "web", "service": "s", "type": "tcp", "host": "h", "port": 1}
    db = {"name": "db", "service": "s", "type": "postgres", "url": "postgresql://x@h/db"}
    add(runtime, name="api-made", type="memory", service="s")
    assert vars(sync(web, db)) == {"created": 2, "updated": 0, "deleted": 0, "unchanged": 0}
    assert vars(sync(web, db)) == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2}
    assert vars(sync({**web, "port": 2})) == {"created": 0, "updated": 1, "deleted": 1, "unchanged": 0}
    with runtime.db.session() as session:
        assert [(m.name, m.source, m.version) for m in service.list_monitors(session)] == [
            ("api-made", "api", 1),
            ("web", "config", 2),
        ]


def test_the_engine_syncs_warroom_yaml_at_start(runtime, start, target, eventually):
    runtime.config.monitors = [
        MonitorConfig.model_validate(
            {"name": "from-yaml", "service": "s", "type": "http", "url": f"{target.url}/health", "interval": 0.1}
        )
    ]
    start()
    eventually(lambda: statuses(runtime, "from-yaml"))
    assert current(runtime, "from-yaml").source == "config"


def test_down_for_a_duration_uses_the_injected_clock(runtime, start, target, clock, eventually):
    target.behaviour.status = 500
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1, down_for="5m")
    start()
    eventually(lambda: len(statuses(runtime, "web")) >= 3)
    assert current(runtime, "web").state == "unknown"
    clock.advance(minutes=5)
    eventually(lambda: current(runtime, "web").state == "down")
    assert current(runtime, "web").state_since >= clock.now() - timedelta(seconds=1)
