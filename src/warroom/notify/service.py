"""The outbox: composing messages, queuing each with its delivery job, and cancelling or listing them.

Functions take a session and never commit. A notification is written to the outbox together with its
delivery job in the caller's transaction, so it exists if and only if what caused it committed; the
engine delivers it afterwards (see handlers.py and delivery.py), outside any transaction. Whom to page and
through which of their contacts is decided by the caller (the on-call domain): the outbox sends what it is handed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.incidents.models import Incident
from warroom.incidents.service import is_drill
from warroom.notify import escalations, links
from warroom.notify.config_models import NotificationsConfig
from warroom.notify.models import ContactMethod, DeliveryAttempt, Notification
from warroom.timeparse import format_duration, parse_duration

DELIVER = "notify.deliver"
DIGEST = "notify.digest"
PAGE_KINDS = ("page", "channel")
# Every message about a drill incident starts with these (mark_drill).
DRILL_TITLE = "DRILL: "
DRILL_BODY = "DRILL: this is a drill, not a real incident. Respond as you would for real.\n"


def config_of(runtime: Any) -> NotificationsConfig:
    """The `notifications:` section of warroom.yaml (defaults when absent)."""
    section = getattr(runtime.config, "notifications", None)
    return section if isinstance(section, NotificationsConfig) else NotificationsConfig()


# -- composing messages -----------------------------------------------------------------------------------------


def notification_id(*parts: object) -> str:
    """A stable id derived from what caused the notification (a step run twice gets the same id)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"n_{digest[:24]}"


def action_links(session: Session, runtime: Any, incident: Incident, user: str | None, nid: str, now: datetime) -> str:
    """The one-click acknowledge and resolve links of a message, one per line."""
    key = links.signing_key(session, now)
    expires = now + parse_duration(config_of(runtime).link_ttl)
    lines = []
    for action in links.ACTIONS:
        token = links.action_token(
            key, incident=incident.id, action=action, user=user, notification=nid, expires=expires
        )
        lines.append(f"{action.capitalize()}: {links.action_url(runtime.settings, token)}")
    return "\n".join(lines)


def headline(incident: Incident) -> str:
    """The one line that names an incident in a message's title (a digest's line of a drill says DRILL too)."""
    return f"{DRILL_TITLE if is_drill(incident) else ''}[{incident.severity}] #{incident.id} {incident.title}"


def page_text(
    session: Session, runtime: Any, incident: Incident, *, user: str | None, nid: str, why: str, now: datetime
) -> tuple[str, str]:
    """Title and body of a page: what is wrong, why you, one-click links, the stable id."""
    services = ", ".join(incident.services) or "-"
    body = (
        f"Incident #{incident.id} [{incident.severity}] {incident.status}: {incident.title}\n"
        f"Services: {services}\n{why}\n"
        f"{action_links(session, runtime, incident, user, nid, now)}\n"
        f"Notification: {nid}"
    )
    return headline(incident), body


# -- the outbox --------------------------------------------------------------------------------------------------


def _delivery_key(notification: Notification) -> str:
    # Pages of an incident share a prefix so that an acknowledgement can cancel them in one statement.
    if notification.incident_id is not None and notification.kind in PAGE_KINDS:
        return f"p{notification.incident_id}:{notification.id}"
    return f"{notification.kind}:{notification.id}"


def mark_drill(session: Session, notification: Notification) -> None:
    """Put DRILL in front of the title and body of a message about a drill incident (once).

    Done here, where every message passes on its way to the outbox (pages, channel posts, reminders,
    escalations), so that no new kind of message can forget it."""
    if notification.incident_id is None:
        return
    incident = session.get(Incident, notification.incident_id)
    if incident is None or not is_drill(incident):
        return
    if not notification.title.startswith(DRILL_TITLE):
        notification.title = DRILL_TITLE + notification.title
    if not notification.body.startswith(DRILL_BODY):
        notification.body = DRILL_BODY + notification.body


