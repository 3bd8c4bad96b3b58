"""SQL pieces the report sections share: epoch seconds of a timestamp on both backends, the period's incidents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, and_, cast, func, not_, select
from sqlalchemy.orm import Session

from warroom.incidents.models import Incident
from warroom.reports.drills import is_drill_filter
from warroom.reports.period import ReportQuery

# SQLite keeps timestamps as naive UTC text; julianday() counts days from this one to the Unix epoch.
UNIX_EPOCH_JULIAN_DAY = 2440587.5


def is_sqlite(session: Session) -> bool:
    """True when the session talks to SQLite."""
    return session.get_bind().dialect.name == "sqlite"


def _date_part_epoch(value: Any) -> ColumnElement[float]:
    # PostgreSQL: date_part() answers a float8 where EXTRACT answers a numeric (since PostgreSQL 14), and
    # computes it more than twice as fast: the difference is one float rounding (~1e-11 s).
    return cast(func.date_part("epoch", value), Float)


def epoch(column: Any, *, sqlite: bool) -> ColumnElement[float]:
    """Seconds since the Unix epoch of a timestamp column, as a float, computed by the database."""
    if sqlite:
        return cast((func.julianday(column) - UNIX_EPOCH_JULIAN_DAY) * 86400.0, Float)
    return _date_part_epoch(column)


def seconds_between(start: Any, end: Any, *, sqlite: bool) -> ColumnElement[float]:
    """end - start in seconds (NULL when either is NULL)."""
    if sqlite:
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    return _date_part_epoch(end - start)


def fetch_all(session: Session | Connection, statement: Any) -> list[Any]:
    """Every row of `statement` as the driver's plain tuples, read straight from the DBAPI cursor (on the
    session's connection, or on `session` itself when it is a Connection).

    For the report's big reads (100,000 rows): SQLAlchemy's Row objects cost more than the query. Only for
    columns the driver already returns as wanted (ints, strings, floats from `epoch`/`seconds_between`)."""
    connection = session.connection() if isinstance(session, Session) else session
    result = connection.execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def in_period(query: ReportQuery) -> ColumnElement[bool]:
    """Incidents detected in the period, drills left out unless asked for."""
    detected = and_(Incident.detected_at >= query.since, Incident.detected_at < query.until)
    return detected if query.include_drills else and_(detected, not_(is_drill_filter()))


def period_incidents(session: Session, query: ReportQuery) -> set[int]:
    """The ids of the period's incidents (drills left out unless asked for)."""
    return {row[0] for row in fetch_all(session, select(Incident.id).where(in_period(query)))}
