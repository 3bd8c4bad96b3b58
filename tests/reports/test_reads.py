"""A report's reads agree with each other: on PostgreSQL those started ahead, on connections of their own, see
the report's snapshot, not rows committed after it began."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from warroom.incidents.models import Incident
from warroom.reports.reads import report_reads

COUNT = select(func.count()).select_from(Incident)


@pytest.mark.backend("postgresql")
def test_reads_started_ahead_see_the_reports_snapshot(runtime, make_incident):
    make_incident(title="Before the report")
    with runtime.db.session() as session, report_reads(session) as reads:
        make_incident(title="Committed while the report runs")
        reads.ahead("incidents", COUNT)
        reads.ahead("again", COUNT)
        assert reads.rows("incidents", COUNT) == [(1,)]
        assert reads.session.scalar(COUNT) == 1
        assert reads.rows("again", COUNT) == [(1,)]
    with runtime.db.session() as session:
        assert session.scalar(COUNT) == 2


def test_a_read_never_started_ahead_is_read_on_the_reports_session(runtime, make_incident):
    make_incident()
    with runtime.db.session() as session, report_reads(session) as reads:
        assert reads.rows("not started", COUNT) == [(1,)]
        reads.ahead("never asked for", COUNT)  # settled when the report ends: no connection outlives it
