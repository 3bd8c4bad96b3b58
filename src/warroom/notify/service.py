"""The rules of the notify domain: contact methods, the outbox, attempts, storm control, digests, reminders.

Functions take a session and never commit. A notification is written to the outbox together with its
delivery job in the caller's transaction, so it exists if and only if what caused it committed; the
engine delivers it afterwards (see handlers.py), outside any transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from warroom.auth.actor import SYSTEM
from warroom.engine import jobs
from warroom.errors import InvalidInput, NotFound
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.notify import links
from warroom.notify.apprise_send import SendResult, check_url
from warroom.notify.models import ContactMethod, DeliveryAttempt, Notification
from warroom.oncall.config_models import ContactConfig, NotificationsConfig, RuleConfig
from warroom.timeparse import format_duration, parse_duration

DELIVER = "notify.deliver"
DIGEST = "notify.digest"
REMINDER = "notify.reminder"
PAGE_KINDS = ("page", "channel")


def config_of(runtime: Any) -> NotificationsConfig:
    """The `notifications:` section of warroom.yaml (defaults when absent)."""
    section = getattr(runtime.config, "notifications", None)
    return section if isinstance(section, NotificationsConfig) else NotificationsConfig()


# -- contact methods ---------------------------------------------------------------------------------------------


def contacts_of(session: Session, user_id: str) -> list[ContactMethod]:
    """The user's contact methods in their order."""
    return list(
        session.scalars(
            select(ContactMethod)
            .where(ContactMethod.user_id == user_id)
            .order_by(ContactMethod.position, ContactMethod.id)
        )
    )


def _check_contact(label: str, url: str, field: str) -> None:
    if not label.strip():
        raise InvalidInput("A contact method needs a label.", field=field)
    problem = check_url(url)
    if problem is not None:
        raise InvalidInput(f"Contact {label!r}: {problem}.", field=field)


def set_contacts(session: Session, user_id: str, contacts: Sequence[ContactConfig], *, now: datetime) -> None:
    """Replace the user's contact methods with `contacts` (keeping rows whose label and URL are unchanged)."""
    wanted: dict[str, str] = {}
    for index, contact in enumerate(contacts):
        label = contact.label or contact.url.split("://", 1)[0]
        _check_contact(label, contact.url, f"contacts.{index}")
        if label in wanted:
            raise InvalidInput(
                f"Two contacts are labelled {label!r}: give each its own label.", field=f"contacts.{index}"
            )
        wanted[label] = contact.url
    existing = {c.label: c for c in contacts_of(session, user_id)}
    for label, row in existing.items():
        if wanted.get(label) != row.url:
            session.delete(row)
    session.flush()
    for position, (label, url) in enumerate(wanted.items()):
        kept = existing.get(label)
        if kept is not None and kept.url == url:
            kept.position = position
        else:
            session.add(ContactMethod(user_id=user_id, label=label, url=url, position=position, created_at=now))
    session.flush()


def add_contact(session: Session, user_id: str, label: str, url: str, *, now: datetime) -> ContactMethod:
    """Add one contact method to a user."""
    _check_contact(label, url, "url")
    if any(c.label == label for c in contacts_of(session, user_id)):
        raise InvalidInput(f"User {user_id!r} already has a contact labelled {label!r}.", field="label")
    position = len(contacts_of(session, user_id))
    contact = ContactMethod(user_id=user_id, label=label, url=url, position=position, created_at=now)
    session.add(contact)
    session.flush()
    return contact


def remove_contact(session: Session, user_id: str, label: str) -> None:
    """Remove one of the user's contact methods by label."""
    contact = next((c for c in contacts_of(session, user_id) if c.label == label), None)
    if contact is None:
        raise NotFound(f"User {user_id!r} has no contact labelled {label!r}.", field="label")
    session.delete(contact)


# -- composing messages -----------------------------------------------------------------------------------------


