"""Reading alerts: the filtered, cursor-paged list, one alert, and the counts listings and benchmarks need."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import (
    Select,
    func,
    select,
)
from sqlalchemy.orm import Session

from warroom.alerts.models import Alert, Integration
from warroom.errors import InvalidInput, NotFound

MAX_LIMIT = 500


@dataclass(frozen=True)
class AlertFilters:
    """What `GET /alerts` filters on."""

    status: str | None = None
    integration_id: int | None = None
    service: str | None = None
    incident: int | None = None


def encode_cursor(alert_id: int) -> str:
    """An opaque cursor after alert `alert_id`."""
    return base64.urlsafe_b64encode(f"a:{alert_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The alert id a cursor points after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "a":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor: pass the next_cursor of a previous page.", field="cursor") from None


def _filtered(filters: AlertFilters) -> Select[Alert]:
    query = select(Alert)
    if filters.status:
        if filters.status == "suppressed":
            query = query.where(Alert.status == "firing", Alert.suppressed_by.is_not(None))
        else:
            query = query.where(Alert.status == filters.status)
    if filters.integration_id is not None:
        query = query.where(Alert.integration_id == filters.integration_id)
    if filters.service:
        query = query.where(Alert.service == filters.service)
    if filters.incident is not None:
        query = query.where(Alert.incident_id == filters.incident)
    return query


def list_alerts(
    session: Session, filters: AlertFilters, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Alert], str | None]:
    """A page of alerts, newest first, and the next cursor (None at the end)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if filters.status and filters.status not in ("firing", "resolved", "suppressed"):
        raise InvalidInput(
            f"Unknown alert status {filters.status!r}: expected firing, resolved or suppressed.", field="status"
        )
    query = _filtered(filters)
    if cursor:
        query = query.where(Alert.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def get_alert(session: Session, alert_id: int) -> Alert:
    """The alert with this id, or NotFound."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert {alert_id}.", field="id")
    return alert


def integration_names(session: Session) -> dict[int, str]:
    """Integration id → name (for listings)."""
    return {row[0]: row[1] for row in session.execute(select(Integration.id, Integration.name))}


def count_alerts(session: Session) -> int:
    """How many alerts are stored (benchmarks, tests)."""
    return int(session.scalar(select(func.count(Alert.id))) or 0)


def firing_alerts_of(session: Session, incident_id: int) -> list[Alert]:
    """The incident's alerts that still fire."""
    return list(
        session.scalars(
            select(Alert).where(
                Alert.incident_id == incident_id, Alert.status == "firing", Alert.suppressed_by.is_(None)
            )
        )
    )
