"""The engine's side of post-mortems: reminding the commander and action item owners through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM
from warroom.engine import jobs
from warroom.engine.models import Job
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.notify import service as notify
from warroom.notify.models import Notification
from warroom.postmortems import people, schedule
from warroom.postmortems.models import ActionItem, Postmortem


def _send(
    session: Session, incident_id: int, user_id: str, *, cause: str, title: str, body: str, now: datetime
) -> list[str]:
    """Queue the reminder to each of the user's reminder contacts; returns their labels."""
    sent = []
    for contact in people.reminder_contacts(session, user_id):
        nid = notify.notification_id(cause, user_id, contact.label)
        notify.enqueue(
            session,
            Notification(
                id=nid,
                incident_id=incident_id,
                kind="reminder",
                user_id=user_id,
                method=contact.label,
                url=contact.url,
                title=title,
                body=f"{body}\nNotification: {nid}",
                state="pending",
                due_at=now,
                created_at=now,
            ),
            now,
        )
        sent.append(contact.label)
    return sent


def remind_postmortem(ctx: jobs.JobContext, session: Session, job: Job) -> None:
    """Tell the commander the post-mortem is due (at resolve) or overdue (at the due time, then daily)."""
    incident_id = int(job.key.split(":", 1)[0])
    incident = session.get(Incident, incident_id)
    due = schedule.due_at(ctx.runtime, incident) if incident is not None else None
    if incident is None or due is None or incident.is_open:
        return
    postmortem = session.scalar(select(Postmortem).where(Postmortem.incident_id == incident_id))
    if postmortem is not None and postmortem.state == "published":
        return
    stage = str(job.payload.get("stage", "due"))
    if stage == "overdue" and ctx.now < due:
        return  # rescheduled meanwhile; the job for the new time is the one that counts
    state = (
        "not drafted yet"
        if postmortem is None
        else f"{postmortem.state.replace('_', ' ')}, version {postmortem.version}"
    )
    how = (
        f"Draft it: warroom postmortem draft {incident_id}"
        if postmortem is None
        else f"Finish it: warroom postmortem edit {incident_id}"
    )
    when = due.strftime("%Y-%m-%d %H:%M UTC")
    word = "is due by" if stage == "due" else "was due on"
    title = f"Post-mortem {stage}: [{incident.severity}] #{incident.id} {incident.title}"
    body = f"The post-mortem of incident #{incident.id} {word} {when} ({state}).\n{how}"
    user = people.user_of(session, incident.commander)
    cause = f"postmortem:{incident_id}:{stage}:{ctx.now.date().isoformat()}"
    sent = _send(session, incident_id, user, cause=cause, title=title, body=body, now=ctx.now) if user else []
    timeline.append(
        session,
        incident,
        kind="postmortem_reminder",
        actor=SYSTEM,
        at=ctx.now,
        message=f"post-mortem {stage}: "
        + (f"reminded {user} by {', '.join(sent)}" if sent else "no commander with a contact to remind"),
        data={"stage": stage, "to": user, "methods": sent, "due_at": due.isoformat()},
    )
    if stage == "overdue":
        jobs.schedule(
            session,
            schedule.REMIND,
            key=f"{incident_id}:overdue",
            due=ctx.now + schedule.OVERDUE_EVERY,
            payload={"stage": "overdue"},
            now=ctx.now,
        )


def remind_item(ctx: jobs.JobContext, session: Session, job: Job) -> None:
    """Tell an open, overdue action item's owner; again a week later while it stays open."""
    item = session.get(ActionItem, int(job.key))
    if item is None or item.status != "open" or item.due_on is None or item.owner is None:
        return
    if ctx.now < schedule.day_after(item.due_on):
        schedule.plan_item(session, item, ctx.now)  # the due date moved: wait for the new one
        return
    title = f"Action item overdue: {item.text}"
    body = (
        f"Action item {item.id} of incident #{item.incident_id} was due on {item.due_on.isoformat()}: {item.text}"
        + (f"\nTicket: {item.ticket_url}" if item.ticket_url else "")
        + f"\nDone? warroom action done {item.id}"
    )
    cause = f"action:{item.id}:{ctx.now.date().isoformat()}"
    _send(session, item.incident_id, item.owner, cause=cause, title=title, body=body, now=ctx.now)
    item.reminded_on = ctx.now.date()
    jobs.schedule(session, schedule.ITEM_OVERDUE, key=str(item.id), due=ctx.now + schedule.ITEM_EVERY, now=ctx.now)


def register() -> None:
    """Make the reminder jobs runnable by every engine."""
    jobs.register(jobs.JobKind(schedule.REMIND, remind_postmortem))
    jobs.register(jobs.JobKind(schedule.ITEM_OVERDUE, remind_item))