def enqueue(session: Session, notification: Notification, now: datetime) -> Notification:
    """Put a notification in the outbox with its delivery job; a second enqueue of the same id is a no-op."""
    if session.get(Notification, notification.id) is not None:
        return notification
    mark_drill(session, notification)
    session.add(notification)
    session.flush()
    if notification.state == "pending":
        jobs.schedule(session, DELIVER, key=_delivery_key(notification), due=notification.due_at, now=now)
    return notification


def _storm(session: Session, runtime: Any, user_id: str, incident_id: int, now: datetime) -> bool:
    """True when `user_id` was paged for enough other incidents within the storm window to get a digest."""
    storm = config_of(runtime).storm
    since = now - parse_duration(storm.window)
    others = session.scalar(
        select(func.count(func.distinct(Notification.incident_id))).where(
            Notification.user_id == user_id,
            Notification.kind == "page",
            Notification.created_at >= since,
            Notification.incident_id != incident_id,
        )
    )
    return int(others or 0) >= storm.threshold


@dataclass(frozen=True)
class Paged:
    """What paging one person produced."""

    user: str
    methods: list[str]
    digested: bool


def page_user(
    session: Session,
    runtime: Any,
    incident: Incident,
    user_id: str,
    deliveries: Sequence[tuple[ContactMethod, datetime]],
    *,
    generation: int,
    cycle: int,
    level: int,
    why: str,
    now: datetime,
) -> Paged:
    """Queue the messages that page `user_id` for a level: one per (contact, when due) the caller chose.

    One person gets at most one message per method per incident per level (the id says so); in a storm
    the messages are held for a digest instead of sent one by one.
    """
    held = _storm(session, runtime, user_id, incident.id, now)
    methods: list[str] = []
    for contact, due in deliveries:
        label = contact.label
        nid = notification_id(incident.id, generation, cycle, level, user_id, label)
        title, body = page_text(session, runtime, incident, user=user_id, nid=nid, why=why, now=now)
        enqueue(
            session,
            Notification(
                id=nid,
                incident_id=incident.id,
                kind="page",
                user_id=user_id,
                method=label,
                url=contact.url,
                generation=generation,
                cycle=cycle,
                level=level,
                title=title,
                body=body,
                state="digested" if held and due <= now else "pending",
                due_at=due,
                created_at=now,
            ),
            now,
        )
        methods.append(label)
    if held:
        window = parse_duration(config_of(runtime).storm.window)
        bucket = int(now.timestamp() // window.total_seconds())
        jobs.schedule(
            session,
            DIGEST,
            key=f"{user_id}:{bucket}",
            due=datetime.fromtimestamp((bucket + 1) * window.total_seconds(), tz=now.tzinfo),
            payload={"user": user_id},
            now=now,
            if_absent=True,
        )
    return Paged(user_id, methods, held)


def post_channel(
    session: Session,
    runtime: Any,
    incident: Incident,
    team_id: str,
    url: str,
    *,
    generation: int,
    cycle: int,
    level: int,
    why: str,
    now: datetime,
) -> Notification:
    """Queue a post to a team's channel for a level."""
    nid = notification_id(incident.id, generation, cycle, level, f"channel:{team_id}")
    title, body = page_text(session, runtime, incident, user=None, nid=nid, why=why, now=now)
    return enqueue(
        session,
        Notification(
            id=nid,
            incident_id=incident.id,
            kind="channel",
            team_id=team_id,
            method="channel",
            url=url,
            generation=generation,
            cycle=cycle,
            level=level,
            title=title,
            body=body,
            state="pending",
            due_at=now,
            created_at=now,
        ),
        now,
    )


def cancel_pages(session: Session, incident_id: int) -> int:
    """Stop every page of the incident not delivered yet (acknowledged or resolved); returns how many."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.incident_id == incident_id,
            Notification.kind.in_(PAGE_KINDS),
            Notification.state.in_(("pending", "digested")),
        )
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    jobs.cancel(session, DELIVER, key_prefix=f"p{incident_id}:")
    return int(getattr(result, "rowcount", 0) or 0)


def for_incident(session: Session, incident_id: int) -> list[Notification]:
    """The incident's notifications, oldest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.incident_id == incident_id)
            .order_by(Notification.created_at, Notification.id)
        )
    )


