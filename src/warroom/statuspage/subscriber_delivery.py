"""Delivering public updates to subscribers through the engine: one fan-out job per update, batches of
deliveries, and send jobs that record each message as sent right after the server accepted it.

Exactly once, and what happens on a crash (docs/statuspage.md, "Subscribers"):
- the hooks on a public update (`status_published`, `status_update_published`, maintenance events) write
  ONE job and the frozen notice, in the publishing transaction, whatever the number of subscribers; the
  fan-out job writes `batch` deliveries and the send job for them per transaction, and schedules the next
  batch;
- (update, subscriber) is unique in `status_deliveries`: a fan-out run twice (a crash, the same event twice)
  adds nothing, so nobody is queued twice;
- a send job sends only deliveries still `pending` and marks each `sent` in its own commit as soon as the
  SMTP server (or webhook) accepted it. A SIGKILL leaves at most the one message per running send job in
  flight with an unknown outcome: it is sent again when the job reruns (at-least-once for those), with the
  same Message-ID (webhooks: Idempotency-Key), which receivers dedupe on. Nothing marked sent goes again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind, Retry
from warroom.engine.models import Job
from warroom.incidents.models import Incident, TimelineEvent
from warroom.statuspage import subscriber_messages as messages
from warroom.statuspage.hooks import MAINTENANCE_KINDS, MaintenanceEvent, add_maintenance_hook
from warroom.statuspage.subscriber_config import SubscribersConfig
from warroom.statuspage.subscriber_models import Delivery, Notice, Subscriber
from warroom.statuspage.subscriber_smtp import SmtpSender, describe
from warroom.statuspage.subscriber_source import source_of
from warroom.statuspage.subscribers import CONFIRM, CONFIRM_FOR, EMAIL, UNSUBSCRIBE, issue_token
from warroom.timeparse import parse_duration

FANOUT, SEND, CONFIRM_MAIL = "statuspage.fanout", "statuspage.send", "statuspage.confirm"
# Timeline kinds that carry a public update to subscribers (data: {"update_id": ..., "public": true}): the
# first update when an incident is published, then each public update.
NOTICE_KINDS = ("status_published", "status_update_published")


def config_of(runtime: Any) -> SubscribersConfig:
    """The `status_page.subscribers` settings of this runtime."""
    section = getattr(runtime.config, "status_page", None)
    found = getattr(section, "subscribers", None)
    return found if isinstance(found, SubscribersConfig) else SubscribersConfig()


def public_base(runtime: Any) -> str:
    """The base URL people reach warroom at (WARROOM_PUBLIC_URL, else the address it serves on)."""
    settings = runtime.settings
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return str(base).rstrip("/")


def page_name(runtime: Any) -> str:
    """The status page's name, as subjects and webhook bodies show it."""
    return str(getattr(getattr(runtime.config, "status_page", None), "name", None) or "Status")


def page_address(runtime: Any) -> str:
    """The public page's address: `status_page.url`, else WARROOM_PUBLIC_URL (or the server's) + /status."""
    configured = str(getattr(getattr(runtime.config, "status_page", None), "url", "") or "")
    return configured.rstrip("/") or f"{public_base(runtime)}/status"


def link(runtime: Any, action: str, token: str) -> str:
    """The public URL of a confirm or unsubscribe token."""
    return f"{public_base(runtime)}/status/{action}/{token}"


# -- the hook and the subscribe request --------------------------------------------------------------------------


def on_timeline(session: Session, _incident: Incident, event: TimelineEvent) -> None:
    """A public update was published (timeline hook)."""
    data = event.data or {}
    if data.get("public") is False:
        return
    queue(session, data.get("update_id"), event.at)


def on_maintenance(session: Session, event: MaintenanceEvent) -> None:
    """Maintenance was announced, began, completed or was withdrawn, with a public update (maintenance hook)."""
    queue(session, event.update_id, event.at)


def queue(session: Session, update_id: object, at: datetime) -> None:
    """Freeze what subscribers will read about the update (public fields only) and schedule its one fan-out
    job, in the publishing transaction: two rows, whatever the number of subscribers."""
    if not isinstance(update_id, str) or not 0 < len(update_id) <= 100:
        return
    runtime = session.info.get("runtime")
    if session.get(Notice, update_id) is None and _make_notice(session, runtime, update_id, at) is None:
        return  # not a public update the status page knows: nothing to tell anyone
    jobs.schedule(
        session,
        FANOUT,
        key=f"{update_id}@0",
        due=at,
        now=at,
        payload={"update_id": update_id, "after": 0},
        if_absent=True,
    )


def request_confirmation(session: Session, subscriber_id: int, *, now: datetime) -> None:
    """Schedule the double opt-in email of a new subscriber (sent by the engine, never in the request)."""
    jobs.schedule(
        session, CONFIRM_MAIL, key=str(subscriber_id), due=now, now=now, payload={"subscriber": subscriber_id}
    )


