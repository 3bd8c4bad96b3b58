"""Wiring drills into a runtime: the hook that flags a drill's incident (before paging), the jobs, the schedule."""

from __future__ import annotations

from typing import Any

from warroom.drills import handlers, schedule, service
from warroom.engine import jobs


def install(runtime: Any) -> None:
    """Register the timeline hook (ahead of every other: paging must see the drill flag), the job kinds, the plan."""
    jobs.register(handlers.DEADLINE_KIND)
    jobs.register(handlers.SCHEDULED_KIND)
    jobs.register(handlers.RESOLVE_ALERTS_KIND)
    runtime.add_timeline_hook(service.on_timeline, kinds=("declared", "resolved", "auto_resolved"), first=True)
    schedule.sync(runtime)