def incidents_paged_to(session: Session, user_id: str) -> list[int]:
    """The incidents that paged this person (any level, any state), newest first: the console's "mine"."""
    rows = session.scalars(
        select(Notification.incident_id)
        .where(Notification.user_id == user_id, Notification.kind == "page", Notification.incident_id.is_not(None))
        .distinct()
    )
    return sorted((int(r) for r in rows if r is not None), reverse=True)


def attempts_of(session: Session, notification_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
    """Delivery attempts of these notifications, oldest first."""
    found: dict[str, list[DeliveryAttempt]] = {nid: [] for nid in notification_ids}
    if not notification_ids:
        return found
    rows = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.notification_id.in_(list(notification_ids)))
        .order_by(DeliveryAttempt.id)
    )
    for row in rows:
        found[row.notification_id].append(row)
    return found


def still_wanted(session: Session, notification: Notification) -> str | None:
    """Why a queued page should no longer go out (None: send it)."""
    if notification.state != "pending":
        return f"it is {notification.state}"
    if notification.incident_id is None or notification.kind not in PAGE_KINDS:
        return None
    return escalations.of(session).page_obsolete(session, notification.incident_id, notification.generation)


def page_states(session: Session, incident_id: int, *, generation: int, cycle: int, level: int) -> set[str]:
    """The states of the pages and channel posts one level of one paging generation queued."""
    return set(
        session.scalars(
            select(Notification.state).where(
                Notification.incident_id == incident_id,
                Notification.generation == generation,
                Notification.cycle == cycle,
                Notification.level == level,
                Notification.kind.in_(PAGE_KINDS),
            )
        )
    )


def queue_reminder(
    session: Session,
    incident: Incident,
    user_id: str,
    contact: ContactMethod,
    *,
    since: datetime,
    every: timedelta,
    now: datetime,
) -> None:
    """Queue a reminder to `user_id` through `contact` that the incident's status update is overdue."""
    nid = notification_id("reminder", incident.id, int(now.timestamp()), user_id, contact.label)
    enqueue(
        session,
        Notification(
            id=nid,
            incident_id=incident.id,
            kind="reminder",
            user_id=user_id,
            method=contact.label,
            url=contact.url,
            title=f"Update due: {headline(incident)}",
            body=(
                f"Incident #{incident.id} [{incident.severity}] needs a status update: the last one was "
                f"{format_duration(now - since)} ago and {incident.severity} asks for one every "
                f"{format_duration(every)}.\n"
                f"Post one: warroom incident update {incident.id} -m '...'\nNotification: {nid}"
            ),
            state="pending",
            due_at=now,
            created_at=now,
        ),
        now,
    )


def queue_tests(session: Session, user_id: str, *, sent_by: str, now: datetime) -> list[Notification]:
    """A test message to each of the user's contact methods, through the outbox (and its retries) like a page."""
    queued = []
    for contact in session.scalars(
        select(ContactMethod).where(ContactMethod.user_id == user_id).order_by(ContactMethod.position, ContactMethod.id)
    ):
        nid = notification_id("test", user_id, contact.label, now.isoformat())
        body = f"This is a test from warroom for {user_id} ({contact.label}), sent by {sent_by}.\nNotification: {nid}"
        notification = Notification(
            id=nid,
            kind="test",
            user_id=user_id,
            method=contact.label,
            url=contact.url,
            title="warroom test notification",
            body=body,
            state="pending",
            due_at=now,
            created_at=now,
        )
        queued.append(enqueue(session, notification, now))
    return queued


def notifications(session: Session, ids: Sequence[str]) -> list[Notification]:
    """These notifications (for showing how they went), in the order asked; unknown ids are left out."""
    found = {n.id: n for n in session.scalars(select(Notification).where(Notification.id.in_(list(ids))))}
    return [found[i] for i in ids if i in found]
