"""The scheduler's results side: each outcome counted into its monitor's state, and the results, states, rollups and
alert changes written in batches by the database thread."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select, update

from warroom.health import health_of
from warroom.monitors import alerting, batches
from warroom.monitors.batches import ResultRow, Rollup, StateRow, day_of, minute_of
from warroom.monitors.checks import Check, Outcome
from warroom.monitors.models import Monitor
from warroom.monitors.schemas import MonitorConfig
from warroom.monitors.state import MonitorState, Policy, observe
from warroom.monitors.telemetry import SchedulerMetrics, Throttled, log

T = TypeVar("T")

STATE_REFRESH = timedelta(seconds=60)  # a healthy monitor's row (last check) is rewritten at most this often
ROLLUPS_PER_BATCH = 1000
ALERT_RETRY = 30.0
WRITER = "monitor results writer"  # the part named by /ready when its batches keep failing


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
    last: ResultRow | None = None
    last_status: str | None = None
    last_written: datetime | None = None
    alert_message: str = ""
    alert_next_try: float = 0.0


class ResultRecorder:
    """The part of `MonitorScheduler` that records results and writes them; it sets the attributes below."""

    # Declared, never assigned here: MonitorScheduler.__init__ sets them, and the two methods under
    # TYPE_CHECKING are its own. A base class rather than a helper object, so that moving these methods out of
    # the scheduler changed nothing at run time (same object, same attributes, same calls).
    runtime: Any
    metrics: SchedulerMetrics
    batch_interval: float
    batch_size: int
    _results: list[ResultRow]
    _dirty: dict[int, Slot]
    _rollups: dict[tuple[int, datetime], Rollup]
    _alerts: dict[int, Slot]
    _throttled: Throttled
    _flush_soon: asyncio.Event | None

    if TYPE_CHECKING:

        def _loop_time(self) -> float: ...

        async def _db_call(self, fn: Callable[..., T], *args: Any) -> T: ...

    def record(self, slot: Slot, outcome: Outcome, at: datetime) -> str | None:
        """Count a result into the monitor's state and queue it for writing; returns the transition."""
        before = (slot.state.state, slot.state.failures, slot.state.successes)
        transition = observe(slot.state, outcome.ok, at, slot.policy)
        row = ResultRow(slot.id, at, outcome.status, outcome.latency_ms, outcome.message, outcome.details)
        self._results.append(row)
        slot.last = row
        counter = slot.status_counters.get(outcome.status)
        if counter is None:
            counter = slot.status_counters[outcome.status] = self.metrics.checks.labels(slot.cfg.type, outcome.status)
        counter.inc()
        key = (slot.id, minute_of(at))
        rollup = self._rollups.get(key)
        if rollup is None:
            rollup = self._rollups[key] = Rollup(slot.id, "m", key[1])
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

    def _closed_rollups(self, now: datetime, final: bool) -> list[Rollup]:
        current = minute_of(now)
        closed = [key for key in self._rollups if final or key[1] < current]
        if not final:
            # Spread a minute's rollups over several batches: one write of 20,000 upserts would stall the loop.
            closed = closed[:ROLLUPS_PER_BATCH]
        minutes = [self._rollups.pop(key) for key in closed]
        days: dict[tuple[int, datetime], Rollup] = {}
        for minute in minutes:
            day_key = (minute.monitor_id, day_of(minute.bucket))
            day = days.get(day_key)
            if day is None:
                day = days[day_key] = Rollup(minute.monitor_id, "d", day_key[1])
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
        states = [StateRow(s.id, s.state.copy(), s.last) for s in dirty.values() if s.last is not None]
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

    def _merge_rollup(self, rollup: Rollup) -> None:
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
        results: list[ResultRow],
        states: list[StateRow],
        rollups: list[Rollup],
        alerts: list[tuple[int, alerting.MonitorInfo, bool, str, datetime | None]],
        now: datetime,
    ) -> list[tuple[int, bool]]:
        done: list[tuple[int, bool]] = []
        with self.runtime.db.write_session() as session:
            batches.write_batch(session, results, states, rollups)
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
