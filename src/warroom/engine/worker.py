"""The engine: claims due jobs, runs their handlers, commits. Many on PostgreSQL, exactly one on SQLite."""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import structlog
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import OperationalError

from warroom.engine.jobs import KINDS, JobContext, Retry
from warroom.engine.models import Job
from warroom.health import health_of

log = structlog.get_logger("warroom.engine")
ENGINE_PART = "engine job runner"  # the part named by /ready when its passes keep failing

LEASE = timedelta(minutes=5)


class BackgroundService(Protocol):
    """Long-running work an engine process carries besides jobs (e.g. the health-check scheduler)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Factories called with the runtime when an engine starts; domains append to it in their install().
BACKGROUND_SERVICES: list[Callable[[Any], BackgroundService]] = []


class EngineAlreadyRunning(RuntimeError):
    """A second engine on one SQLite database."""


class JobsCollector(Collector):
    """`warroom_engine_jobs{kind,state}` and the lateness of the most overdue job, read at scrape time."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Count jobs by kind and state (one grouped query)."""
        jobs = GaugeMetricFamily("warroom_engine_jobs", "Jobs waiting, running or dead.", labels=["kind", "state"])
        overdue = GaugeMetricFamily(
            "warroom_engine_oldest_overdue_seconds", "How long the most overdue pending job has been due."
        )
        try:
            with self.runtime.db.session() as session:
                rows = list(session.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)))
                oldest = session.scalar(select(Job.due_at).where(Job.state == "pending").order_by(Job.due_at).limit(1))
        except Exception:  # a scrape must answer even when the database does not
            rows, oldest = [], None
        for kind, state, count in sorted(rows):
            jobs.add_metric([kind, state], count)
        late = (self.runtime.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        overdue.add_metric([], max(late, 0.0))
        yield jobs
        yield overdue


def metrics_for(runtime: Any) -> EngineMetrics:
    """The engine metrics of this runtime, registered once."""
    metrics = runtime.extras.get("engine_metrics")
    if metrics is None:
        metrics = EngineMetrics(runtime.registry)
        runtime.registry.register(JobsCollector(runtime))
        runtime.extras["engine_metrics"] = metrics
    return metrics  # type: ignore[no-any-return]


class EngineMetrics:
    """Lateness and outcomes, exported in /metrics."""

    def __init__(self, registry: Any) -> None:
        self.lateness = Histogram(
            "warroom_engine_job_lateness_seconds",
            "How long after its due time a job started.",
            ["kind"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )
        self.runs = Counter(
            "warroom_engine_jobs_total", "Jobs run, by kind and outcome.", ["kind", "outcome"], registry=registry
        )


class Engine:
    """One engine. `run_due()` does one pass (tests call it with a fake clock); `start()` runs passes in a thread."""

    def __init__(self, runtime: Any, *, batch: int = 50, poll_interval: float = 1.0, io_workers: int = 8) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = batch
        self.poll_interval = poll_interval
        # Jobs that do slow I/O (deliveries) run here, so one slow receiver does not hold up the others
        # or the escalation steps; the pool is bounded and claiming pauses while it is full.
        self.io_workers = io_workers
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[Future[None]] = set()
        self._in_flight_lock = threading.Lock()
        self._wake = threading.Event()
        self._sleeping = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._lock_file: IO[str] | None = None
        self._services: list[BackgroundService] = []
        self.metrics: EngineMetrics = metrics_for(runtime)

    # -- claiming and running -------------------------------------------------------------------------------

    def _claim(self, now: datetime, limit: int | None = None) -> list[int]:
        """Take up to `batch` due jobs for this engine; a job taken by a crashed engine is free again after LEASE."""
        return [job_id for job_id, _kind in self._claim_with_kinds(now, limit)]

    def _claim_with_kinds(self, now: datetime, limit: int | None = None) -> list[tuple[int, str]]:
        size = self.batch if limit is None else max(min(limit, self.batch), 0)
        if size == 0:
            return []
        if self.db.is_sqlite and not self._anything_to_claim(now):
            # Idle passes take no write lock: on SQLite it is the whole database's, and the intake waits for it.
            return []
        with self.db.write_session() as session:
            # Two queries, each served by the (state, due_at) index: an OR of both would scan the table,
            # which costs tens of milliseconds per pass once 100,000 jobs wait.
            due = select(Job.id, Job.kind).where(Job.state == "pending", Job.due_at <= now)
            abandoned = select(Job.id, Job.kind).where(Job.state == "running", Job.locked_until < now)
            rows: list[tuple[int, str]] = []
            for query in (abandoned.limit(size), due.order_by(Job.due_at).limit(size)):
                if not self.db.is_sqlite:
                    # SKIP LOCKED: a second engine must never take a job that the first is claiming.
                    query = query.with_for_update(skip_locked=True)
                rows.extend((job_id, kind) for job_id, kind in session.execute(query))
                if len(rows) >= size:
                    break
            rows = rows[:size]
            if rows:
                session.execute(
                    update(Job)
                    .where(Job.id.in_([job_id for job_id, _ in rows]))
                    .values(state="running", owner=self.id, locked_until=now + LEASE)
                    .execution_options(synchronize_session=False)
                )
            session.commit()
        return rows

    def _anything_to_claim(self, now: datetime) -> bool:
        with self.db.session() as session:
            due = select(Job.id).where(Job.state == "pending", Job.due_at <= now).limit(1)
            abandoned = select(Job.id).where(Job.state == "running", Job.locked_until < now).limit(1)
            return any(session.execute(query).first() is not None for query in (due, abandoned))

    def run_due(self, limit: int | None = None, *, wait: bool = True) -> int:
        """Run every job due now (by the runtime's clock), up to `limit`; returns how many ran (or started).

        With `wait` (tests, the default) it returns once the I/O jobs it started have finished too.
        """
        ran = 0
        while limit is None or ran < limit:
            room = self.batch if limit is None else limit - ran
            if not wait:
                # Back-pressure: claim no more than the I/O pool can start soon (claimed jobs hold leases).
                self._wait_in_flight(self.io_workers * 2)
            now = self.runtime.clock.now()
            claimed = self._claim_with_kinds(now, room)
            if not claimed:
                break
            for job_id, kind_name in claimed:
                kind = KINDS.get(kind_name)
                if kind is None or kind.transactional:
                    self._run_one(job_id)
                elif self.io_workers > 0:
                    self._submit(job_id)
                else:
                    self._run_io_job(job_id)
                ran += 1
            if wait:
                self._wait_in_flight(0)
        if wait:
            self._wait_in_flight(0)
        return ran

    def _submit(self, job_id: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.io_workers, thread_name_prefix="warroom-io")
        future = self._pool.submit(self._run_io_job, job_id)
        with self._in_flight_lock:
            self._in_flight.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._in_flight_lock:
            self._in_flight.discard(future)
        if future.exception() is not None:
            log.error("I/O job crashed the worker", error=str(future.exception()))
        self._wake.set()  # a finished delivery may have scheduled more work

    def _wait_in_flight(self, at_most: int) -> None:
        while True:
            with self._in_flight_lock:
                pending = [f for f in self._in_flight if not f.done()]
            if len(pending) <= at_most:
                return
            _wait_any(pending)

    def _run_one(self, job_id: int) -> None:
        started = self.runtime.clock.now()
        outcome: Retry | Exception | None = None
        with self.db.write_session() as session:
            job = session.get(Job, job_id)
            if job is None or job.owner != self.id or job.state != "running":
                session.rollback()
                return
            kind_name, key = job.kind, job.key
            kind = KINDS.get(kind_name)
            self.metrics.lateness.labels(kind_name).observe(max((started - job.due_at).total_seconds(), 0.0))
            if kind is None:
                job.state, job.last_error = "dead", f"no handler for job kind {kind_name!r}"
                session.commit()
                self.metrics.runs.labels(kind_name, "unknown").inc()
                return
            try:
                kind.handler(JobContext(runtime=self.runtime, now=started, engine_id=self.id), session, job)
                # The handler's changes and the job's removal commit together: a crash before this commit
                # runs the job again, a crash after it never does.
                session.execute(
                    delete(Job)
                    .where(Job.id == job_id, Job.owner == self.id)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
            except Exception as exc:  # a failing handler must never stop the engine
                session.rollback()
                outcome = exc
        self._after(job_id, kind_name, key, started, outcome)

    def _run_io_job(self, job_id: int) -> None:
        """Run a non-transactional (I/O) job: no write lock is held while its handler talks to the network."""
        started = self.runtime.clock.now()
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.owner != self.id or job.state != "running":
                return
            session.expunge(job)
        self.metrics.lateness.labels(job.kind).observe(max((started - job.due_at).total_seconds(), 0.0))
        outcome = self._run_io(job, job.kind, started)
        self._after(job_id, job.kind, job.key, started, outcome)

    def _after(
        self, job_id: int, kind_name: str, key: str, started: datetime, outcome: Retry | Exception | None
    ) -> None:
        # Outside the handler's session: on SQLite it must have released the write lock first.
        if outcome is None:
            self.metrics.runs.labels(kind_name, "ok").inc()
        elif isinstance(outcome, Retry):
            self._reschedule(job_id, started + outcome.after, str(outcome), count=False)
            self.metrics.runs.labels(kind_name, "retry").inc()
        else:
            error = f"{outcome.__class__.__name__}: {outcome}"
            log.warning(
                "job failed",
                kind=kind_name,
                key=key,
                error=error,
                trace="".join(traceback.format_exception(outcome, limit=3)),
            )
            self._failed(job_id, kind_name, error, started)

    def _run_io(self, job: Job, kind_name: str, started: datetime) -> Retry | Exception | None:
        """Run a non-transactional handler with a plain session, then delete its job (unless it did)."""
        kind = KINDS[kind_name]
        ctx = JobContext(runtime=self.runtime, now=started, engine_id=self.id)
        try:
            with self.db.session() as session:
                kind.handler(ctx, session, job)
                session.commit()
        except Exception as exc:  # Retry included
            return exc
        if job.id not in ctx.completed:
            with self.db.write_session() as session:
                session.execute(
                    delete(Job)
                    .where(Job.id == job.id, Job.owner == self.id, Job.state == "running")
                    .execution_options(synchronize_session=False)
                )
                session.commit()
        return None

    def _reschedule(self, job_id: int, due: datetime, error: str, *, count: bool) -> None:
        with self.db.write_session() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            job.state, job.owner, job.locked_until, job.due_at, job.last_error = "pending", None, None, due, error
            if count:
                job.attempts += 1
            session.commit()

    def _failed(self, job_id: int, kind_name: str, error: str, now: datetime) -> None:
        kind = KINDS[kind_name]
        with self.db.write_session() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            job.attempts += 1
            job.last_error = error
            job.owner, job.locked_until = None, None
            if job.attempts >= kind.max_attempts:
                job.state = "dead"
                if kind.on_dead is not None:
                    kind.on_dead(JobContext(self.runtime, now, self.id), session, job, error)
                self.metrics.runs.labels(kind_name, "dead").inc()
            else:
                job.state = "pending"
                job.due_at = now + kind.backoff(job.attempts)
                self.metrics.runs.labels(kind_name, "failed").inc()
            session.commit()

    def next_due(self) -> datetime | None:
        """When the earliest pending job is due."""
        with self.db.session() as session:
            due: datetime | None = session.scalar(
                select(Job.due_at).where(Job.state == "pending").order_by(Job.due_at).limit(1)
            )
            return due

    # -- running in the background ---------------------------------------------------------------------------

    def wake(self, _due: datetime | None = None) -> None:
        """Look for work now (called after a commit that scheduled a job)."""
        self._wake.set()

    def asleep(self) -> bool:
        """True while the background loop waits for its next due job, its poll interval or a wake-up."""
        return self._sleeping.is_set()

    def release_orphans(self) -> int:
        """Free jobs claimed by engines that are gone, so they run now rather than after their lease.

        On SQLite this engine holds the one-engine lock, so every `running` job belongs to a dead engine.
        On PostgreSQL only engines of this host whose process no longer exists are known to be dead;
        a job of a crashed engine on another host waits for its lease (LEASE) to end.
        """
        with self.db.write_session() as session:
            query = update(Job).where(Job.state == "running")
            if not self.db.is_sqlite:
                host = socket.gethostname()
                owners = set(session.scalars(select(Job.owner).where(Job.state == "running").distinct()))
                dead = [o for o in owners if o and _dead_local_owner(o, host)]
                if not dead:
                    return 0
                query = query.where(Job.owner.in_(dead))
            result = session.execute(
                query.values(state="pending", owner=None, locked_until=None).execution_options(
                    synchronize_session=False
                )
            )
            session.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.info("released jobs of a stopped engine", jobs=count)
        return count

    def _acquire_sqlite_lock(self) -> None:
        handle = take_sqlite_engine_lock(self.db)
        if handle is None:
            return
        handle.write(f"{self.id}\n")
        handle.flush()
        self._lock_file = handle

    def start(self) -> None:
        """Run in a background thread until stop()."""
        if self.db.is_sqlite:
            self._acquire_sqlite_lock()
        self.release_orphans()
        self.runtime.wake_engine = self.wake
        self._thread = threading.Thread(target=self._loop, name="warroom-engine", daemon=True)
        self._thread.start()
        if not self.db.is_sqlite:
            self._listener = threading.Thread(target=self._listen, name="warroom-engine-listen", daemon=True)
            self._listener.start()
        for factory in BACKGROUND_SERVICES:
            service = factory(self.runtime)
            service.start()
            self._services.append(service)
        log.info("engine started", engine=self.id)

    def stop(self, timeout: float = 10) -> None:
        """Finish the job at hand and stop."""
        self._stop.set()
        self._wake.set()
        for service in reversed(self._services):
            service.stop()
        self._services.clear()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._listener is not None:
            self._listener.join(timeout)
        self._wait_in_flight(0)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self.runtime.wake_engine == self.wake:
            self.runtime.wake_engine = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        log.info("engine stopped", engine=self.id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_due(wait=False)
                next_due = self.next_due()
                health_of(self.runtime).ok(ENGINE_PART)
            except OperationalError as exc:
                log.warning("database unavailable; engine retries", error=str(exc.orig))
                health_of(self.runtime).failed(ENGINE_PART, exc)
                next_due = None
            except Exception as exc:
                log.exception("engine pass failed")
                health_of(self.runtime).failed(ENGINE_PART, exc)
                next_due = None
            wait = self.poll_interval
            if next_due is not None:
                wait = min(wait, max((next_due - self.runtime.clock.now()).total_seconds(), 0.0))
            if wait > 0:
                self._sleeping.set()
                self._wake.wait(wait)
                self._sleeping.clear()

    def _listen(self) -> None:
        """LISTEN warroom_jobs on PostgreSQL so that a job scheduled by another process wakes us at once."""
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("LISTEN warroom_jobs")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.OperationalError as exc:
                log.warning("LISTEN connection lost; reconnecting", error=str(exc))
                time.sleep(1)


def take_sqlite_engine_lock(db: Any) -> IO[str] | None:
    """The lock that lets one engine run on a SQLite database (held while the file stays open); None for an
    in-memory database. Raises EngineAlreadyRunning when another process holds it."""
    database = db.engine.url.database
    if not database or database == ":memory:":
        return None
    handle = Path(f"{database}.engine.lock").open("w")  # noqa: SIM115 (kept open: the lock lives with it)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise EngineAlreadyRunning(
            f"another warroom engine already runs on {database}: SQLite allows one engine "
            "(use PostgreSQL to run several, or `warroom serve --no-engine` for extra API processes)"
        ) from None
    return handle


def _wait_any(futures: list[Future[None]]) -> None:
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import wait as wait_futures

    wait_futures(futures, return_when=FIRST_COMPLETED)


def _dead_local_owner(owner: str, host: str) -> bool:
    """True when `owner` (host:pid:suffix) is an engine of this host whose process has ended."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def pending_count(db: Any) -> int:
    """How many jobs wait (for the CLI)."""
    with db.session() as session:
        return int(session.execute(text("SELECT count(*) FROM jobs WHERE state = 'pending'")).scalar() or 0)
