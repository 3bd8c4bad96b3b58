"""Running one check now, outside the scheduler (`warroom monitor run`, POST /monitors/{name}/run)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from warroom.monitors.checks import Access, CheckContext, Outcome, build, execute
from warroom.monitors.checks.heartbeat import HeartbeatCheck
from warroom.monitors.checks.logfile import LogCheck
from warroom.monitors.models import Monitor
from warroom.monitors.schemas import MonitorConfig, MonitoringConfig


def access_of(runtime: Any) -> Access:
    """What this process's checks may touch: the operator's log and sqlite folders and exec switch."""
    monitoring: MonitoringConfig = getattr(runtime.config, "monitoring", None) or MonitoringConfig()
    return Access(
        log_folders=tuple(Path(folder) for folder in monitoring.log_folders),
        sqlite_folders=tuple(Path(folder) for folder in monitoring.sqlite_folders),
        allow_exec=bool(runtime.settings.allow_exec),
    )


async def run_once(
    cfg: MonitorConfig,
    *,
    now: Callable[[], datetime],
    last_ping_at: datetime | None = None,
    since: datetime | None = None,
    access: Access | None = None,
) -> Outcome:
    """Run the check once with its timeout; a log check reads the last MB of its file (it has no history)."""
    ctx = CheckContext(now, access=access)
    check = LogCheck(cfg, from_start=True) if cfg.type == "log" else build(cfg)
    if isinstance(check, HeartbeatCheck):
        check.last_ping_at, check.since = last_ping_at, since
    try:
        return await execute(check, ctx)
    finally:
        await ctx.close()
        if isinstance(check, LogCheck):
            check.close()


def run_once_sync(
    cfg: MonitorConfig,
    *,
    now: Callable[[], datetime],
    last_ping_at: datetime | None = None,
    since: datetime | None = None,
    access: Access | None = None,
) -> Outcome:
    """`run_once` from synchronous code, on a loop of its own."""
    return asyncio.run(run_once(cfg, now=now, last_ping_at=last_ping_at, since=since, access=access))


def run_stored_sync(runtime: Any, cfg: MonitorConfig, monitor: Monitor) -> Outcome:
    """`run_once_sync` of a stored monitor (`cfg` is its configuration): on the runtime's clock, with its
    heartbeat's last ping and creation, and what this process's checks may touch."""
    return run_once_sync(
        cfg,
        now=runtime.clock.now,
        last_ping_at=monitor.last_ping_at,
        since=monitor.created_at,
        access=access_of(runtime),
    )
