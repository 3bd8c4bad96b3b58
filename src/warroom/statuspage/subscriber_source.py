"""Where subscribers read public updates and components from: a seam the status domain fills in.

The subscriber code needs two things from the status domain and nothing else: the public incident and
update that an update id names, and the list of public components (for the subscribe form and to check a
component filter). The status domain registers an object with these two methods in its `install(runtime)`
(`set_source`); both return only the public shapes of `snapshot.py`, so no internal field can reach a
subscriber. Without a source, the form offers no components and a fan-out finds no update (and sends nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from warroom.statuspage.snapshot import PublicComponent, PublicIncident, PublicUpdate

EXTRA = "statuspage.subscriber_source"


class PublicSource(Protocol):
    """What the status domain offers subscribers."""

    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        """The public incident (or maintenance) and the update with this public id; None if not public."""
        ...

    def public_components(self, session: Session) -> Sequence[PublicComponent]:
        """Every public component."""
        ...


class _Nothing:
    def public_update(self, session: Session, update_id: str) -> tuple[PublicIncident, PublicUpdate] | None:
        return None

    def public_components(self, session: Session) -> Sequence[PublicComponent]:
        return ()


def set_source(runtime: Any, source: PublicSource) -> None:
    """Register where this runtime's subscribers read public updates from (the status domain's install)."""
    runtime.extras[EXTRA] = source


def source_of(runtime: Any) -> PublicSource:
    """The registered source, or one that knows nothing."""
    source: PublicSource = runtime.extras.get(EXTRA) or _Nothing()
    return source