# -- fan-out -----------------------------------------------------------------------------------------------------


def _make_notice(session: Session, runtime: Any, update_id: str, now: datetime) -> Notice | None:
    found = source_of(runtime).public_update(session, update_id)
    if found is None:
        return None
    incident, public_update = found
    page_url = page_address(runtime)
    indicator = incident.impact if incident.resolved_at is None else "none"
    page = {
        "id": "warroom",
        "name": page_name(runtime),
        "url": page_url,
        "status_indicator": indicator,
        "status_description": _DESCRIPTIONS.get(indicator, "All Systems Operational"),
    }
    notice = Notice(
        id=update_id,
        subject=messages.subject_of(incident, public_update, page_name(runtime)),
        text=messages.text_of(incident, public_update, page_url),
        webhook=messages.webhook_body(incident, public_update, page),
        component_ids=sorted(set(public_update.affected_component_ids) | set(incident.component_ids)),
        created_at=now,
    )
    session.add(notice)
    session.flush()
    return notice


_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}


def wants(filter_ids: list[Any] | None, notice_ids: list[Any]) -> bool:
    """Whether a subscriber with component filter `filter_ids` gets a notice about `notice_ids`.

    No filter: everything. A notice naming no component goes to everyone."""
    return not filter_ids or not notice_ids or bool(set(filter_ids) & set(notice_ids))


def _insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Delivery) if dialect == "postgresql" else sqlite.insert(Delivery)
    session.execute(insert.on_conflict_do_nothing(index_elements=["notice_id", "subscriber_id"]), rows)


def _fanout(ctx: JobContext, session: Session, job: Job) -> None:
    """Queue one batch of subscribers for an update, with the send job for them, and schedule the next batch."""
    runtime = ctx.runtime
    update_id = str(job.payload["update_id"])
    after = int(job.payload.get("after", 0))
    notice = session.get(Notice, update_id)
    if notice is None:
        return  # removed since (its deliveries with it): nobody is told
    size = config_of(runtime).batch
    rows = session.execute(
        select(Subscriber.id, Subscriber.component_ids)
        .where(Subscriber.state == "confirmed", Subscriber.id > after)
        .order_by(Subscriber.id)
        .limit(size)
    ).all()
    if not rows:
        return
    chosen = [row.id for row in rows if wants(row.component_ids, notice.component_ids)]
    first, last = rows[0][0], rows[-1][0]
    if chosen:
        _insert_deliveries(
            session,
            [
                {"notice_id": update_id, "subscriber_id": sid, "state": "pending", "attempts": 0, "created_at": ctx.now}
                for sid in chosen
            ],
        )
        jobs.schedule(
            session,
            SEND,
            key=f"{update_id}:{first}",
            due=ctx.now,
            now=ctx.now,
            payload={"notice": update_id, "lo": first, "hi": last},
        )
    if len(rows) == size:
        jobs.schedule(
            session,
            FANOUT,
            key=f"{update_id}@{last}",
            due=ctx.now,
            now=ctx.now,
            payload={"update_id": update_id, "after": last},
        )


# -- sending -----------------------------------------------------------------------------------------------------


class WebhookRefused(Exception):
    """The receiver answered, but not with a 2xx."""


def _post(client: httpx.Client, url: str, body: dict[str, Any], key: str) -> None:
    # The delivery key is the same on every retry: a receiver that saw it already can drop the repeat.
    headers = {"User-Agent": "warroom-statuspage", "Idempotency-Key": key}
    response = client.post(url, json=body, headers=headers)
    if not 200 <= response.status_code < 300:
        raise WebhookRefused(f"HTTP {response.status_code}")


def _mark_sent(runtime: Any, delivery_id: int, now: datetime) -> None:
    """Record one delivery as sent, in its own commit, right after the receiver took it."""
    with runtime.db.transaction() as tx:
        if not runtime.db.is_sqlite:
            # An engine killed after this commit still has it (the server does); only a crash of PostgreSQL
            # itself could lose its last instants (those messages would go again, with their Message-ID).
            tx.execute(text("SET LOCAL synchronous_commit TO OFF"))
        tx.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == "pending")
            .values(state="sent", sent_at=now, attempts=Delivery.attempts + 1, last_error=None)
            .execution_options(synchronize_session=False)
        )


def backoff(attempts: int) -> timedelta:
    """Wait before retrying failed deliveries: 10 s doubling, at most 10 min."""
    step: timedelta = timedelta(seconds=10) * (2 ** max(attempts - 1, 0))
    return min(step, timedelta(minutes=10))


_SEND_ERRORS = (OSError, httpx.HTTPError, WebhookRefused)


