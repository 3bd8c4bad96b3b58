"""The engine: claims due jobs, runs their handlers, commits. Many on PostgreSQL, exactly one on SQLite."""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import OperationalError

from warroom.engine.jobs import KINDS, JobContext, Retry
from warroom.engine.models import Job

log = structlog.get_logger("warroom.engine")

LEASE = timedelta(minutes=5)


class BackgroundService(Protocol):
    """Long-running work an engine process carries besides jobs (e.g. the health-check scheduler)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Factories called with the runtime when an engine starts; domains append to it in their install().
BACKGROUND_SERVICES: list[Callable[[Any], BackgroundService]] = []


class EngineAlreadyRunning(RuntimeError):
    """A second engine on one SQLite database."""


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

    def __init__(self, runtime: Any, *, batch: int = 50, poll_interval: float = 1.0) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = batch
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._lock_file: IO[str] | None = None
        self._services: list[BackgroundService] = []
        metrics = runtime.extras.get("engine_metrics")
        if metrics is None:
            metrics = EngineMetrics(runtime.registry)
            runtime.extras["engine_metrics"] = metrics
        self.metrics: EngineMetrics = metrics

    # -- claiming and running -------------------------------------------------------------------------------

    def _claim(self, now: datetime) -> list[int]:
        """Take up to `batch` due jobs for this engine; a job taken by a crashed engine is free again after LEASE."""
        with self.db.write_session() as session:
            due = (Job.state == "pending") & (Job.due_at <= now)
            abandoned = (Job.state == "running") & (Job.locked_until < now)
            query = select(Job.id).where(due | abandoned).order_by(Job.due_at, Job.id).limit(self.batch)
            if not self.db.is_sqlite:
                # SKIP LOCKED: a second engine must never take a job that the first is claiming.
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(Job)
                    .where(Job.id.in_(ids))
                    .values(state="running", owner=self.id, locked_until=now + LEASE)
                    .execution_options(synchronize_session=False)
                )
            session.commit()
        return ids

    def run_due(self, limit: int | None = None) -> int:
        """Run every job due now (by the runtime's clock), up to `limit`; returns how many ran."""
        ran = 0
        while limit is None or ran < limit:
            now = self.runtime.clock.now()
            ids = self._claim(now)
            if not ids:
                return ran
            for job_id in ids:
                self._run_one(job_id)
                ran += 1
        return ran

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
                # The handler's changes and the job's removal commit together: a crash before this commit runs
                # the job again, a crash after it never does.
                session.execute(delete(Job).where(Job.id == job_id, Job.owner == self.id))
                session.commit()
            except Exception as exc:  # a failing handler must never stop the engine
                session.rollback()
                outcome = exc
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

    def _acquire_sqlite_lock(self) -> None:
        database = self.db.engine.url.database
        if not database or database == ":memory:":
            return
        path = Path(f"{database}.engine.lock")
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EngineAlreadyRunning(
                f"another warroom engine already runs on {database}: SQLite allows one engine "
                "(use PostgreSQL to run several, or `warroom serve --no-engine` for extra API processes)"
            ) from None
        handle.write(f"{self.id}\n")
        handle.flush()
        self._lock_file = handle

    def start(self) -> None:
        """Run in a background thread until stop()."""
        if self.db.is_sqlite:
            self._acquire_sqlite_lock()
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
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        log.info("engine stopped", engine=self.id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_due()
                next_due = self.next_due()
            except OperationalError as exc:
                log.warning("database unavailable; engine retries", error=str(exc.orig))
                next_due = None
            except Exception:
                log.exception("engine pass failed")
                next_due = None
            wait = self.poll_interval
            if next_due is not None:
                wait = min(wait, max((next_due - self.runtime.clock.now()).total_seconds(), 0.0))
            if wait > 0:
                self._wake.wait(wait)

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


def pending_count(db: Any) -> int:
    """How many jobs wait (for the CLI)."""
    with db.session() as session:
        return int(session.execute(text("SELECT count(*) FROM jobs WHERE state = 'pending'")).scalar() or 0)
