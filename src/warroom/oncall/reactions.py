"""How paging reacts: to the incident's timeline (start, stop, re-evaluate, restart) and to what delivery reports.

Both run in the caller's transaction: the timeline hook in the one that appended the event, the delivery
callbacks (`ForDelivery`, registered with notify at install) in the one that recorded a delivery or a link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.engine import jobs
from warroom.incidents import timeline
from warroom.incidents.models import Incident, Status, TimelineEvent
from warroom.oncall import paging, reminders
from warroom.oncall.models import Policy

TIMELINE_KINDS = ("declared", "acknowledged", "resolved", "severity_changed", "reopened", "status_changed")


def on_timeline(session: Session, incident: Incident, event: TimelineEvent) -> None:
    """Timeline hook: start, stop, re-evaluate and restart paging as the incident changes."""
    kind = event.kind
    if kind not in TIMELINE_KINDS:
        return
    runtime = session.info.get("runtime")
    if runtime is None:
        return
    now = event.at
    actor = Actor(name=event.actor, role=Role.RESPONDER, kind=event.actor_kind)  # attribution only
    if kind == "declared":
        paging.start(
            session,
            runtime,
            incident,
            policy_id=event.data.get("policy"),
            category=event.data.get("category"),
            now=now,
            reason="declared",
            # A person who names a policy that does not exist is told so; an alert route's typo must
            # not make the sender's alert bounce.
            strict_policy=actor.is_person,
        )
        reminders.schedule_reminder(session, runtime, incident, now)
    elif kind == "acknowledged":
        paging.stop(session, incident, state="acknowledged", why=f"acknowledged by {event.actor}", actor=actor, now=now)
    elif kind == "resolved":
        paging.stop(session, incident, state="stopped", why=f"resolved by {event.actor}", actor=actor, now=now)
        jobs.cancel(session, reminders.REMINDER, key=str(incident.id))
    elif kind == "status_changed":
        # After a reopen the incident is not `triggered`, so nobody can acknowledge it: a person moving it on
        # is the sign that someone is on it.
        escalation = paging.get(session, incident.id)
        if escalation is not None and escalation.state in paging.LIVE and actor.is_person:
            paging.stop(
                session, incident, state="acknowledged", why=f"{event.actor} is working on it", actor=actor, now=now
            )
    elif kind == "reopened":
        if runtime.severities.get(incident.severity).page:
            policy_id, category = paging.declared_choice(session, incident)
            escalation = paging.get(session, incident.id)
            paging.start(
                session,
                runtime,
                incident,
                policy_id=escalation.policy_id if escalation else policy_id,
                category=escalation.category if escalation else category,
                now=now,
                reason="reopened",
            )
        reminders.schedule_reminder(session, runtime, incident, now)
    elif kind == "severity_changed":
        _severity_changed(session, runtime, incident, event, now)
        reminders.schedule_reminder(session, runtime, incident, now)


def _severity_changed(session: Session, runtime: Any, incident: Incident, event: TimelineEvent, now: datetime) -> None:
    severity = runtime.severities.get(incident.severity)
    escalation = paging.get(session, incident.id, lock=True)
    unacknowledged = incident.status == Status.TRIGGERED.value
    if not severity.page:
        if escalation is not None and escalation.state in paging.LIVE:
            paging.stop(
                session,
                incident,
                state="stopped",
                why=f"severity lowered to {incident.severity}",
                actor=SYSTEM,
                now=now,
            )
        return
    if escalation is None or escalation.state == "stopped":
        if unacknowledged:
            policy_id, category = paging.declared_choice(session, incident)
            paging.start(
                session, runtime, incident, policy_id=policy_id, category=category, now=now, reason="severity raised"
            )
        return
    if escalation.state not in paging.LIVE:
        return
    # Re-freeze for the new severity (levels chosen by severity may apply now) and keep the position.
    policy = session.get(Policy, escalation.policy_id)
    if policy is not None:
        frozen = paging.freeze(policy, incident.severity, escalation.category)
        if frozen["levels"]:
            escalation.policy = frozen
            escalation.level = min(escalation.level, len(frozen["levels"]))
            if escalation.state == "exhausted" and escalation.level < len(frozen["levels"]):
                escalation.state = "active"
    escalation.severity = incident.severity
    escalation.updated_at = now
    # The acknowledge target of the new severity, counted from detection (it may be due at once).
    target = severity.acknowledge
    jobs.schedule(
        session,
        paging.ACK_DUE,
        key=str(incident.id),
        due=max(incident.detected_at + target, now),
        payload={"generation": escalation.generation},
        now=now,
    )
    if escalation.state == "active" and jobs.get(session, paging.STEP, str(incident.id)) is None:
        paging.schedule_step(session, escalation, now, now)
    timeline.append(
        session,
        incident,
        kind="paging_reevaluated",
        actor=SYSTEM,
        at=now,
        message=f"paging re-evaluated for {incident.severity}: {len(escalation.policy['levels'])} levels",
        data={"levels": escalation.policy["levels"], "severity": incident.severity},
    )


class ForDelivery:
    """What notify asks of paging, and tells it (see `warroom.notify.escalations.Escalations`)."""

    def page_obsolete(self, session: Session, incident_id: int, generation: int) -> str | None:
        """Why a queued page should no longer be sent, or None while it is still wanted."""
        return paging.page_obsolete(session, incident_id, generation)

    def page_failed(
        self, session: Session, incident: Incident, *, generation: int, cycle: int, level: int, now: datetime
    ) -> None:
        """A page nobody received must not end in silence: the next level may go now."""
        paging.fall_through(session, incident, generation=generation, cycle=cycle, level=level, now=now)

    def is_paging(self, session: Session, incident_id: int) -> bool:
        """Whether the incident's escalation is under way (active, or out of levels but not stopped)."""
        escalation = paging.get(session, incident_id)
        return escalation is not None and escalation.state in paging.LIVE

    def acknowledge_paging(self, session: Session, incident: Incident, actor: Actor, now: datetime) -> None:
        """Stop paging as acknowledged by `actor` (through a one-click link)."""
        paging.stop(session, incident, state="acknowledged", why=f"acknowledged by {actor.name}", actor=actor, now=now)