def _send(ctx: JobContext, session: Session, job: Job) -> None:
    """Send one batch's pending deliveries; failures are retried with backoff until `retry_for` runs out."""
    runtime = ctx.runtime
    cfg = config_of(runtime)
    notice_id, lo, hi = str(job.payload["notice"]), int(job.payload["lo"]), int(job.payload["hi"])
    notice = session.get(Notice, notice_id)
    if notice is None:
        return
    subject, body_text, webhook = notice.subject, notice.text, dict(notice.webhook)
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.subscriber_id,
            Delivery.attempts,
            Delivery.created_at,
            Subscriber.kind,
            Subscriber.address,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.notice_id == notice_id, Delivery.subscriber_id.between(lo, hi), Delivery.state == "pending")
        .order_by(Delivery.subscriber_id)
    ).all()
    session.rollback()  # end the read before the network
    if not rows:
        return
    now = runtime.clock.now()
    with runtime.db.transaction() as tx:
        tokens = {row.id: issue_token(tx, row.subscriber_id, UNSUBSCRIBE, now=now) for row in rows}
    failed: dict[int, str] = {}
    with SmtpSender(cfg.smtp) as smtp, httpx.Client(timeout=10.0, follow_redirects=False) as client:
        for row in rows:
            unsubscribe_url = link(runtime, "unsubscribe", tokens[row.id])
            try:
                if row.kind == EMAIL:
                    message = messages.email(
                        sender=cfg.smtp.sender,
                        to=row.address,
                        subject=subject,
                        text=body_text,
                        unsubscribe_url=unsubscribe_url,
                        msg_id=messages.message_id(notice_id, row.subscriber_id, cfg.smtp.sender),
                        now=now,
                    )
                    smtp.send(message)
                else:
                    key = f"{notice_id}.{row.subscriber_id}"
                    _post(client, row.address, messages.with_meta(webhook, unsubscribe_url, now), key)
            except _SEND_ERRORS as exc:
                failed[row.id] = str(exc) if isinstance(exc, WebhookRefused) else describe(exc)
                continue
            _mark_sent(runtime, row.id, now)

    if failed:
        _record_failures(runtime, rows, failed, now, parse_duration(cfg.retry_for))


def _record_failures(
    runtime: Any, rows: Sequence[Any], failed: dict[int, str], now: datetime, retry_for: timedelta
) -> None:
    retry_attempts = 0
    with runtime.db.transaction() as tx:
        for row in rows:
            if row.id not in failed:
                continue
            attempts = row.attempts + 1
            give_up = now - row.created_at + backoff(attempts) > retry_for
            tx.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.state == "pending")
                .values(attempts=attempts, last_error=failed[row.id], state="failed" if give_up else "pending")
                .execution_options(synchronize_session=False)
            )
            if not give_up:
                retry_attempts = max(retry_attempts, attempts)
    if retry_attempts:
        raise Retry(backoff(retry_attempts), f"{len(failed)} deliveries failed; retrying")


def _confirm_mail(ctx: JobContext, session: Session, job: Job) -> None:
    """Send a pending subscriber the confirmation link (and an unsubscribe link, like every message)."""
    runtime = ctx.runtime
    cfg = config_of(runtime)
    subscriber = session.get(Subscriber, int(job.payload["subscriber"]))
    if subscriber is None or subscriber.state != "pending" or subscriber.kind != EMAIL:
        return
    sid, address, components = subscriber.id, subscriber.address, list(subscriber.component_ids or [])
    session.rollback()
    now = runtime.clock.now()
    with runtime.db.transaction() as tx:
        # Earlier confirm tokens stay valid (an email sent twice after a crash must not hold a dead link).
        confirm_token = issue_token(tx, sid, CONFIRM, now=now)
        unsubscribe_token = issue_token(tx, sid, UNSUBSCRIBE, now=now)
    name = page_name(runtime)
    message = messages.email(
        sender=cfg.smtp.sender,
        to=address,
        subject=f"[{name}] Confirm your subscription",
        text=messages.confirmation_text(
            name, link(runtime, "confirm", confirm_token), components, int(CONFIRM_FOR.total_seconds() // 3600)
        ),
        unsubscribe_url=link(runtime, "unsubscribe", unsubscribe_token),
        msg_id=messages.message_id(f"confirm.{now:%Y%m%d%H%M%S}", sid, cfg.smtp.sender),
        now=now,
    )
    with SmtpSender(cfg.smtp) as smtp:
        smtp.send(message)  # a failure raises: the engine retries with its backoff


def register() -> None:
    """Make the subscriber jobs runnable by this process's engines."""
    jobs.register(JobKind(FANOUT, _fanout, max_attempts=10))
    jobs.register(JobKind(SEND, _send, max_attempts=20, transactional=False))
    jobs.register(
        JobKind(CONFIRM_MAIL, _confirm_mail, max_attempts=8, base_backoff=timedelta(seconds=30), transactional=False)
    )


def install(runtime: Any) -> None:
    """Wire subscribers into a runtime: the hook on public updates and the job kinds."""
    register()
    runtime.add_timeline_hook(on_timeline, kinds=NOTICE_KINDS)
    add_maintenance_hook(runtime, on_maintenance, MAINTENANCE_KINDS)
