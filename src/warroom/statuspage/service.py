"""The status page's service: what other modules (the public face, subscribers, routes) call.

The contract with the public face (status-face): `build_snapshot`, `history`, `public_incident` and
`page_version` (cheap: one statement; bumped in the transaction of every change the page shows, and it
also follows the monitors' states). Settings: `StatusPageSettings` (warroom.yaml's `status_page:`).

Events others hook (status-subscribers):
- on the internal incident's timeline (`runtime.add_timeline_hook(hook, kinds=[...])`):
  `status_published` — data: `update_id` (the first PublicUpdate.id), `status`, `public: true`, `public_id`
  (PublicIncident.id), `public_title`, `components` (names), `impact`, `next_update_at`; message: the public text.
  `status_update_published` — data: `update_id` (PublicUpdate.id), `status`, `public: true`, `public_id`,
  `next_update_at`; message: the public text.
  Publishing emits only `status_published` (its first update is part of it); each later update emits
  `status_update_published` once.
- announced maintenance has no incident and so no timeline: `hooks.add_maintenance_hook(runtime, hook,
  kinds)` with kinds `maintenance_scheduled`, `maintenance_started`, `maintenance_completed`,
  `maintenance_cancelled`; the hook gets `(session, MaintenanceEvent)` (public maintenance id, public update id).
Both kinds of hooks run inside the transaction that made the change (write jobs there; never commit).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.errors import NotFound
from warroom.statuspage.components import add as add_component
from warroom.statuspage.components import edit as edit_component
from warroom.statuspage.components import get as get_component
from warroom.statuspage.components import list_components, list_groups, set_override, sync_config
from warroom.statuspage.config import StatusPageSettings
from warroom.statuspage.hooks import MAINTENANCE_KINDS, MaintenanceEvent, add_maintenance_hook
from warroom.statuspage.maintenance import announce
from warroom.statuspage.maintenance import cancel as cancel_maintenance
from warroom.statuspage.models import StatusIncident, StatusMaintenance, StatusUpdate
from warroom.statuspage.public import build_snapshot, history, public_incident
from warroom.statuspage.publishing import compose, is_drill, post_update, publish, published
from warroom.statuspage.snapshot import PageSnapshot, PublicIncident
from warroom.statuspage.version import page_version

PUBLISHED = "status_published"
UPDATE_PUBLISHED = "status_update_published"

__all__ = [
    "MAINTENANCE_KINDS",
    "PUBLISHED",
    "UPDATE_PUBLISHED",
    "MaintenanceEvent",
    "NotFound",
    "PageSnapshot",
    "PublicIncident",
    "StatusPageSettings",
    "add_component",
    "add_maintenance_hook",
    "announce",
    "build_snapshot",
    "cancel_maintenance",
    "compose",
    "edit_component",
    "get_component",
    "history",
    "is_drill",
    "list_components",
    "list_groups",
    "page_version",
    "post_update",
    "public_incident",
    "publish",
    "published",
    "set_override",
    "sync_config",
    "updates_of",
]


def updates_of(
    session: Session, *, incident: StatusIncident | None = None, maintenance: StatusMaintenance | None = None
) -> list[StatusUpdate]:
    """The public updates of a published incident or of announced maintenance, newest first."""
    query = select(StatusUpdate).order_by(StatusUpdate.id.desc())
    if incident is not None:
        query = query.where(StatusUpdate.incident_id == incident.id)
    elif maintenance is not None:
        query = query.where(StatusUpdate.maintenance_id == maintenance.id)
    else:
        return []
    return list(session.scalars(query))
