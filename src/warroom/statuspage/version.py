"""The page's version: a one-row counter bumped in the transaction of every change the page shows.

`page_version` is what the public face reads on every request to decide whether its cached page is still
good, so it is one statement: the counter, plus a signature of the monitors' states (a monitor going down
or up changes a component's status without any status page write).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from warroom.monitors.models import Monitor
from warroom.statuspage.models import StatusPageVersion

_ROW = 1

_VERSION = select(
    select(StatusPageVersion.counter).where(StatusPageVersion.id == _ROW).scalar_subquery(),
    select(
        func.count(Monitor.id),
        func.max(Monitor.state_since),
        func.sum(case((Monitor.state == "down", 1), else_=0)),
        func.sum(case((Monitor.last_status == "warn", 1), else_=0)),
        func.sum(case((Monitor.paused.is_(True), 1), else_=0)),
    ).subquery(),
)


def bump(session: Session, now: datetime) -> None:
    """Mark the page changed (in the caller's transaction: the new version is seen when, and only if, it commits)."""
    changed = session.execute(
        update(StatusPageVersion)
        .where(StatusPageVersion.id == _ROW)
        .values(counter=StatusPageVersion.counter + 1, changed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        session.add(StatusPageVersion(id=_ROW, counter=1, changed_at=now))
        session.flush()


def page_version(session: Session) -> str:
    """An opaque token that changes whenever anything the page shows may have changed (one indexed read)."""
    row = session.execute(_VERSION).one()
    counter, monitors, since, down, warn, paused = row
    stamp = since.timestamp() if isinstance(since, datetime) else 0
    return f"{counter or 0}.{monitors or 0}.{int(stamp * 1000)}.{down or 0}.{warn or 0}.{paused or 0}"
