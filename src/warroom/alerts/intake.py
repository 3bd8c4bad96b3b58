"""The intake path: key lookup with a short in-memory cache, and a group-commit writer.

Requests hand their parsed alerts to one writer thread per process. The writer takes whatever requests are
waiting, ingests them in one transaction, commits, and only then answers each request. A 2xx therefore
always means committed, and one commit (one fsync on PostgreSQL, one WAL append on SQLite) serves many
requests under load, while a lone request is written at once (no waiting for a batch to fill)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError, OperationalError

from warroom.alerts import integrations, pipeline
from warroom.alerts.integrations import IntegrationRef, KnownSource, Source
from warroom.alerts.pipeline import IngestResult
from warroom.alerts.schemas import IncomingAlert
from warroom.errors import Unavailable, WarroomError

log = structlog.get_logger("warroom.alerts")

KEY_TTL_SECONDS = 5.0
MAX_BATCH_ALERTS = 1000
IDLE_EXIT_SECONDS = 30.0


class IntakeMetrics:
    """Accepted and rejected alerts in /metrics."""

    def __init__(self, registry: Any) -> None:
        self.rejected = Counter(
            "warroom_alert_intake_rejected_total",
            "Intake requests refused, by integration (unknown when the key is not recognised) and reason.",
            ["integration", "reason"],
            registry=registry,
        )
        self.accepted = Counter(
            "warroom_alerts_received_total",
            "Alerts committed by the intake, by integration and status.",
            ["integration", "status"],
            registry=registry,
        )
        self.batch = Histogram(
            "warroom_alert_intake_batch_requests",
            "Requests committed together by the intake writer.",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )


def metrics_for(runtime: Any) -> IntakeMetrics:
    """The runtime's intake metrics (registered once)."""
    metrics: IntakeMetrics | None = runtime.extras.get("alerts.metrics")
    if metrics is None:
        metrics = IntakeMetrics(runtime.registry)
        runtime.extras["alerts.metrics"] = metrics
    return metrics


@dataclass
class _CacheEntry:
    ref: IntegrationRef | None
    expires: float


class KeyCache:
    """Key → integration for a few seconds, so that a busy sender costs no lookup per request.

    Keyed by the key's SHA-256 (never the key itself). A revoke in this process drops the entry at once;
    other processes see it within KEY_TTL_SECONDS."""

    def __init__(self, ttl: float = KEY_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, _CacheEntry] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, IntegrationRef | None]:
        """(True, integration or None) when the answer for `key` is cached and fresh; (False, None) otherwise."""
        with self._lock:
            entry = self._entries.get(integrations.hash_key(key))
        if entry is not None and entry.expires > time.monotonic():
            return True, entry.ref
        return False, None

    def resolve(self, runtime: Any, key: str) -> IntegrationRef | None:
        """The live integration for `key`, or None (reads the database when not cached)."""
        hit, ref = self.cached(key)
        if hit:
            return ref
        digest = integrations.hash_key(key)
        now = time.monotonic()
        try:
            with runtime.db.session() as session:
                ref = integrations.find_by_key(session, runtime, key)
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable("The database is unavailable; retry later.") from exc
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()  # bounded: a flood of random keys cannot grow it without end
            self._entries[digest] = _CacheEntry(ref, now + (self.ttl if ref is not None else 1.0))
        return ref

    def invalidate(self) -> None:
        """Forget every entry (after a revoke or a rotation)."""
        with self._lock:
            self._entries.clear()


def key_cache(runtime: Any) -> KeyCache:
    """The runtime's key cache."""
    cache: KeyCache | None = runtime.extras.get("alerts.keys")
    if cache is None:
        cache = KeyCache()
        runtime.extras["alerts.keys"] = cache
    return cache


@dataclass
class _Request:
    ref: IntegrationRef
    alerts: list[IncomingAlert]
    done: Callable[[IngestResult | BaseException], None]
    size: int = field(init=False)
    # Its sender was answered 503 (the database took too long) before the writer took it: not written, since
    # the sender retries it (set from the event loop, read by the writer thread: a plain flag is enough).
    abandoned: bool = False

    def __post_init__(self) -> None:
        self.size = max(len(self.alerts), 1)


