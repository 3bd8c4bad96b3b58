"""The seam where delivery reports back to whoever decides whom to page: functions that domain registers at install.

Notify delivers what it is handed and knows no policy, so it imports nothing of the on-call domain. Where a
delivery's outcome matters to an escalation (a page is stale, every page of a level failed, a one-click link
acknowledged), notify calls the `Escalations` registered on the runtime; without one it behaves as if nothing
pages (nothing is stale, nothing falls through, no link has paging to stop).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.incidents.models import Incident

_KEY = "notify.escalations"


class Escalations(Protocol):
    """What delivery may ask of, or tell, the domain that pages people."""

    def page_obsolete(self, session: Session, incident_id: int, generation: int) -> str | None:
        """Why a queued page of this paging generation should no longer be sent, or None while it is wanted."""

    def page_failed(
        self, session: Session, incident: Incident, *, generation: int, cycle: int, level: int, now: datetime
    ) -> None:
        """A page of (generation, cycle, level) could not be delivered, for good."""

    def is_paging(self, session: Session, incident_id: int) -> bool:
        """Whether paging for the incident is under way (a link can still stop it)."""

    def acknowledge_paging(self, session: Session, incident: Incident, actor: Actor, now: datetime) -> None:
        """Stop paging for the incident: `actor` acknowledged through a link after the incident left `triggered`."""


class _NoPaging:
    """What delivery assumes when no domain pages: every page is wanted and nothing reacts to its fate."""

    def page_obsolete(self, session: Session, incident_id: int, generation: int) -> str | None:
        return None

    def page_failed(
        self, session: Session, incident: Incident, *, generation: int, cycle: int, level: int, now: datetime
    ) -> None:
        return None

    def is_paging(self, session: Session, incident_id: int) -> bool:
        return False

    def acknowledge_paging(self, session: Session, incident: Incident, actor: Actor, now: datetime) -> None:
        return None


_NONE = _NoPaging()


def register(runtime: Any, escalations: Escalations) -> None:
    """Make `escalations` the one delivery reports to in this runtime (called by the paging domain's install)."""
    runtime.extras[_KEY] = escalations


def of(session: Session) -> Escalations:
    """The escalations registered on the session's runtime."""
    runtime = session.info.get("runtime")
    found: Escalations | None = runtime.extras.get(_KEY) if runtime is not None else None
    return found if found is not None else _NONE
