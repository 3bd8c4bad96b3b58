"""Console page of monitors: state, latency sparkline and 90-day uptime per monitor; pause, resume, run now.

Pause, resume and run now need the responder role (as in the API: they reach nothing new); each is a form
(CSRF checked), audited under the person's name, and comes back to the page with what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from warroom.auth import service as audit
from warroom.deps import ReadSession, RuntimeDep, WriteSession
from warroom.monitors import service as monitors
from warroom.monitors.runner import run_stored_sync
from warroom.web.actions import back
from warroom.web.errors import console_router
from warroom.web.monitors_view import monitor_rows
from warroom.web.session import Person, RespondingPerson
from warroom.web.templating import render

router = console_router()

Name = Annotated[str, Path(max_length=100)]


def _back(text: str, level: str = "ok") -> Response:
    return back("/monitors", text, level)


@router.get("/monitors")
def monitors_page(request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep) -> Response:
    """Every monitor: state, last check, latency over 24 h, uptime per day over 90 days."""
    rows = monitor_rows(session, runtime.clock.now())
    return render(request, "monitors/page.html", {"nav": "monitors", "rows": rows})


def _set_paused(
    name: str, paused: bool, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep
) -> Response:
    monitor = monitors.get_or_404(session, name)
    now = runtime.clock.now()
    monitors.set_paused(session, monitor, paused, now)
    action = "monitor.pause" if paused else "monitor.resume"
    audit.record(session, visit.actor, action, f"monitor:{monitor.name}", now=now, detail={"via": "console"})
    session.commit()
    return _back(f"{monitor.name} {'paused: no checks until resumed' if paused else 'resumed'}.")


@router.post("/monitors/{name}/pause")
def pause(name: Name, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep) -> Response:
    """Stop checking the monitor (its state is kept)."""
    return _set_paused(name, True, visit, session, runtime)


@router.post("/monitors/{name}/resume")
def resume(name: Name, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep) -> Response:
    """Start checking the monitor again."""
    return _set_paused(name, False, visit, session, runtime)


@router.post("/monitors/{name}/run")
def run_now(name: Name, visit: RespondingPerson, session: ReadSession, runtime: RuntimeDep) -> Response:
    """Run the check once now and say how it went (not stored: the engine's schedule is unchanged)."""
    monitor = monitors.get_or_404(session, name)
    cfg = monitors.config_of(monitor)
    hidden = monitors.secret_values(monitor.spec)
    # Hold no transaction while the check runs (it may take its whole timeout): detached first, the monitor
    # keeps what was read; a rollback would expire it and the next attribute read would open a transaction.
    session.expunge(monitor)
    session.rollback()
    outcome = run_stored_sync(runtime, cfg, monitor)
    with runtime.db.transaction() as write:
        audit.record(
            write,
            visit.actor,
            "monitor.run",
            f"monitor:{monitor.name}",
            now=runtime.clock.now(),
            detail={"status": outcome.status, "via": "console"},
        )
    message = monitors.scrub(outcome.message, hidden) or ""
    latency = f" in {outcome.latency_ms:.0f} ms" if outcome.latency_ms is not None else ""
    level = "ok" if outcome.status == "up" else "error"
    return _back(f"{monitor.name}: {outcome.status}{latency}{': ' + message if message else ''}", level)
