"""Storm digests: a person's pages held during a storm, folded into one message per contact method."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.notify import escalations
from warroom.notify.delivery import incident_of
from warroom.notify.models import Notification
from warroom.notify.service import action_links, config_of, enqueue, headline, notification_id
from warroom.timeparse import format_duration, parse_duration


def build_digest(session: Session, runtime: Any, user_id: str, now: datetime) -> list[Notification]:
    """Fold the user's held pages into one message per method; returns the digests queued."""
    held = list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.state == "digested")
            .order_by(Notification.created_at, Notification.id)
        )
    )
    if not held:
        return []
    paging = escalations.of(session)
    by_method: dict[str, list[Notification]] = {}
    for notification in held:
        if paging.page_obsolete(session, notification.incident_id or 0, notification.generation):
            notification.state = "cancelled"
            continue
        by_method.setdefault(notification.method, []).append(notification)
    queued = []
    for method, items in by_method.items():
        nid = notification_id("digest", user_id, method, *[n.id for n in items])
        incidents = {n.incident_id: incident_of(session, n.incident_id) for n in items}
        window = format_duration(parse_duration(config_of(runtime).storm.window))
        lines = [f"{len(incidents)} incidents paged you within {window}:"]
        for incident in incidents.values():
            if incident is None:
                continue
            lines.append("")
            lines.append(headline(incident))
            lines.append(action_links(session, runtime, incident, user_id, nid, now))
        lines.append(f"\nNotification: {nid}")
        first = items[0]
        for item in items:
            item.state, item.digest_id = "in_digest", nid
        queued.append(
            enqueue(
                session,
                Notification(
                    id=nid,
                    incident_id=None,
                    kind="digest",
                    user_id=user_id,
                    method=method,
                    url=first.url,
                    generation=first.generation,
                    cycle=first.cycle,
                    level=first.level,
                    title=f"{len(incidents)} incidents are paging you",
                    body="\n".join(lines),
                    state="pending",
                    due_at=now,
                    created_at=now,
                ),
                now,
            )
        )
    return queued
