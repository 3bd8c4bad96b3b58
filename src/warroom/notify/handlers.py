"""Engine job kinds of the notify domain: deliver one notification, send a storm digest."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warroom.engine import jobs
from warroom.engine.jobs import JobContext, JobKind, Retry
from warroom.engine.models import Job
from warroom.notify import delivery, digests, service
from warroom.notify.apprise_send import send
from warroom.notify.metrics import metrics_for
from warroom.notify.models import Notification


def _deliver(ctx: JobContext, session: Session, job: Job) -> None:
    """Send one notification. Runs outside a transaction: the network is never waited on with a lock held.

    Safe to run twice: the outcome is recorded only while the notification is still pending, and the
    message carries its stable id so a receiver can drop a repeat (at-least-once delivery).
    """
    runtime: Any = ctx.runtime
    metrics = metrics_for(runtime)
    nid = job.key.split(":", 1)[1]
    notification = session.get(Notification, nid)
    if notification is None:
        return
    reason = service.still_wanted(session, notification)
    kind, url, title, body = notification.kind, notification.url, notification.title, notification.body
    session.rollback()  # end the read before the network
    if reason is not None:
        with runtime.db.transaction() as tx:
            current = tx.get(Notification, nid, with_for_update=True)
            if current is not None and current.state == "pending":
                current.state = "cancelled"
                current.last_error = f"not sent: {reason}"
                metrics.notifications.labels(kind, "cancelled").inc()
        return
    result = send(url, title, body)
    metrics.delivery_seconds.labels(kind).observe(result.elapsed_ms / 1000)
    metrics.attempts.labels(kind, "ok" if result.ok else "error").inc()
    now = runtime.clock.now()
    with runtime.db.transaction() as tx:
        current = tx.get(Notification, nid, with_for_update=True)
        if current is None or current.state != "pending":
            return  # recorded by an earlier run of this job
        outcome = delivery.record_attempt(tx, runtime, current, result, now=now, engine=ctx.engine_id)
        attempts = current.attempts
        if outcome != "retry":
            ctx.complete(tx, job)  # the job ends in the same commit as its outcome
    if outcome == "retry":
        metrics.notifications.labels(kind, "retried").inc()
        raise Retry(delivery.backoff(attempts), f"attempt {attempts} failed: {result.error}")
    metrics.notifications.labels(kind, outcome).inc()


def _delivery_dead(ctx: JobContext, session: Session, job: Job, error: str) -> None:
    """The delivery job itself kept crashing: the notification failed, as if its retries had run out."""
    notification = session.get(Notification, job.key.split(":", 1)[1])
    if notification is not None and notification.state == "pending":
        delivery.give_up(session, notification, f"delivery crashed: {error[:300]}", now=ctx.now)


def _digest(ctx: JobContext, session: Session, job: Job) -> None:
    digests.build_digest(session, ctx.runtime, str(job.payload["user"]), ctx.now)


def register() -> None:
    """Make the notify jobs runnable by this process's engines."""
    # The retry budget lives in the notification (notifications.retry_for); the engine's own attempts only
    # cover crashes of the handler itself.
    jobs.register(JobKind(service.DELIVER, _deliver, max_attempts=20, transactional=False, on_dead=_delivery_dead))
    jobs.register(JobKind(service.DIGEST, _digest, max_attempts=10))
