"""Which incidents are drills: the one place the reports' drill filter is written."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false


def is_drill_filter() -> ColumnElement[bool]:
    """A SQL condition true for drill incidents. Reports leave them out unless asked (`--include-drills`).

    Until the incidents domain has `Incident.drill`, no incident is a drill. When it does, this becomes
    `return Incident.drill.is_(True)` (import Incident from warroom.incidents.models) and nothing else changes."""
    return false()
