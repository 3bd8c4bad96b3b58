"""Recording what delivery attempts came to: retries with backoff, giving up, and the timeline events saying so.

A page that failed for good is reported to the paging domain (`escalations`), which decides whether the next
level goes now; delivery itself knows no policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from warroom.auth import service as audit
from warroom.auth.actor import SYSTEM, Actor
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.notify import escalations
from warroom.notify.apprise_send import SendResult, send
from warroom.notify.contacts import contacts_of
from warroom.notify.metrics import metrics_for
from warroom.notify.models import DeliveryAttempt, Notification
from warroom.notify.service import PAGE_KINDS, config_of, notification_id
from warroom.timeparse import parse_duration

# Kinds posted to a team channel: a page's channel post, and a status update (statuspage) posted to one.
CHANNEL_KINDS = ("channel", "status_update")


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


def incident_of(session: Session, incident_id: int | None) -> Incident | None:
    """The incident a notification is about, without its services."""
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


def _event_data(notification: Notification, *, level: int) -> dict[str, Any]:
    """What a delivery event records about the message (`level` counted from 0, shown from 1)."""
    return {
        "notification": notification.id,
        "kind": notification.kind,
        "user": notification.user_id,
        "team": notification.team_id,
        "method": notification.method,
        "level": level + 1,
        "attempts": notification.attempts,
    }


def _timeline_sent(session: Session, notification: Notification, now: datetime) -> None:
    who = f"team {notification.team_id} channel" if notification.kind in CHANNEL_KINDS else notification.user_id
    verb = {"reminder": "reminded", "channel": "posted to", "status_update": "posted to", "digest": "paged"}.get(
        notification.kind, "paged"
    )
    for incident_id in _covered(session, notification):
        incident = incident_of(session, incident_id)
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
            data=_event_data(notification, level=notification.level),
        )


def _timeline_failed(session: Session, notification: Notification, now: datetime) -> None:
    who = f"team {notification.team_id} channel" if notification.kind in CHANNEL_KINDS else notification.user_id
    # A digest failed for every page folded into it: each of them falls through on its own incident.
    pages = (
        list(session.scalars(select(Notification).where(Notification.digest_id == notification.id)))
        if notification.kind == "digest"
        else [notification]
    )
    for page in pages:
        incident = incident_of(session, page.incident_id)
        if incident is None:
            continue
        timeline.append(
            session,
            incident,
            kind="notification_failed",
            actor=SYSTEM,
            at=now,
            message=f"could not reach {who} by {notification.method} after {notification.attempts} attempts",
            data={**_event_data(notification, level=page.level), "error": notification.last_error},
        )
        if page.kind in PAGE_KINDS:
            # A page nobody received must not end in silence: the next level goes now.
            escalations.of(session).page_failed(
                session, incident, generation=page.generation, cycle=page.cycle, level=page.level, now=now
            )


# -- test messages -----------------------------------------------------------------------------------------------


def send_tests(runtime: Any, session: Session, user_id: str, actor: Actor) -> list[tuple[str, str, str, SendResult]]:
    """Send a test message through each of the user's contact methods now; returns (id, label, url, outcome).

    No transaction is held while the messages go out; the outcomes are recorded, and audited, afterwards."""
    contacts = [(c.label, c.url) for c in contacts_of(session, user_id)]
    session.rollback()
    now = runtime.clock.now()
    metrics = metrics_for(runtime)
    results: list[tuple[str, str, str, SendResult]] = []
    for label, url in contacts:
        nid = notification_id("test", user_id, label, now.isoformat())
        body = f"This is a test from warroom for {user_id} ({label}), sent by {actor.name}.\nNotification: {nid}"
        outcome = send(url, "warroom test notification", body)
        metrics.attempts.labels("test", "ok" if outcome.ok else "error").inc()
        metrics.notifications.labels("test", "sent" if outcome.ok else "failed").inc()
        results.append((nid, label, url, outcome))
    with runtime.db.transaction() as tx:
        for nid, label, url, outcome in results:
            if tx.get(Notification, nid) is not None:
                continue
            tx.add(
                Notification(
                    id=nid,
                    kind="test",
                    user_id=user_id,
                    method=label,
                    url=url,
                    title="warroom test notification",
                    body="",
                    state="sent" if outcome.ok else "failed",
                    attempts=1,
                    last_error=outcome.error,
                    due_at=now,
                    created_at=now,
                    sent_at=now if outcome.ok else None,
                )
            )
            tx.flush()
            tx.add(
                DeliveryAttempt(
                    notification_id=nid, at=now, ok=outcome.ok, error=outcome.error, elapsed_ms=outcome.elapsed_ms
                )
            )
        audit.record(tx, actor, "user.test_notify", f"user:{user_id}", now=now, detail={"methods": len(results)})
    return results
