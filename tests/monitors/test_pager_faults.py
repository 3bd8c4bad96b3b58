"""Faults that used to stop the pager silently: a deleted monitor's pending history, a writer that keeps failing."""

from __future__ import annotations

import pytest

from tests.monitors.test_scheduler import add, current, metric, statuses
from warroom.monitors import batches
from warroom.monitors.scheduler import MonitorScheduler


@pytest.fixture
def start(runtime):
    """Start a real scheduler (its own thread and loop) that polls often; stopped after the test."""
    running = []

    def make() -> MonitorScheduler:
        scheduler = MonitorScheduler(runtime, refresh=0.1, batch_interval=0.05)
        scheduler.start()
        running.append(scheduler)
        assert scheduler.ready.wait(60)
        return scheduler

    yield make
    for scheduler in running:
        scheduler.stop()


def test_deleting_a_monitor_with_history_never_breaks_the_writer(runtime, start, target, clock, api, eventually):
    add(runtime, name="old", type="http", url=f"{target.url}/health", interval=0.1)
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1, down_after=2, severity="P1")
    start()
    eventually(lambda: len(statuses(runtime, "old")) >= 2 and current(runtime, "web").state == "up")
    assert api.delete("/api/v1/monitors/old").status_code == 200
    clock.advance(minutes=1)  # closes the minute: the deleted monitor's rollup is due for writing
    target.behaviour.status = 503
    # A real outage of another monitor is still seen, stored and alerted.
    eventually(lambda: current(runtime, "web").alert_open)
    assert current(runtime, "web").state == "down"
    assert metric(runtime, "warroom_monitor_write_errors_total") == 0
    assert api.get("/ready").status_code == 200


def test_a_writer_that_keeps_failing_makes_ready_fail_and_names_it(
    runtime, start, target, api, monkeypatch, eventually
):
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1)
    real = batches.write_batch
    broken = {"on": False}

    def write_batch(*args, **kwargs):
        if broken["on"]:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(batches, "write_batch", write_batch)
    start()
    eventually(lambda: current(runtime, "web").state == "up")
    assert api.get("/ready").status_code == 200
    broken["on"] = True
    eventually(lambda: api.get("/ready").status_code == 503)
    answer = api.get("/ready")
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "monitor results writer" in answer.json()["detail"]
    assert metric(runtime, "warroom_monitor_write_errors_total") >= 3
    broken["on"] = False
    eventually(lambda: api.get("/ready").status_code == 200)


@pytest.mark.backend("sqlite")
def test_ready_is_ready_on_a_quiet_process(api):
    assert api.get("/ready").json() == {"status": "ready"}


def test_a_monitor_raised_incident_starts_at_the_first_failing_check(runtime, start, target, clock, api, eventually):
    add(runtime, name="web", type="http", url=f"{target.url}/health", interval=0.1, down_for="5m", severity="P1")
    first_failure = clock.now()
    target.behaviour.status = 500
    start()
    eventually(lambda: len(statuses(runtime, "web")) >= 3)
    clock.advance(minutes=5)
    eventually(lambda: current(runtime, "web").alert_open)
    incident = api.get("/api/v1/incidents/1").json()
    assert incident["started_at"] == first_failure.isoformat().replace("+00:00", "Z")
    assert incident["detected_at"] == clock.now().isoformat().replace("+00:00", "Z")
    detect = next(d for d in incident["durations"] if d["name"] == "detect")
    assert detect["seconds"] == 300  # "time to detect" is the 5 minutes the monitor waited, not 0 s
