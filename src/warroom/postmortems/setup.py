"""Wiring post-mortems into a runtime: the resolve/reopen hook and the reminder jobs."""

from __future__ import annotations

from typing import Any

from warroom.postmortems import reminders, schedule


def install(runtime: Any) -> None:
    """Register the timeline hook and the job kinds."""
    reminders.register()
    runtime.add_timeline_hook(schedule.on_timeline, kinds=schedule.TIMELINE_KINDS)
