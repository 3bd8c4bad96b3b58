"""`install(runtime)`: the runbook library, the `runbook-step` job kind and the timeline hooks."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.engine import jobs
from warroom.engine.worker import BACKGROUND_SERVICES
from warroom.errors import WarroomError
from warroom.incidents import timeline
from warroom.incidents.models import Incident, TimelineEvent
from warroom.runbooks import service
from warroom.runbooks.cache import RunbookCache, configured_folders
from warroom.runbooks.context import context_from_events, matching_context
from warroom.runbooks.handlers import STEP_KIND
from warroom.runbooks.matching import rank
from warroom.runbooks.model import Runbook
from warroom.timeparse import parse_duration

log = structlog.get_logger("warroom.runbooks")

EXTRA = "runbooks"
# A front-matter `match`/`services` hit scores 100 or more; text similarity alone never picks an auto run.
AUTO_MIN_SCORE = 100.0


def install(runtime: Any) -> None:
    """Load the runbook folders, register the step job and the hooks on `declared` and `resolved`."""
    # Parsed on first use, or at once by the engine's background service (below) when a server starts:
    # commands like `warroom token create` build a runtime too and should not parse every runbook.
    runtime.extras[EXTRA] = RunbookCache(configured_folders(runtime.config.runbooks.folders, runtime.settings.config))
    jobs.register(STEP_KIND)
    runtime.add_timeline_hook(_on_timeline, kinds=("declared", "resolved"))
    if LibraryLoader not in BACKGROUND_SERVICES:
        BACKGROUND_SERVICES.append(LibraryLoader)


class LibraryLoader:
    """Loads the runbook library in the background when an engine starts, so the first request (or the
    first automatic run, which happens inside the declaration's transaction) finds it parsed."""

    def __init__(self, runtime: Any) -> None:
        self.cache = cache_of(runtime)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Parse the folders in a thread; requests meanwhile wait for it on the cache's lock."""
        self.thread = threading.Thread(target=self._load, name="warroom-runbooks", daemon=True)
        self.thread.start()

    def _load(self) -> None:
        started = time.perf_counter()
        library = self.cache.refresh()
        log.info(
            "runbooks loaded",
            runbooks=len(library.runbooks),
            folders=[str(f) for f in self.cache.folders],
            seconds=round(time.perf_counter() - started, 2),
        )

    def stop(self) -> None:
        """Wait for the load to end."""
        if self.thread is not None:
            self.thread.join(timeout=30)


def cache_of(runtime: Any) -> RunbookCache:
    """The runtime's runbook library."""
    cache: RunbookCache = runtime.extras[EXTRA]
    return cache


def default_timeout(runtime: Any) -> float:
    """Seconds a step may run when its fence does not say (runbooks.default_timeout)."""
    return parse_duration(runtime.config.runbooks.default_timeout).total_seconds()


def _on_timeline(session: Session, incident: Incident, event: TimelineEvent) -> None:
    runtime = session.info.get("runtime")
    if runtime is None or EXTRA not in runtime.extras:
        return
    if event.kind == "declared" and (event.data or {}).get("auto_runbook") is True:
        auto_run(session, runtime, incident, event)
    elif event.kind == "resolved":
        actor = Actor(name=event.actor, role=Role.RESPONDER, kind=event.actor_kind)
        service.finish_open_runs(session, incident, actor=actor, now=event.at)


def pick_auto_runbook(runtime: Any, incident: Incident, event: TimelineEvent) -> tuple[Runbook | None, str]:
    """The runbook an automatic run uses: the route's hint, else the best front-matter match; and why."""
    cache = cache_of(runtime)
    context = context_from_events([event], incident.labels or {})
    library = cache.refresh()
    if context.hint:
        same = [r for r in library.runbooks if r.id == context.hint]
        if len(same) == 1:
            return same[0], f"the route names runbook {context.hint!r}"
        if len(same) > 1:
            return None, f"runbook id {context.hint!r} is used by {len(same)} files"
    matches = rank(library.runbooks, matching_context(incident, context), limit=1)
    if matches and matches[0].score >= AUTO_MIN_SCORE:
        return matches[0].runbook, matches[0].reason
    if context.hint:
        return None, f"no runbook {context.hint!r} in the runbook folders, and none matches the alert"
    return None, "no runbook matches the alert's labels or services"


def _skipped(session: Session, incident: Incident, now: datetime, message: str, data: dict[str, Any]) -> None:
    """Say on the incident's timeline why no automatic runbook run happened (`runbook_auto_skipped`)."""
    timeline.append(session, incident, kind="runbook_auto_skipped", actor=SYSTEM, at=now, message=message, data=data)


def auto_run(session: Session, runtime: Any, incident: Incident, event: TimelineEvent) -> None:
    """Start the incident's runbook without a person and queue its unattended steps, diagnostics first.
    Never lets a runbook problem fail the declaration itself."""
    now = event.at
    runbook, why = pick_auto_runbook(runtime, incident, event)
    if runbook is None:
        _skipped(session, incident, now, f"no automatic runbook run: {why}", {"reason": why})
        return
    errors = service.lint_errors(runbook, today=now.date())
    if errors:
        why = service.cannot_start(runbook, errors)
        _skipped(session, incident, now, f"no automatic runbook run: {why}", {"reason": why, "runbook": runbook.id})
        return
    context = context_from_events([event], incident.labels or {})
    try:
        # A savepoint: whatever goes wrong here is undone, and the incident is still declared.
        with session.begin_nested():
            run = service.start_run(
                session,
                incident,
                runbook,
                actor=SYSTEM,
                now=now,
                default_timeout=default_timeout(runtime),
                digest=cache_of(runtime).digest(runbook),
                auto=True,
                context=context,
            )
            queued = service.queue_unattended(session, run, now=now)
    except Exception as exc:  # an alert must never be refused because of a runbook
        detail = exc.detail if isinstance(exc, WarroomError) else f"{type(exc).__name__}: {exc}"
        log.warning("automatic runbook run failed", incident=incident.id, runbook=runbook.id, error=detail)
        message = f"automatic run of {runbook.id} failed: {detail}"
        _skipped(session, incident, now, message, {"reason": detail, "runbook": runbook.id})
        return
    log.info("automatic runbook run", incident=incident.id, runbook=runbook.id, steps=len(queued), why=why)
