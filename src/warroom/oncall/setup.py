"""Wiring the on-call domain into a runtime: the paging hook, its jobs, and warroom.yaml into the database."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from warroom.notify import escalations
from warroom.oncall import handlers, reactions, service

log = structlog.get_logger("warroom.oncall")


def install(runtime: Any) -> None:
    """Register the timeline hook, job kinds and what delivery reports to; sync the on-call sections of warroom.yaml."""
    handlers.register()
    runtime.add_timeline_hook(reactions.on_timeline, kinds=reactions.TIMELINE_KINDS)
    escalations.register(runtime, reactions.ForDelivery())
    if has_oncall_config(runtime.config):
        sync(runtime)


def has_oncall_config(config: Any) -> bool:
    """True when warroom.yaml declares users, teams, schedules or policies."""
    return any(getattr(config, name, None) for name in ("users", "teams", "schedules", "policies"))


def sync(runtime: Any) -> dict[str, int] | None:
    """Write the config file's users, teams, schedules and policies to the database (idempotent).

    Two processes starting together may race on the same rows; the loser retries once. A database that
    is not migrated yet is left alone (the next start syncs).
    """
    base_dir = runtime.settings.config.parent if runtime.settings.config is not None else None
    for attempt in range(3):
        try:
            with runtime.db.transaction() as session:
                return service.sync_config(session, runtime.config, now=runtime.clock.now(), base_dir=base_dir)
        except IntegrityError:
            if attempt == 2:
                raise
        except (OperationalError, ProgrammingError) as exc:
            log.warning("on-call config not synced: database not ready", error=str(exc.orig)[:200])
            return None
    return None
