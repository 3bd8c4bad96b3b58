"""Maintenance events, for domains that react to announced maintenance (subscribers).

Maintenance has no internal incident, so it has no timeline: its events go to hooks registered here
(`add_maintenance_hook(runtime, hook, kinds)` in a domain's `install(runtime)`), run in the transaction
that changed the maintenance, exactly like timeline hooks: a hook may add rows (jobs) and must not commit.

Kinds: `maintenance_scheduled` (announced), `maintenance_started` (the window began: engine job at its
start), `maintenance_completed` (the window ended: engine job at its end), `maintenance_cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

MAINTENANCE_KINDS = ("maintenance_scheduled", "maintenance_started", "maintenance_completed", "maintenance_cancelled")
_KEY = "statuspage_maintenance_hooks"


@dataclass(frozen=True)
class MaintenanceEvent:
    """What happened to announced maintenance: `maintenance_id` and `update_id` are public ids."""

    kind: str
    maintenance_id: str
    update_id: str | None
    status: str
    at: datetime


MaintenanceHook = Callable[[Session, MaintenanceEvent], None]


def add_maintenance_hook(runtime: Any, hook: MaintenanceHook, kinds: Iterable[str] = MAINTENANCE_KINDS) -> None:
    """Run `hook` in the transaction of every maintenance event of `kinds`."""
    registered: list[tuple[MaintenanceHook, frozenset[str]]] = runtime.db.session_info.setdefault(_KEY, [])
    wanted = frozenset(kinds)
    unknown = wanted - set(MAINTENANCE_KINDS)
    if unknown:
        raise ValueError(f"unknown maintenance event kinds: {', '.join(sorted(unknown))}")
    registered[:] = [(h, k) for h, k in registered if h is not hook]
    registered.append((hook, wanted))


def emit(session: Session, event: MaintenanceEvent) -> None:
    """Run the hooks registered for the event's kind."""
    for hook, kinds in session.info.get(_KEY, []):
        if event.kind in kinds:
            hook(session, event)
