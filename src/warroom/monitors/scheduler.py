"""The health-check scheduler: an engine background service running every check on one asyncio loop.

One thread runs a uvloop event loop. Each monitor has a timer on the loop (`call_at`), started at a stable
offset within its interval so that monitors do not all fire at once. A fired timer starts the check as a task
unless too many are in flight (then it waits for a free slot) or it is already later than `max_delay` (then it
is shed: skipped and counted, never reported as a failure). A check's timeout and latency are measured from
when it actually started, and a time-limit failure during which the event loop itself was late is recorded as
inconclusive rather than down: an overloaded scheduler must never page anyone about a healthy target.

Results, state changes, rollups and alert changes are written by one database thread in batches, one
transaction per batch (`recorder`). On PostgreSQL several engines share the monitors: each heartbeats into
`monitor_engines`, and a monitor belongs to the live engine that wins rendezvous hashing over its id (`sharing`), so an
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
from datetime import datetime, timedelta
from typing import Any, TypeVar

from warroom import __version__
from warroom.monitors import service, sharing
from warroom.monitors.batches import ResultRow, Rollup
from warroom.monitors.checks import CheckContext, Outcome, build, execute
from warroom.monitors.checks.heartbeat import HeartbeatCheck
from warroom.monitors.handlers import schedule_prune
from warroom.monitors.models import Monitor
from warroom.monitors.recorder import ResultRecorder, Slot
from warroom.monitors.runner import access_of
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig
from warroom.monitors.telemetry import Throttled, log, metrics_for

T = TypeVar("T")

LAG_SAMPLE = 0.05


def jitter(name: str, interval: float) -> float:
    """A stable offset in [0, interval) from the monitor's name: spreads starts evenly, the same on every engine."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


class MonitorScheduler(ResultRecorder):
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
        self._results: list[ResultRow] = []
        self._dirty: dict[int, Slot] = {}
        self._rollups: dict[tuple[int, datetime], Rollup] = {}
        self._alerts: dict[int, Slot] = {}
        self._lag: deque[tuple[float, float]] = deque(maxlen=int(120 / LAG_SAMPLE))
        self._throttled = Throttled()
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
            sharing.engine_heartbeat(session, self.engine_id, now=now, monitors=assigned)
            engines = sharing.live_engines(session, now=now, ttl=timedelta(seconds=self.engine_ttl))
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
            sharing.remove_engine(session, self.engine_id)

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
            mine = sharing.owner(monitor_id, engines) == self.engine_id
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


def _raise_file_limit() -> None:
    """Each check in flight holds a socket: take the hard limit of open files, not the default soft 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
