"""Where subscribers read public updates and components from: the status domain's public shapes.

The subscriber code needs two things from the rest of the status page and nothing else: the public incident
(or maintenance) and update that an update id names, and the public components (for the subscribe form and
to check a component filter). Both come as the public shapes of `snapshot.py` (built by `public.py`), so no
internal field can reach a subscriber. `set_source` replaces the reader (tests use a stand-in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.statuspage import components, public
from warroom.statuspage.models import StatusIncident, StatusMaintenance, StatusUpdate
from warroom.statuspage.snapshot import PublicIncident, PublicUpdate

EXTRA = "statuspage.subscriber_source"


class PublicSource(Protocol):
    """What subscribers read from the status page."""

    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        """The public incident (or maintenance) and the update with this public id; None if not public."""
        ...

    def component_choices(self, session: Session) -> Sequence[tuple[str, str]]:
        """(public id, name) of every public component, in display order."""
        ...


class StatusPageSource:
    """The status domain's own tables, through the public builders (`public.py`)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        """The update and its published incident or announced maintenance, as the public page shows them."""
        if not update_id or len(update_id) > 32:
            return None
        row = session.scalar(select(StatusUpdate).where(StatusUpdate.public_id == update_id))
        if row is None:
            return None
        parent: StatusIncident | StatusMaintenance | None = (
            session.get(StatusIncident, row.incident_id)
            if row.incident_id is not None
            else session.get(StatusMaintenance, row.maintenance_id)
            if row.maintenance_id is not None
            else None
        )
        if parent is None:
            return None
        try:
            found = public.public_incident(session, parent.public_id, now=self.runtime.clock.now())
        except NotFound:
            return None  # withdrawn maintenance: nothing to tell
        update = next((u for u in found.updates if u.id == update_id), None)
        return (found, update) if update is not None else None

    def component_choices(self, session: Session) -> Sequence[tuple[str, str]]:
        """Every component, in display order."""
        return [(c.public_id, c.name) for c in components.list_components(session)]


def set_source(runtime: Any, source: PublicSource) -> None:
    """Replace where this runtime's subscribers read public updates from."""
    runtime.extras[EXTRA] = source


def source_of(runtime: Any) -> PublicSource:
    """The registered source, else the status page's own tables."""
    source = runtime.extras.get(EXTRA)
    if source is None:
        source = runtime.extras[EXTRA] = StatusPageSource(runtime)
    found: PublicSource = source
    return found