def notification_id(*parts: object) -> str:
    """A stable id derived from what caused the notification (a step run twice gets the same id)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"n_{digest[:24]}"


def _links(session: Session, runtime: Any, incident: Incident, user: str | None, nid: str, now: datetime) -> str:
    key = links.signing_key(session, now)
    expires = now + parse_duration(config_of(runtime).link_ttl)
    lines = []
    for action in links.ACTIONS:
        token = links.action_token(
            key, incident=incident.id, action=action, user=user, notification=nid, expires=expires
        )
        lines.append(f"{action.capitalize()}: {links.action_url(runtime.settings, token)}")
    return "\n".join(lines)


def _headline(incident: Incident) -> str:
    return f"[{incident.severity}] #{incident.id} {incident.title}"


def page_text(
    session: Session, runtime: Any, incident: Incident, *, user: str | None, nid: str, why: str, now: datetime
) -> tuple[str, str]:
    """Title and body of a page: what is wrong, why you, one-click links, the stable id."""
    services = ", ".join(incident.services) or "-"
    body = (
        f"Incident #{incident.id} [{incident.severity}] {incident.status}: {incident.title}\n"
        f"Services: {services}\n{why}\n"
        f"{_links(session, runtime, incident, user, nid, now)}\n"
        f"Notification: {nid}"
    )
    return _headline(incident), body


# -- the outbox --------------------------------------------------------------------------------------------------


def _delivery_key(notification: Notification) -> str:
    # Pages of an incident share a prefix so that an acknowledgement can cancel them in one statement.
    if notification.incident_id is not None and notification.kind in PAGE_KINDS:
        return f"p{notification.incident_id}:{notification.id}"
    return f"{notification.kind}:{notification.id}"


def enqueue(session: Session, notification: Notification, now: datetime) -> Notification:
    """Put a notification in the outbox with its delivery job; a second enqueue of the same id is a no-op."""
    if session.get(Notification, notification.id) is not None:
        return notification
    session.add(notification)
    session.flush()
    if notification.state == "pending":
        jobs.schedule(session, DELIVER, key=_delivery_key(notification), due=notification.due_at, now=now)
    return notification


def urgency_of(runtime: Any, severity: str) -> str:
    """`high` for the two most severe ranks (P0, P1 by default), else `low`."""
    return "high" if runtime.severities.get(severity).rank <= 1 else "low"


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
    *,
    generation: int,
    cycle: int,
    level: int,
    why: str,
    now: datetime,
) -> Paged:
    """Queue the messages that page `user_id` for a level, following their notification rules.

    One person gets at most one message per method per incident per level (the id says so); in a storm
    the messages are held for a digest instead of sent one by one.
    """
    from warroom.oncall import service as oncall

    user = oncall.get_user(session, user_id)
    urgency = urgency_of(runtime, incident.severity)
    contacts = {c.label: c for c in contacts_of(session, user_id)}
    held = _storm(session, runtime, user_id, incident.id, now)
    methods: list[str] = []
    for rule in oncall.rules_of(user):
        if rule.urgency not in ("any", urgency):
            continue
        labels = list(contacts) if rule.contacts == "all" else [c for c in rule.contacts if c in contacts]
        due = now + parse_duration(rule.after)
        for label in labels:
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
                    url=contacts[label].url,
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
    from warroom.oncall import paging

    return paging.page_obsolete(session, notification.incident_id, notification.generation)


# -- recording deliveries ---------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 5 s doubling, at most 2 min."""
    step: timedelta = timedelta(seconds=5) * (2 ** max(attempts - 1, 0))
    return min(step, timedelta(minutes=2))


def record_attempt(
    session: Session, runtime: Any, notification: Notification, result: SendResult, *, now: datetime, engine: str
) -> str:
    """Record one try and its consequences; returns `sent`, `retry` or `failed`."""
    notification.attempts += 1
    session.add(
        DeliveryAttempt(
            notification_id=notification.id,
            at=now,
            ok=result.ok,
            error=result.error,
            elapsed_ms=result.elapsed_ms,
            engine=engine,
        )
    )
    if result.ok:
        notification.state, notification.sent_at, notification.last_error = "sent", now, None
        _timeline_sent(session, notification, now)
        return "sent"
    notification.last_error = result.error
    if now - notification.created_at + backoff(notification.attempts) <= parse_duration(config_of(runtime).retry_for):
        return "retry"
    give_up(session, notification, notification.last_error or "failed", now=now)
    return "failed"


def give_up(session: Session, notification: Notification, error: str, *, now: datetime) -> None:
    """Mark a notification failed for good: timeline event, and the next level for a page."""
    notification.state, notification.last_error = "failed", error
    _timeline_failed(session, notification, now)


def _incident(session: Session, incident_id: int | None) -> Incident | None:
    # lazyload: the services are not needed to record a delivery (loaded only if a hook asks).
    if incident_id is None:
        return None
    return session.get(Incident, incident_id, options=[lazyload(Incident.service_links)])


def _covered(session: Session, notification: Notification) -> list[int]:
    """The incidents a message speaks about: its own, or every incident folded into a digest."""
    if notification.kind != "digest":
        return [notification.incident_id] if notification.incident_id is not None else []
    rows = session.scalars(select(Notification.incident_id).where(Notification.digest_id == notification.id))
    return sorted({i for i in rows if i is not None})


def _timeline_sent(session: Session, notification: Notification, now: datetime) -> None:
    who = f"team {notification.team_id} channel" if notification.kind == "channel" else notification.user_id
    verb = {"reminder": "reminded", "channel": "posted to", "digest": "paged"}.get(notification.kind, "paged")
    for incident_id in _covered(session, notification):
        incident = _incident(session, incident_id)
        if incident is None:
            continue
        suffix = " in a digest" if notification.kind == "digest" else ""
        timeline.append(
            session,
            incident,
            kind="notification_sent",
            actor=SYSTEM,
            at=now,
            message=f"{verb} {who} by {notification.method}{suffix}",
            data={
                "notification": notification.id,
                "kind": notification.kind,
                "user": notification.user_id,
                "team": notification.team_id,
                "method": notification.method,
                "level": notification.level + 1,
                "attempts": notification.attempts,
            },
        )


