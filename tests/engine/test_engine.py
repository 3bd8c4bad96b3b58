"""The engine: jobs run once, when due, survive failures with backoff, and wake the engine on commit."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from warroom.engine import jobs
from warroom.engine.jobs import JobKind, Retry
from warroom.engine.worker import Engine, EngineAlreadyRunning
from warroom.runtime import Runtime

RAN: list[tuple[str, str]] = []


def _record(ctx, session, job):
    RAN.append((job.key, job.payload.get("n", "")))


def _flaky(ctx, session, job):
    RAN.append((job.key, str(job.attempts)))
    raise RuntimeError("receiver down")


def _later(ctx, session, job):
    RAN.append((job.key, "later"))
    if job.payload.get("first", True):
        jobs.schedule(session, "test-later", key=job.key, due=ctx.now, payload={"first": False}, now=ctx.now)
        raise Retry(timedelta(minutes=1))


DEAD: list[str] = []
jobs.register(JobKind("test-record", _record))
jobs.register(
    JobKind(
        "test-flaky",
        _flaky,
        max_attempts=3,
        base_backoff=timedelta(seconds=10),
        on_dead=lambda ctx, session, job, error: DEAD.append(f"{job.key}: {error}"),
    )
)
jobs.register(JobKind("test-later", _later))


@pytest.fixture(autouse=True)
def _clear():
    RAN.clear()
    DEAD.clear()


def schedule(runtime: Runtime, kind: str, key: str, minutes: float = 0, **payload):
    with runtime.db.transaction() as session:
        jobs.schedule(
            session,
            kind,
            key=key,
            due=runtime.clock.now() + timedelta(minutes=minutes),
            payload=payload,
            now=runtime.clock.now(),
        )


def test_a_job_runs_when_due_and_only_once(runtime, clock):
    engine = Engine(runtime)
    schedule(runtime, "test-record", "a", minutes=5, n="1")
    assert engine.run_due() == 0
    clock.advance(minutes=5)
    assert engine.run_due() == 1
    assert engine.run_due() == 0
    assert RAN == [("a", "1")]


def test_scheduling_the_same_key_keeps_one_job_with_the_latest_time(runtime, clock):
    schedule(runtime, "test-record", "a", minutes=5, n="first")
    schedule(runtime, "test-record", "a", minutes=10, n="second")
    with runtime.db.session() as session:
        assert [(j.key, j.payload["n"]) for j in jobs.pending(session)] == [("a", "second")]
    clock.advance(minutes=10)
    Engine(runtime).run_due()
    assert RAN == [("a", "second")]


def test_cancel_removes_pending_jobs(runtime, clock):
    schedule(runtime, "test-record", "incident:1:level:0")
    schedule(runtime, "test-record", "incident:1:level:1")
    schedule(runtime, "test-record", "incident:2:level:0")
    with runtime.db.transaction() as session:
        assert jobs.cancel(session, "test-record", key_prefix="incident:1:") == 2
    Engine(runtime).run_due()
    assert RAN == [("incident:2:level:0", "")]


def test_a_failing_job_backs_off_then_dies_with_its_error(runtime, clock):
    engine = Engine(runtime)
    schedule(runtime, "test-flaky", "x")
    engine.run_due()
    clock.advance(seconds=9)
    assert engine.run_due() == 0  # first backoff is 10 s
    clock.advance(seconds=1)
    assert engine.run_due() == 1
    clock.advance(seconds=20)  # second backoff is 20 s
    assert engine.run_due() == 1
    assert RAN == [("x", "0"), ("x", "1"), ("x", "2")]
    assert DEAD == ["x: RuntimeError: receiver down"]
    with runtime.db.session() as session:
        assert jobs.pending(session) == []


def test_retry_rolls_back_the_handlers_changes(runtime, clock):
    engine = Engine(runtime)
    schedule(runtime, "test-later", "y")
    engine.run_due()
    with runtime.db.session() as session:
        (job,) = jobs.pending(session)
        assert job.payload == {} and job.attempts == 0  # the reschedule inside the handler was rolled back
    clock.advance(minutes=1)
    engine.run_due()
    assert RAN == [("y", "later"), ("y", "later")]


def test_unknown_kind_is_parked_not_retried(runtime):
    schedule(runtime, "no-such-kind", "z")
    assert Engine(runtime).run_due() == 1
    with runtime.db.session() as session:
        assert jobs.pending(session) == []


def test_a_job_abandoned_by_a_crashed_engine_is_taken_over_after_its_lease(runtime, clock):
    crashed = Engine(runtime)
    schedule(runtime, "test-record", "a")
    assert crashed._claim(clock.now())  # claimed, then the process died before running it
    survivor = Engine(runtime)
    assert survivor.run_due() == 0
    clock.advance(minutes=6)
    assert survivor.run_due() == 1
    assert RAN == [("a", "")]


def test_the_background_engine_is_woken_by_a_commit(runtime, backend):
    engine = Engine(runtime, poll_interval=30)
    engine.start()
    try:
        time.sleep(0.05)
        started = time.monotonic()
        schedule(runtime, "test-record", "now")
        while not RAN and time.monotonic() - started < 5:
            time.sleep(0.002)
        assert RAN == [("now", "")]
        assert time.monotonic() - started < 1.0  # not the 30 s poll
    finally:
        engine.stop()


@pytest.mark.backend("sqlite")
def test_sqlite_refuses_a_second_engine(runtime, backend):
    first = Engine(runtime)
    first.start()
    try:
        with pytest.raises(EngineAlreadyRunning, match="SQLite allows one engine"):
            Engine(runtime).start()
    finally:
        first.stop()


@pytest.mark.backend("postgresql")
def test_three_engines_on_postgresql_run_each_job_once(runtime, backend, clock):
    with runtime.db.transaction() as session:
        for n in range(300):
            jobs.schedule(session, "test-record", key=f"k{n}", due=clock.now(), now=clock.now())
    engines = [Engine(runtime, batch=7) for _ in range(3)]
    threads = [threading.Thread(target=e.run_due) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k for k, _ in RAN) == sorted(f"k{n}" for n in range(300))


@pytest.mark.backend("sqlite")
def test_an_engine_starting_on_sqlite_frees_the_jobs_of_a_killed_one_at_once(runtime, backend, clock):
    crashed = Engine(runtime)
    schedule(runtime, "test-record", "a")
    assert crashed._claim(clock.now())  # claimed, then the process died (its lease runs 5 more minutes)
    survivor = Engine(runtime)
    assert survivor.release_orphans() == 1
    assert survivor.run_due() == 1
    assert RAN == [("a", "")]


def test_engine_jobs_lists_what_waits(runtime, database_url, monkeypatch):
    from typer.testing import CliRunner

    from warroom.cli import app as cli

    schedule(runtime, "test-record", "incident:7", minutes=5)
    monkeypatch.setenv("WARROOM_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["engine", "jobs", "--json"])
    assert result.exit_code == 0, result.output
    assert '"key": "incident:7"' in result.output and '"kind": "test-record"' in result.output
