"""Maintenance windows per service: alerts for the service during a window behave as silenced."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.alerts.models import MaintenanceWindow
from warroom.engine import jobs
from warroom.errors import InvalidInput, NotFound

WEEK = timedelta(weeks=1)
REEVALUATE = "alerts.reevaluate"


def current_or_next(window: MaintenanceWindow, now: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence in force at `now`, else the next one; None when the window is over or cancelled."""
    if window.cancelled_at is not None:
        return None
    start, end = window.starts_at, window.ends_at
    if not window.weekly:
        return (start, end) if end > now else None
    if now >= end:
        weeks = (now - start) // WEEK
        start, end = start + weeks * WEEK, end + weeks * WEEK
        if end <= now:
            start, end = start + WEEK, end + WEEK
    return start, end


def is_active(window: MaintenanceWindow, now: datetime) -> bool:
    """True when the window (or this week's occurrence of it) covers `now`."""
    occurrence = current_or_next(window, now)
    return occurrence is not None and occurrence[0] <= now < occurrence[1]


def create(
    session: Session,
    *,
    service: str,
    starts_at: datetime,
    created_by: str,
    now: datetime,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    weekly: bool = False,
    comment: str = "",
) -> MaintenanceWindow:
    """Schedule a window; an engine job at each end re-evaluates the alerts it held back."""
    service = service.strip()
    if not service:
        raise InvalidInput("A maintenance window needs a service.", field="service")
    if ends_at is None:
        if duration is None:
            raise InvalidInput("Give the window an end time or a duration (e.g. 2h).", field="ends_at")
        ends_at = starts_at + duration
    if ends_at <= starts_at:
        raise InvalidInput("The window must end after it starts.", field="ends_at")
    if weekly and ends_at - starts_at >= WEEK:
        raise InvalidInput("A weekly window must be shorter than a week.", field="ends_at")
    if not weekly and ends_at <= now:
        raise InvalidInput("The window would already be over.", field="ends_at")
    window = MaintenanceWindow(
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        weekly=weekly,
        comment=comment.strip(),
        created_by=created_by,
        created_at=now,
    )
    session.add(window)
    session.flush()
    schedule_end(session, window, now)
    return window


def schedule_end(session: Session, window: MaintenanceWindow, now: datetime) -> None:
    """The re-evaluation job at the end of the current (or next) occurrence."""
    occurrence = current_or_next(window, now)
    if occurrence is None:
        return
    jobs.schedule(
        session,
        REEVALUATE,
        key=f"maintenance:{window.id}",
        due=occurrence[1],
        payload={"why": "maintenance", "window": window.id},
        now=now,
    )


def get(session: Session, window_id: int) -> MaintenanceWindow:
    """The window with this id, or NotFound."""
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound(f"No maintenance window {window_id}: see `warroom maintenance list`.", field="id")
    return window


def cancel(session: Session, window: MaintenanceWindow, *, now: datetime) -> MaintenanceWindow:
    """Cancel the window (and every later occurrence); held-back alerts are re-evaluated at once."""
    if window.cancelled_at is None:
        window.cancelled_at = now
        jobs.schedule(
            session, REEVALUATE, key=f"maintenance:{window.id}", due=now, payload={"why": "maintenance"}, now=now
        )
    return window


def list_windows(
    session: Session, *, now: datetime, service: str | None = None, include_past: bool = False
) -> list[MaintenanceWindow]:
    """Windows (of one service), current and upcoming first; past and cancelled ones only when asked."""
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    if service:
        query = query.where(MaintenanceWindow.service == service)
    rows = list(session.scalars(query))
    if include_past:
        return rows
    return [w for w in rows if current_or_next(w, now) is not None]


def active_by_service(session: Session, now: datetime) -> dict[str, int]:
    """Service → id of a window in force now."""
    rows = session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.starts_at <= now)
    )
    out: dict[str, int] = {}
    for window in rows:
        if is_active(window, now):
            out.setdefault(window.service, window.id)
    return out
