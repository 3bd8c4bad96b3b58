"""db.ColumnArrays on PostgreSQL: rows written through unnest() arrays keep their order, their values and the
columns' limits, whatever their content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError

from warroom.auth.actor import Actor, Role
from warroom.db import ColumnArrays
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import TimelineEvent
from warroom.runtime import Runtime

pytestmark = pytest.mark.backend("postgresql")

EVENTS = ColumnArrays(
    cast(Table, TimelineEvent.__table__), ("incident_id", "at", "kind", "actor", "actor_kind", "message", "data")
)


def _incident(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        incident = incidents.declare(
            session,
            title="Checkout down",
            severity="P2",
            severities=runtime.severities,
            actor=Actor(name="alice", role=Role.RESPONDER, kind="token"),
            now=runtime.clock.now(),
        )
        return incident.id


def _event(number: int, at: datetime, message: str, data: Any) -> dict[str, Any]:
    return {
        "incident_id": number,
        "at": at,
        "kind": "alert_attached",
        "actor": "prod-am",
        "actor_kind": "integration",
        "message": message,
        "data": data,
    }


def test_rows_come_back_as_written_and_in_order(runtime: Runtime) -> None:
    number = _incident(runtime)
    paris = timezone(timedelta(hours=1))
    texts = ['quote " and backslash \\', "équipe 日本", "", "comma, {braces} NULL", "x" * 5000]
    rows = [
        _event(number, datetime(2026, 11, 23, 20, 0, i, tzinfo=paris), text, {"n": i, "text": text, "none": None})
        for i, text in enumerate(texts)
    ]
    with runtime.db.transaction() as session:
        session.execute(EVENTS.insert(), EVENTS.params(rows))
    with runtime.db.session() as session:
        stored = list(
            session.scalars(
                select(TimelineEvent)
                .where(TimelineEvent.incident_id == number, TimelineEvent.kind == "alert_attached")
                .order_by(TimelineEvent.id)
            )
        )
    assert [event.message for event in stored] == texts  # ids follow the rows' order
    assert [event.data for event in stored] == [row["data"] for row in rows]
    assert [event.at for event in stored] == [row["at"].astimezone(UTC) for row in rows]


def test_a_value_too_long_for_its_column_is_refused_not_cut(runtime: Runtime) -> None:
    number = _incident(runtime)
    row = _event(number, runtime.clock.now(), "m", {})
    row["kind"] = "k" * 51  # kind is VARCHAR(50)
    with pytest.raises(DBAPIError, match="too long"), runtime.db.transaction() as session:
        session.execute(EVENTS.insert(), EVENTS.params([row]))


def test_quiet_timeline_events_keep_the_order_they_were_appended_in(runtime: Runtime) -> None:
    number = _incident(runtime)
    actor = Actor(name="prod-am", role=Role.RESPONDER, kind="integration")
    with runtime.db.transaction() as session:
        quiet = timeline.QuietEvents(session)
        for i in range(300):
            quiet.append(number, kind="alert_attached", actor=actor, at=runtime.clock.now(), message=f"alert {i}")
        quiet.flush()
    with runtime.db.session() as session:
        messages = [event.message for event in timeline.events(session, number) if event.kind == "alert_attached"]
    assert messages == [f"alert {i}" for i in range(300)]
