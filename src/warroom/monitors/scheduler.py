"""The health-check scheduler: an engine background service running every check on one asyncio loop.

One thread runs a uvloop event loop. Each monitor has a timer on the loop (`call_at`), started at a stable
offset within its interval so that monitors do not all fire at once. A fired timer starts the check as a task
unless too many are in flight (then it waits for a free slot) or it is already later than `max_delay` (then it
is shed: skipped and counted, never reported as a failure). A check's timeout and latency are measured from
when it actually started, and a time-limit failure during which the event loop itself was late is recorded as
inconclusive rather than down: an overloaded scheduler must never page anyone about a healthy target.

Results, state changes, rollups and alert changes are written by one database thread in batches, one
transaction per batch. On PostgreSQL several engines share the monitors: each heartbeats into
`monitor_engines`, and a monitor belongs to the live engine that wins rendezvous hashing over its id, so an
engine that stops heartbeating loses its monitors to the others within `engine_ttl + refresh` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import math
import os
import resource
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select, update

from warroom import __version__
from warroom.engine import jobs
from warroom.health import health_of
from warroom.monitors import alerting, service
from warroom.monitors.checks import Check, CheckContext, Outcome, build, execute
from warroom.monitors.checks.heartbeat import HeartbeatCheck
from warroom.monitors.models import Monitor
from warroom.monitors.runner import access_of
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig
from warroom.monitors.state import MonitorState, Policy, observe

log = structlog.get_logger("warroom.monitors")

T = TypeVar("T")

PRUNE_KIND = "monitors.prune"
PRUNE_EVERY = timedelta(minutes=10)
STATE_REFRESH = timedelta(seconds=60)  # a healthy monitor's row (last check) is rewritten at most this often
LAG_SAMPLE = 0.05
ROLLUPS_PER_BATCH = 1000
ALERT_RETRY = 30.0
WRITER = "monitor results writer"  # the part named by /ready when its batches keep failing


class SchedulerMetrics:
    """What the scheduler exports in /metrics (one set per registry)."""

    def __init__(self, registry: Any) -> None:
        self.checks = Counter(
            "warroom_monitor_checks_total", "Checks run, by type and status.", ["type", "status"], registry=registry
        )
        self.start_delay = Histogram(
            "warroom_monitor_start_delay_seconds",
            "How long after its due time a check started.",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.shed = Counter(
            "warroom_monitor_checks_shed_total",
            "Checks skipped because the scheduler was too late or the previous run had not finished.",
            ["reason"],
            registry=registry,
        )
        self.delayed = Counter(
            "warroom_monitor_checks_delayed_total",
            "Checks that waited for a free slot (concurrency limit).",
            registry=registry,
        )
        self.inconclusive = Counter(
            "warroom_monitor_checks_inconclusive_total",
            "Failed checks not counted against the target (the loop was late, or this machine ran out of something).",
            ["reason"],
            registry=registry,
        )
        self.in_flight = Gauge("warroom_monitor_checks_in_flight", "Checks running now.", registry=registry)
        self.assigned = Gauge("warroom_monitor_assigned", "Monitors this engine runs.", registry=registry)
        self.engines = Gauge("warroom_monitor_engines", "Live engines sharing the monitors.", registry=registry)
        self.loop_lag = Gauge(
            "warroom_monitor_loop_lag_seconds", "Event loop lag (worst of the last second).", registry=registry
        )
        self.overloaded = Gauge(
            "warroom_monitor_overloaded",
            "1 while checks are being delayed or shed for lack of capacity.",
            registry=registry,
        )
        self.write_seconds = Histogram(
            "warroom_monitor_write_seconds",
            "Time to write one batch of results.",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.write_errors = Counter(
            "warroom_monitor_write_errors_total", "Batches that could not be written (retried).", registry=registry
        )
        self.pending_results = Gauge(
            "warroom_monitor_results_pending", "Results waiting to be written.", registry=registry
        )


def metrics_for(runtime: Any) -> SchedulerMetrics:
    """The scheduler metrics of this runtime's registry (created once)."""
    metrics = runtime.extras.get("monitor_metrics")
    if metrics is None:
        metrics = SchedulerMetrics(runtime.registry)
        runtime.extras["monitor_metrics"] = metrics
    return metrics  # type: ignore[no-any-return]


