"""Which incidents are drills: the one place the reports' drill filter is written."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from warroom.incidents.models import Incident


def is_drill_filter() -> ColumnElement[bool]:
    """A SQL condition true for drill incidents. Reports leave them out unless asked (`--include-drills`)."""
    return Incident.drill.is_(True)
