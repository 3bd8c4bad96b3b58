"""Where the public face gets what it shows: the `SnapshotSource` seam to the statuspage domain's service."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.statuspage import service
from warroom.statuspage.config import StatusPageSettings
from warroom.statuspage.snapshot import PageSnapshot, PublicIncident


class SnapshotSource(Protocol):
    """The four reads the public face needs (the domain's `warroom.statuspage.service` provides them).

    `page_version` is called on every public request, so it must be cheap; it changes whenever anything any
    public route shows changes. `public_incident` raises `warroom.errors.NotFound` for an unknown id."""

    def page_version(self, session: Session) -> str: ...

    def build_snapshot(self, session: Session, *, now: datetime) -> PageSnapshot: ...

    def history(
        self, session: Session, *, page: int, per_page: int, now: datetime
    ) -> tuple[list[PublicIncident], int]: ...

    def public_incident(self, session: Session, public_id: str, *, now: datetime) -> PublicIncident: ...


class FixedSource:
    """A source that always shows one snapshot and one history: for tests, the benchmark, and a server whose
    status page tables do not exist yet. `replace` swaps what it shows (a new version, as a change would)."""

    def __init__(self, snapshot: PageSnapshot, past: list[PublicIncident] | None = None) -> None:
        self.snapshot = snapshot
        self.past: list[PublicIncident] = list(past or [])
        self.version_reads = 0

    def replace(self, snapshot: PageSnapshot, past: list[PublicIncident] | None = None) -> None:
        """Show `snapshot` (and `past`, when given) from now on."""
        if past is not None:
            self.past = list(past)
        self.snapshot = snapshot

    def page_version(self, session: Session) -> str:
        """The snapshot's version."""
        self.version_reads += 1
        return self.snapshot.version

    def build_snapshot(self, session: Session, *, now: datetime) -> PageSnapshot:
        """The snapshot."""
        return self.snapshot

    def history(self, session: Session, *, page: int, per_page: int, now: datetime) -> tuple[list[PublicIncident], int]:
        """One page of the past incidents, newest first, and their total."""
        start = (page - 1) * per_page
        return self.past[start : start + per_page], len(self.past)

    def public_incident(self, session: Session, public_id: str, *, now: datetime) -> PublicIncident:
        """The incident or maintenance with this public id, current or past."""
        for incident in (*self.snapshot.incidents, *self.snapshot.maintenances, *self.past):
            if incident.id == public_id:
                return incident
        raise NotFound(f"No public incident '{public_id}'.")


class ServiceSource:
    """The real source: the statuspage domain's service over its tables, with the page's settings."""

    def __init__(self, settings: StatusPageSettings) -> None:
        self.settings = settings

    def page_version(self, session: Session) -> str:
        """The domain's page version (one statement)."""
        return service.page_version(session)

    def build_snapshot(self, session: Session, *, now: datetime) -> PageSnapshot:
        """The snapshot as of `now`."""
        return service.build_snapshot(session, settings=self.settings, now=now)

    def history(self, session: Session, *, page: int, per_page: int, now: datetime) -> tuple[list[PublicIncident], int]:
        """One page of the published history, newest first, and its total."""
        return service.history(session, page=page, per_page=per_page, now=now)

    def public_incident(self, session: Session, public_id: str, *, now: datetime) -> PublicIncident:
        """One published incident or maintenance (NotFound otherwise)."""
        return service.public_incident(session, public_id, now=now)