class _Throttled:
    """Log an event at most once per `every` seconds, with how many were suppressed."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, event: str, **fields: Any) -> None:
        now = time.monotonic()
        last, suppressed = self._last.get(event, (0.0, 0))
        if now - last >= self.every:
            log.warning(event, suppressed=suppressed, **fields) if suppressed else log.warning(event, **fields)
            self._last[event] = (now, 0)
        else:
            self._last[event] = (last, suppressed + 1)


@dataclass(eq=False)
class Slot:
    """One monitor this engine runs."""

    id: int
    cfg: MonitorConfig
    check: Check
    policy: Policy
    info: alerting.MonitorInfo
    state: MonitorState
    version: int
    interval: float
    timeout: float
    status_counters: dict[str, Any] = field(default_factory=dict)
    handle: asyncio.TimerHandle | None = None
    running: bool = False
    last: service.ResultRow | None = None
    last_status: str | None = None
    last_written: datetime | None = None
    alert_message: str = ""
    alert_next_try: float = 0.0


def jitter(name: str, interval: float) -> float:
    """A stable offset in [0, interval) from the monitor's name: spreads starts evenly, the same on every engine."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


class MonitorScheduler:
    """Runs this engine's share of the monitors. start()/stop() from any thread."""

    def __init__(
        self,
        runtime: Any,
        *,
        engine_id: str | None = None,
        refresh: float = 2.0,
        engine_ttl: float | None = None,
        batch_interval: float = 0.5,
        batch_size: int = 5000,
        options: MonitoringConfig | None = None,
        sync_config: bool = True,
    ) -> None:
        self.runtime = runtime
        self.options: MonitoringConfig = options or getattr(runtime.config, "monitoring", None) or MonitoringConfig()
        self.engine_id = engine_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.refresh_interval = refresh
        self.engine_ttl = engine_ttl if engine_ttl is not None else max(3 * refresh, 6.0)
        self.batch_interval = batch_interval
        self.batch_size = batch_size
        self.sync_config = sync_config
        self.metrics = metrics_for(runtime)
        self.engines: list[str] = []
        self.slots: dict[int, Slot] = {}
        self.ready = threading.Event()  # set after the first refresh (tests, bench)
        self.stopped = threading.Event()
        # Bench only: every start delay in seconds.
        self.delay_samples: list[float] | None = None
        self._owned: dict[int, bool] = {}
        self._fingerprint: tuple[int, int, int] | None = None
        self._prune_ready = False
        self._briefs: list[service.Brief] = []
        self._owned_for: tuple[str, ...] = ()
        self._waiting: deque[tuple[Slot, float]] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[service.ResultRow] = []
        self._dirty: dict[int, Slot] = {}
        self._rollups: dict[tuple[int, datetime], service.Rollup] = {}
        self._alerts: dict[int, Slot] = {}
        self._lag: deque[tuple[float, float]] = deque(maxlen=int(120 / LAG_SAMPLE))
        self._throttled = _Throttled()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warroom-monitors-db")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._flush_soon: asyncio.Event | None = None
        self._synced = False
        self._deregister = True
        self.ctx: CheckContext | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a thread of its own until stop()."""
        _raise_file_limit()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name="warroom-monitors", daemon=True)
        self._thread.start()
        started.wait(10)
        log.info("monitor scheduler started", engine=self.engine_id)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop checking, write what is pending, leave the engine table (the others take the monitors)."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._db.shutdown(wait=True)
        log.info("monitor scheduler stopped", engine=self.engine_id)

    def kill(self) -> None:
        """Stop as if the process died: no goodbye in the engine table (tests of takeover)."""
        self._deregister = False
        self.stop()

    def _run(self, started: threading.Event) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._main(started))
        except Exception:
            log.exception("monitor scheduler crashed")
        finally:
            loop.close()
            self.stopped.set()

    async def _main(self, started: threading.Event) -> None:
        self._stopping = asyncio.Event()
        self._flush_soon = asyncio.Event()
        self.ctx = CheckContext(
            self.runtime.clock.now, user_agent=f"warroom-monitor/{__version__}", access=access_of(self.runtime)
        )
        started.set()
        background = [
            asyncio.create_task(self._refresher(), name="monitors-refresh"),
            asyncio.create_task(self._writer(), name="monitors-writer"),
            asyncio.create_task(self._lag_monitor(), name="monitors-lag"),
        ]
        await self._stopping.wait()
        for slot in list(self.slots.values()):
            self._drop(slot.id)
        for task in [*background, *self._tasks]:
            task.cancel()
        await asyncio.gather(*background, *self._tasks, return_exceptions=True)
        await self._flush(final=True)
        await self.ctx.close()
        if self._deregister:
            with contextlib.suppress(Exception):
                await self._db_call(self._leave)

    async def _db_call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, fn, *args)

    # -- which monitors are ours -------------------------------------------------------------------------------

    def _startup(self) -> None:
        """Sync warroom.yaml's monitors into the database (idempotent: every engine does it at start)."""
        now = self.runtime.clock.now()
        configs = list(getattr(self.runtime.config, "monitors", None) or [])
        severities = self.runtime.severities.names()
        for attempt in range(3):
            try:
                with self.runtime.db.transaction() as session:
                    if self.sync_config:
                        report = service.sync_config(session, configs, now=now, severities=severities)
                        if report.created or report.updated or report.deleted:
                            log.info("monitors synced from config", **vars(report))
                return
            except Exception as exc:  # two engines syncing at once on PostgreSQL: the loser retries
                if attempt == 2:
                    raise
                log.info("monitor config sync retried", error=str(exc)[:200])

    def _poll(
        self, now: datetime, assigned: int, known: tuple[int, int, int] | None
    ) -> tuple[list[str], tuple[int, int, int], list[service.Brief] | None, dict[int, datetime | None]]:
        with self.runtime.db.transaction() as session:
            service.engine_heartbeat(session, self.engine_id, now=now, monitors=assigned)
            engines = service.live_engines(session, now=now, ttl=timedelta(seconds=self.engine_ttl))
            fingerprint = service.fingerprint(session)
            prune = not self._prune_ready and fingerprint[0] > 0  # no monitors, no history to prune
            if prune:
                schedule_prune(session, now)
            # The full list only when something changed: reading 10,000 rows every refresh costs the loop.
            briefs = service.briefs(session) if fingerprint != known else None
            pings = service.pings(session)
        self._prune_ready = self._prune_ready or prune
        return engines, fingerprint, briefs, pings

    def _leave(self) -> None:
        with self.runtime.db.transaction() as session:
            service.remove_engine(session, self.engine_id)

    def _load(self, ids: list[int]) -> list[Monitor]:
        with self.runtime.db.session() as session:
            return service.load(session, ids)

    def owns(self, monitor_id: int) -> bool:
        """True when this engine runs `monitor_id` among the live engines."""
        engines = tuple(self.engines)
        if engines != self._owned_for:
            self._owned, self._owned_for = {}, engines
        mine = self._owned.get(monitor_id)
        if mine is None:
            mine = service.owner(monitor_id, engines) == self.engine_id
            self._owned[monitor_id] = mine
        return mine

    async def _refresher(self) -> None:
        while True:
            try:
                if not self._synced:
                    await self._db_call(self._startup)
                    self._synced = True
                await self.refresh()
                self.ready.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._throttled.warning("monitor refresh failed; retrying", error=f"{exc.__class__.__name__}: {exc}")
            await asyncio.sleep(self.refresh_interval)

    async def refresh(self) -> None:
        """Heartbeat, find the live engines, and start or stop monitors to match our share."""
        now = self.runtime.clock.now()
        engines, fingerprint, briefs, pings = await self._db_call(self._poll, now, len(self.slots), self._fingerprint)
        if self.engine_id not in engines:
            engines = sorted([*engines, self.engine_id])
        changed = engines != self.engines or briefs is not None
        if engines != self.engines:
            if self.engines:
                log.info("monitor engines changed", engines=engines, engine=self.engine_id)
            self.engines = engines
        self.metrics.engines.set(len(engines))
        if briefs is not None:
            self._briefs = briefs
        if changed:
            mine = {b.id: b for b in self._briefs if self.owns(b.id)}
            for monitor_id in list(self.slots):
                brief = mine.get(monitor_id)
                if brief is None or brief.paused:
                    self._drop(monitor_id)
            wanted = [
                b.id
                for b in mine.values()
                if not b.paused and (b.id not in self.slots or self.slots[b.id].version != b.version)
            ]
            if wanted:
                for row in await self._db_call(self._load, wanted):
                    self._install(row)
                # Thousands of long-lived definitions and checks: keep them out of the cyclic GC's full
                # passes, which otherwise stall the loop for tens of milliseconds (seen as start delay).
                gc.collect()
                gc.freeze()
            self._fingerprint = fingerprint
        for monitor_id, last_ping in pings.items():
            slot = self.slots.get(monitor_id)
            if slot is not None and isinstance(slot.check, HeartbeatCheck):
                slot.check.last_ping_at = last_ping
        self.metrics.assigned.set(len(self.slots))

    def _install(self, row: Monitor) -> None:
        try:
            cfg = service.config_of(row)
        except Exception as exc:
            self._throttled.warning("monitor definition unreadable; skipped", monitor=row.name, error=str(exc)[:300])
            return
        existing = self.slots.get(row.id)
        if existing is not None:
            existing.check.update(cfg)
            existing.cfg, existing.version = cfg, row.version
            existing.policy, existing.info = service.policy_of(cfg), service.info_of(cfg)
            existing.timeout = cfg.effective_timeout
            if cfg.interval != existing.interval:
                existing.interval = cfg.interval
                self._arm(existing, self._first_due(cfg))
            return
        check = build(cfg)
        if isinstance(check, HeartbeatCheck):
            check.since, check.last_ping_at = row.created_at, row.last_ping_at
        slot = Slot(
            id=row.id,
            cfg=cfg,
            check=check,
            policy=service.policy_of(cfg),
            info=service.info_of(cfg),
            state=service.state_of(row),
            version=row.version,
            interval=cfg.interval,
            timeout=cfg.effective_timeout,
            last_status=row.last_status,
            last_written=row.last_checked_at,
        )
        self.slots[row.id] = slot
        self._arm(slot, self._first_due(cfg))

    def _drop(self, monitor_id: int) -> None:
        slot = self.slots.pop(monitor_id, None)
        if slot is None:
            return
        if slot.handle is not None:
            slot.handle.cancel()
            slot.handle = None
        close = getattr(slot.check, "close", None)
        if close is not None:
            close()

    # -- timing ------------------------------------------------------------------------------------------------

    def _loop_time(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _first_due(self, cfg: MonitorConfig) -> float:
        """The next run on the monitor's own phase of the wall clock: jitter(name) past a multiple of the interval.

        Every engine computes the same phase, so a monitor taken over from a dead engine runs when it would
        have run there (only the runs during the takeover are missed), and starts stay spread evenly.
        """
        loop_now = self._loop_time()
        wall_now = time.time()
        phase = jitter(cfg.name, cfg.interval)
        wall_due = math.ceil((wall_now - phase) / cfg.interval) * cfg.interval + phase
        return loop_now + (wall_due - wall_now)

    def _arm(self, slot: Slot, due: float) -> None:
        if slot.handle is not None:
            slot.handle.cancel()
        assert self._loop is not None
        slot.handle = self._loop.call_at(due, self._fire, slot, due)

    def _fire(self, slot: Slot, due: float) -> None:
        """A monitor's timer: arm the next run, then start, queue or shed this one."""
        if self.slots.get(slot.id) is not slot:
            return
        now = self._loop_time()
        next_due = due + slot.interval
        if next_due <= now:  # more than a whole interval late: the missed runs are shed, not run in a burst
            missed = int((now - due) // slot.interval)
            self.metrics.shed.labels("late").inc(missed)
            next_due = due + (missed + 1) * slot.interval
        self._arm(slot, next_due)
        if slot.running:
            self.metrics.shed.labels("still_running").inc()
            return
        if now - due > self.options.max_delay:
            self._shed_late(slot, now - due)
            return
        if self._inflight >= self.options.concurrency:
            self.metrics.delayed.inc()
            self.metrics.overloaded.set(1)
            self._throttled.warning(
                "monitor checks delayed: concurrency limit reached",
                in_flight=self._inflight,
                limit=self.options.concurrency,
                waiting=len(self._waiting) + 1,
            )
            self._waiting.append((slot, due))
            return
        self._start(slot, due)

    def _shed_late(self, slot: Slot, late: float) -> None:
        self.metrics.shed.labels("late").inc()
        self.metrics.overloaded.set(1)
        self._throttled.warning(
            "monitor checks shed: the scheduler is overloaded", monitor=slot.cfg.name, late_seconds=round(late, 3)
        )

    def _start(self, slot: Slot, due: float) -> None:
        self._inflight += 1
        slot.running = True
        self.metrics.in_flight.set(self._inflight)
        task = asyncio.get_running_loop().create_task(self._run_check(slot, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release(self) -> None:
        self._inflight -= 1
        while self._waiting and self._inflight < self.options.concurrency:
            slot, due = self._waiting.popleft()
            if self.slots.get(slot.id) is not slot or slot.running:
                continue
            late = self._loop_time() - due
            if late > self.options.max_delay:
                self._shed_late(slot, late)
                continue
            self._start(slot, due)
        if not self._waiting:
            self.metrics.overloaded.set(0)
        self.metrics.in_flight.set(self._inflight)

    async def _run_check(self, slot: Slot, due: float) -> None:
        started = self._loop_time()
        delay = started - due
        self.metrics.start_delay.observe(delay)
        if self.delay_samples is not None:
            self.delay_samples.append(delay)
        at = self.runtime.clock.now()
        assert self.ctx is not None
        try:
            outcome = await execute(slot.check, self.ctx, slot.timeout)
        finally:
            slot.running = False
            self._release()
        if not outcome.ok:
            reason = self._inconclusive(outcome, started, self._loop_time())
            if reason is not None:
                self.metrics.inconclusive.labels(reason).inc()
                self._throttled.warning(
                    "monitor check inconclusive; not counted against the target",
                    monitor=slot.cfg.name,
                    reason=reason,
                    message=outcome.message,
                )
                return
        self.record(slot, outcome, at)

    def _inconclusive(self, outcome: Outcome, started: float, ended: float) -> str | None:
        if outcome.local:
            return "local_error"
        if outcome.timing:
            lag = max((lag for at, lag in self._lag if started <= at <= ended + LAG_SAMPLE), default=0.0)
            seconds = (outcome.latency_ms or 0.0) / 1000
            # The loop was stalled for a tenth of the time limit: the delay may be ours, not the target's.
            if lag > max(0.05, 0.1 * seconds):
                return "loop_lag"
        return None

    async def _lag_monitor(self) -> None:
        loop = asyncio.get_running_loop()
        worst: deque[float] = deque(maxlen=int(1 / LAG_SAMPLE))
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_SAMPLE)
            after = loop.time()
            lag = max(after - before - LAG_SAMPLE, 0.0)
            self._lag.append((after, lag))
            worst.append(lag)
            self.metrics.loop_lag.set(max(worst))

    # -- results -----------------------------------------------------------------------------------------------

    def record(self, slot: Slot, outcome: Outcome, at: datetime) -> str | None:
        """Count a result into the monitor's state and queue it for writing; returns the transition."""
        before = (slot.state.state, slot.state.failures, slot.state.successes)
        transition = observe(slot.state, outcome.ok, at, slot.policy)
        row = service.ResultRow(slot.id, at, outcome.status, outcome.latency_ms, outcome.message, outcome.details)
        self._results.append(row)
        slot.last = row
        counter = slot.status_counters.get(outcome.status)
        if counter is None:
            counter = slot.status_counters[outcome.status] = self.metrics.checks.labels(slot.cfg.type, outcome.status)
        counter.inc()
        key = (slot.id, service.minute_of(at))
        rollup = self._rollups.get(key)
        if rollup is None:
            rollup = self._rollups[key] = service.Rollup(slot.id, "m", key[1])
        rollup.add(outcome.ok, outcome.latency_ms)
        changed = before != (slot.state.state, slot.state.failures, slot.state.successes)
        stale = slot.last_written is None or at - slot.last_written >= STATE_REFRESH
        if changed or stale or outcome.status != slot.last_status:
            self._dirty[slot.id] = slot
            slot.last_status, slot.last_written = outcome.status, at
        if transition == "down" or (transition == "up" and slot.state.alert_open):
            # The first "up" of every monitor after a start is not news; a recovery is.
            log.info(f"monitor {transition}", monitor=slot.cfg.name, message=outcome.message)
        if slot.state.wants_alert != slot.state.alert_open:
            slot.alert_message = outcome.message
            self._alerts[slot.id] = slot
        if len(self._results) >= self.batch_size and self._flush_soon is not None:
            self._flush_soon.set()
        self.metrics.pending_results.set(len(self._results))
        return transition

    async def _writer(self) -> None:
        assert self._flush_soon is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_soon.wait(), self.batch_interval)
            self._flush_soon.clear()
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("monitor results writer failed")

    def _closed_rollups(self, now: datetime, final: bool) -> list[service.Rollup]:
        current = service.minute_of(now)
        closed = [key for key in self._rollups if final or key[1] < current]
        if not final:
            # Spread a minute's rollups over several batches: one write of 20,000 upserts would stall the loop.
            closed = closed[:ROLLUPS_PER_BATCH]
        minutes = [self._rollups.pop(key) for key in closed]
        days: dict[tuple[int, datetime], service.Rollup] = {}
        for minute in minutes:
            day_key = (minute.monitor_id, service.day_of(minute.bucket))
            day = days.get(day_key)
            if day is None:
                day = days[day_key] = service.Rollup(minute.monitor_id, "d", day_key[1])
            day.checks += minute.checks
            day.up += minute.up
            day.latency_sum_ms += minute.latency_sum_ms
            day.latency_max_ms = max(day.latency_max_ms, minute.latency_max_ms)
        return [*minutes, *days.values()]

    async def _flush(self, final: bool = False) -> None:
        """Write what is pending in one transaction (in the database thread)."""
        now = self.runtime.clock.now()
        results, self._results = self._results, []
        dirty, self._dirty = self._dirty, {}
        states = [service.StateRow(s.id, s.state.copy(), s.last) for s in dirty.values() if s.last is not None]
        rollups = self._closed_rollups(now, final)
        monotonic = self._loop_time()
        alerts = [
            (s.id, s.info, s.state.wants_alert, s.alert_message, s.state.failing_since)
            for s in self._alerts.values()
            if s.alert_next_try <= monotonic or final
        ]
        if not (results or states or rollups or alerts):
            return
        started = time.perf_counter()
        try:
            done = await self._db_call(self._write, results, states, rollups, alerts, now)
        except Exception as exc:
            self.metrics.write_errors.inc()
            health_of(self.runtime).failed(WRITER, exc)
            self._throttled.warning(
                "writing monitor results failed; will retry", error=f"{exc.__class__.__name__}: {exc}"
            )
            # Keep them for the next batch (bounded: a long outage drops the oldest results, never the state).
            self._results = (results + self._results)[-200_000:]
            for slot in dirty.values():
                self._dirty.setdefault(slot.id, slot)
            for rollup in rollups:
                if rollup.resolution == "m":
                    self._merge_rollup(rollup)
            return
        health_of(self.runtime).ok(WRITER)
        self.metrics.write_seconds.observe(time.perf_counter() - started)
        self.metrics.pending_results.set(len(self._results))
        sent = dict(done)
        for monitor_id, *_rest in alerts:
            pending = self._alerts.get(monitor_id)
            if pending is None:
                continue
            if monitor_id in sent:
                pending.state.alert_open = sent[monitor_id]
            else:
                pending.alert_next_try = monotonic + ALERT_RETRY
            if pending.state.alert_open == pending.state.wants_alert:
                self._alerts.pop(monitor_id, None)

    def _merge_rollup(self, rollup: service.Rollup) -> None:
        key = (rollup.monitor_id, rollup.bucket)
        existing = self._rollups.get(key)
        if existing is None:
            self._rollups[key] = rollup
            return
        existing.checks += rollup.checks
        existing.up += rollup.up
        existing.latency_sum_ms += rollup.latency_sum_ms
        existing.latency_max_ms = max(existing.latency_max_ms, rollup.latency_max_ms)

    def _write(
        self,
        results: list[service.ResultRow],
        states: list[service.StateRow],
        rollups: list[service.Rollup],
        alerts: list[tuple[int, alerting.MonitorInfo, bool, str, datetime | None]],
        now: datetime,
    ) -> list[tuple[int, bool]]:
        done: list[tuple[int, bool]] = []
        with self.runtime.db.write_session() as session:
            service.write_batch(session, results, states, rollups)
            existing = (
                set(session.scalars(select(Monitor.id).where(Monitor.id.in_([a[0] for a in alerts]))))
                if alerts
                else set()
            )
            for monitor_id, info, firing, message, failing_since in alerts:
                if monitor_id not in existing:
                    continue
                try:
                    # A savepoint: alert intake refusing one alert must not lose the batch.
                    with session.begin_nested():
                        if firing:
                            alerting.raise_down(session, self.runtime, info, message, now, started=failing_since)
                        else:
                            alerting.resolve_up(session, self.runtime, info, message, now)
                        session.execute(update(Monitor).where(Monitor.id == monitor_id).values(alert_open=firing))
                    done.append((monitor_id, firing))
                except Exception as exc:
                    self._throttled.warning(
                        "monitor alert could not be sent; retrying",
                        monitor=info.name,
                        firing=firing,
                        error=f"{exc.__class__.__name__}: {exc}",
                    )
            session.commit()
        return done


def schedule_prune(session: Any, now: datetime) -> None:
    """Make sure a prune job is pending (keyed by its slot, so that engines starting together schedule one)."""
    if jobs.pending(session, PRUNE_KIND):
        return
    due = _next_slot(now)
    jobs.schedule(session, PRUNE_KIND, key=f"prune:{due.isoformat()}", due=due, now=now)


def _next_slot(now: datetime) -> datetime:
    step = int(PRUNE_EVERY.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp((epoch // step + 1) * step, tz=now.tzinfo)


def _raise_file_limit() -> None:
    """Each check in flight holds a socket: take the hard limit of open files, not the default soft 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