class _Settler:
    """Hands results from the writer thread to an event loop with one wake-up per commit, not one per request
    (each wake-up is a write to the loop's self-pipe and a pass of its selector)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: list[tuple[asyncio.Future[Any], Any]] = []
        self._lock = threading.Lock()

    def settle(self, future: asyncio.Future[Any], outcome: Any) -> None:
        """Called in the writer thread: resolve `future` with `outcome` (a result or an exception) soon."""
        with self._lock:
            wake = not self._pending
            self._pending.append((future, outcome))
        if wake:
            try:
                self.loop.call_soon_threadsafe(self._run)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                with self._lock:
                    self._pending.clear()

    def _run(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future, outcome in pending:
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class IntakeWriter:
    """One thread that commits the waiting requests together, then answers them."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.metrics = metrics_for(runtime)
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._settlers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Settler] = weakref.WeakKeyDictionary()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="warroom-intake", daemon=True)
                self._thread.start()

    def submit(self, ref: IntegrationRef, alerts: list[IncomingAlert], done: Callable[[Any], None]) -> _Request:
        """Queue a request; `done` is called (in the writer thread) with its result or exception after commit."""
        request = _Request(ref, alerts, done)
        self._queue.put(request)
        self._ensure_thread()
        return request

    async def ingest(self, ref: IntegrationRef, alerts: list[IncomingAlert]) -> IngestResult:
        """Queue a request and wait until its alerts are committed, at most the database's statement timeout:
        a database that does not answer (frozen, or a lock held for long) is answered 503 so the sender retries,
        not left hanging. The writer may still commit what it was writing then: the retry is a repeat."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        settler = self._settlers.get(loop)
        if settler is None:
            settler = self._settlers.setdefault(loop, _Settler(loop))
        request = self.submit(ref, alerts, lambda outcome: settler.settle(future, outcome))
        try:
            # wait_for cancels the future on timeout; the settler skips futures already done.
            return await asyncio.wait_for(future, timeout=self.runtime.db.timeouts.statement)
        except TimeoutError:
            request.abandoned = True
            self._reject(request, "unavailable")
            log.warning("intake commit timed out", integration=ref.name, seconds=self.runtime.db.timeouts.statement)
            raise Unavailable("The database is unavailable; retry later.") from None

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_EXIT_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first] if not first.abandoned else []
            size = first.size
            while size < MAX_BATCH_ALERTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item.abandoned:
                    continue  # queued behind a stalled commit; its sender got a 503 and retries
                batch.append(item)
                size += item.size
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Request]) -> None:
        self.metrics.batch.observe(len(batch))
        try:
            results = self._commit(batch)
        except Exception as exc:
            if _unavailable(exc):
                error = Unavailable("The database is unavailable; retry later.")
                for request in batch:
                    self._reject(request, "unavailable")
                    request.done(error)
                return
            if len(batch) == 1:
                log.warning("intake request failed", integration=batch[0].ref.name, error=repr(exc))
                self._reject(batch[0], "error")
                batch[0].done(exc)
                return
            # One bad request must not sink the others: write each alone.
            for request in batch:
                self._write([request])
            return
        for request, result in zip(batch, results, strict=True):
            for outcome in result.outcomes:
                self.metrics.accepted.labels(result.integration, outcome.status).inc()
            request.done(result)

    def _reject(self, request: _Request, reason: str) -> None:
        self.metrics.rejected.labels(request.ref.name, reason).inc()

    def _commit(self, batch: list[_Request]) -> list[IngestResult]:
        runtime = self.runtime
        attempts = 0
        while True:
            attempts += 1
            session = runtime.db.write_session()
            try:
                now = runtime.clock.now()
                items: list[tuple[Source, list[IncomingAlert]]] = []
                rows: dict[str, Source] = {}
                for request in batch:
                    integration = rows.get(request.ref.name)
                    if integration is None:
                        integration = _integration_row(session, runtime, request.ref, now)
                        rows[request.ref.name] = integration
                    items.append((integration, request.alerts))
                results = pipeline.ingest_many(session, runtime, items, now=now)
                session.commit()
                return results
            except Exception as exc:
                session.rollback()
                # A deadlock between two processes on PostgreSQL: the loser retries once, the winner went on.
                if attempts < 3 and _retryable(exc):
                    continue
                raise
            finally:
                session.close()


def _integration_row(session: Any, runtime: Any, ref: IntegrationRef, now: Any) -> Source:
    if ref.id is not None:
        return KnownSource(ref.id, ref.name, ref.service, ref.severity)
    return integrations.config_integration(session, runtime, ref.name, now=now)


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, OperationalError):
        return not _retryable(exc)
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _retryable(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")


def writer_for(runtime: Any) -> IntakeWriter:
    """The runtime's intake writer (its thread starts on first use and stops when idle)."""
    writer: IntakeWriter | None = runtime.extras.get("alerts.writer")
    if writer is None:
        writer = IntakeWriter(runtime)
        runtime.extras["alerts.writer"] = writer
    return writer


def is_user_error(exc: BaseException) -> bool:
    """True for errors the sender caused (answered 4xx, not 5xx)."""
    return isinstance(exc, WarroomError) and exc.status < 500