def _timeline_failed(session: Session, notification: Notification, now: datetime) -> None:
    from warroom.oncall import paging

    who = f"team {notification.team_id} channel" if notification.kind == "channel" else notification.user_id
    # A digest failed for every page folded into it: each of them falls through on its own incident.
    pages = (
        list(session.scalars(select(Notification).where(Notification.digest_id == notification.id)))
        if notification.kind == "digest"
        else [notification]
    )
    for page in pages:
        incident = _incident(session, page.incident_id)
        if incident is None:
            continue
        timeline.append(
            session,
            incident,
            kind="notification_failed",
            actor=SYSTEM,
            at=now,
            message=f"could not reach {who} by {notification.method} after {notification.attempts} attempts",
            data={
                "notification": notification.id,
                "kind": notification.kind,
                "user": notification.user_id,
                "team": notification.team_id,
                "method": notification.method,
                "level": page.level + 1,
                "attempts": notification.attempts,
                "error": notification.last_error,
            },
        )
        if page.kind in PAGE_KINDS:
            # A page nobody received must not end in silence: the next level goes now.
            paging.fall_through(
                session, incident, generation=page.generation, cycle=page.cycle, level=page.level, now=now
            )


# -- digests -----------------------------------------------------------------------------------------------------


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
    from warroom.oncall import paging

    by_method: dict[str, list[Notification]] = {}
    for notification in held:
        if paging.page_obsolete(session, notification.incident_id or 0, notification.generation):
            notification.state = "cancelled"
            continue
        by_method.setdefault(notification.method, []).append(notification)
    queued = []
    for method, items in by_method.items():
        nid = notification_id("digest", user_id, method, *[n.id for n in items])
        incidents = {n.incident_id: _incident(session, n.incident_id) for n in items}
        window = format_duration(parse_duration(config_of(runtime).storm.window))
        lines = [f"{len(incidents)} incidents paged you within {window}:"]
        for incident in incidents.values():
            if incident is None:
                continue
            lines.append("")
            lines.append(_headline(incident))
            lines.append(_links(session, runtime, incident, user_id, nid, now))
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


# -- update reminders --------------------------------------------------------------------------------------------


def schedule_reminder(session: Session, runtime: Any, incident: Incident, now: datetime) -> None:
    """Plan the next status-update reminder by the severity's cadence (none for severities without one)."""
    cadence = runtime.severities.get(incident.severity).update_every
    if cadence is None or not incident.is_open:
        jobs.cancel(session, REMINDER, key=str(incident.id))
        return
    last = incident.last_update_at or incident.created_at
    jobs.schedule(session, REMINDER, key=str(incident.id), due=max(last + cadence, now), now=now)


def remind(session: Session, runtime: Any, incident: Incident, now: datetime) -> datetime | None:
    """Remind the commander (else whoever is on call for the incident) that an update is due.

    Returns when the next reminder is due, or None when the incident needs no more reminders.
    """
    if not incident.is_open:
        return None
    cadence: timedelta | None = runtime.severities.get(incident.severity).update_every
    if cadence is None:
        return None
    last: datetime = incident.last_update_at or incident.created_at
    if last + cadence > now:
        return last + cadence  # an update came in meanwhile: count from it
    from warroom.oncall import paging

    recipients = paging.responsible(session, incident, now)
    overdue = format_duration(now - last)
    reminded = []
    for user_id in recipients:
        for contact in _first_rule_contacts(session, user_id):
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
                    title=f"Update due: {_headline(incident)}",
                    body=(
                        f"Incident #{incident.id} [{incident.severity}] needs a status update: the last one was "
                        f"{overdue} ago and {incident.severity} asks for one every {format_duration(cadence)}.\n"
                        f"Post one: warroom incident update {incident.id} -m '...'\nNotification: {nid}"
                    ),
                    state="pending",
                    due_at=now,
                    created_at=now,
                ),
                now,
            )
            reminded.append(f"{user_id} by {contact.label}")
    timeline.append(
        session,
        incident,
        kind="update_reminder",
        actor=SYSTEM,
        at=now,
        message=(
            f"status update due (every {format_duration(cadence)}); reminded {', '.join(reminded)}"
            if reminded
            else f"status update due (every {format_duration(cadence)}); nobody to remind"
        ),
        data={"to": recipients, "last_update_at": last.isoformat(), "every_seconds": cadence.total_seconds()},
    )
    return now + cadence


def _first_rule_contacts(session: Session, user_id: str) -> list[ContactMethod]:
    from warroom.oncall import service as oncall

    contacts = contacts_of(session, user_id)
    try:
        user = oncall.get_user(session, user_id)
    except NotFound:
        return []
    rule: RuleConfig = oncall.rules_of(user)[0]
    if rule.contacts == "all":
        return contacts
    return [c for c in contacts if c.label in rule.contacts]
