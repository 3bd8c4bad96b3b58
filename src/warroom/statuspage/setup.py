"""Wiring the status page into a runtime: its jobs, the severity hook, warroom.yaml's components."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident, TimelineEvent
from warroom.statuspage import components, handlers, publishing

log = structlog.get_logger("warroom.statuspage")


def install(runtime: Any) -> None:
    """Register the job kinds and the timeline hook; sync the `status_page:` components and groups."""
    handlers.register()

    def on_timeline(session: Session, incident: Incident, event: TimelineEvent) -> None:
        publishing.on_severity_changed(session, runtime.severities, incident, event.at)

    runtime.add_timeline_hook(on_timeline, kinds=("severity_changed",))
    settings = runtime.config.status_page
    if settings.components or settings.groups:
        sync(runtime)


def sync(runtime: Any) -> int | None:
    """Write warroom.yaml's components and groups to the database (idempotent; a database that is not
    migrated yet is left alone: the next start syncs)."""
    for attempt in range(3):
        try:
            with runtime.db.transaction() as session:
                return components.sync_config(session, runtime.config.status_page, runtime.clock.now())
        except IntegrityError:
            if attempt == 2:
                raise
        except (OperationalError, ProgrammingError) as exc:
            log.warning("status page config not synced: database not ready", error=str(exc.orig)[:200])
            return None
    return None
