"""Paging an incident through its escalation policy: start, step, acknowledge, stop, escalate by hand.

The policy is frozen onto the incident when paging starts (`oncall_escalations`), so editing a policy never
changes an escalation under way. The next step is one job per incident (kind `oncall.step`, key = incident)
whose payload names the generation, cycle and level it expects: a step whose expectation no longer holds
(acknowledged, escalated by hand, restarted) does nothing, so running a step twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from warroom.auth.actor import SYSTEM, Actor, Role
from warroom.engine import jobs
from warroom.errors import Conflict, InvalidInput
from warroom.incidents import timeline
from warroom.incidents.models import Incident, Status, TimelineEvent
from warroom.notify import service as notify
from warroom.oncall import service as oncall
from warroom.oncall.config_models import LevelConfig
from warroom.oncall.models import Escalation, OncallUser, Policy, Schedule, Team
from warroom.timeparse import format_duration, parse_duration

STEP = "oncall.step"
ACK_DUE = "oncall.ack_due"
LIVE = ("active", "exhausted")


def freeze(policy: Policy, severity: str, category: str | None) -> dict[str, Any]:
    """The levels of `policy` that apply to this severity and category, as they are now."""
    levels = []
    for index, raw in enumerate(policy.levels):
        level = LevelConfig.model_validate(raw)
        when = level.when
        if when is not None:
            categories, severities = when.categories(), when.severities()
            if categories and (category or "").lower() not in categories:
                continue
            if severities and severity.upper() not in severities:
                continue
        levels.append(
            {
                "index": index,
                "notify": list(level.notify),
                "escalate_after": parse_duration(level.escalate_after).total_seconds(),
            }
        )
    return {"id": policy.id, "repeat": policy.repeat, "levels": levels}


def get(session: Session, incident_id: int, *, lock: bool = False) -> Escalation | None:
    """The incident's escalation, if it ever paged."""
    return session.get(Escalation, incident_id, with_for_update=lock or None)


def _declared_choice(session: Session, incident: Incident) -> tuple[str | None, str | None]:
    """The policy and category chosen when the incident was declared (route, CLI or API)."""
    event = session.scalar(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == "declared")
        .order_by(TimelineEvent.id)
        .limit(1)
    )
    data = event.data if event is not None else {}
    return data.get("policy"), data.get("category")


def start(
    session: Session,
    runtime: Any,
    incident: Incident,
    *,
    policy_id: str | None,
    category: str | None,
    now: datetime,
    reason: str,
    actor: Actor = SYSTEM,
    force: bool = False,
    strict_policy: bool = False,
) -> Escalation | None:
    """Start (or restart) paging: freeze the policy, page the first level now, arm the acknowledge target.

    Unless `strict_policy` (a person named the policy), an unknown policy is noted on the timeline
    and paging falls back to the service's or the default policy: an alert is never refused over paging."""
    severity = runtime.severities.get(incident.severity)
    if not severity.page and not force:
        return None
    try:
        policy = oncall.policy_for_incident(session, policy_id, incident.services)
    except InvalidInput as exc:
        if strict_policy:
            raise
        timeline.append(
            session,
            incident,
            kind="paging_error",
            actor=SYSTEM,
            at=now,
            message=f"{exc.detail} Paging with the service's or the default policy instead.",
            data={"reason": "unknown policy", "policy": policy_id},
        )
        policy = oncall.policy_for_incident(session, None, incident.services)
    if policy is None:
        # Said on every such incident, also when no policy exists at all: a fresh install whose P1 pages nobody
        # in silence is the failure people discover during their first real outage.
        none_defined = session.scalar(select(Policy.id).limit(1)) is None
        why = "no escalation policy is defined" if none_defined else "no policy applies to it"
        timeline.append(
            session,
            incident,
            kind="paging_skipped",
            actor=SYSTEM,
            at=now,
            message=f"nobody paged: no policy ({incident.severity} pages, but {why}; "
            "define one called `default`, see docs/oncall.md)",
            data={"reason": "no policy"},
        )
        return None
    frozen = freeze(policy, incident.severity, category)
    if not frozen["levels"]:
        timeline.append(
            session,
            incident,
            kind="paging_skipped",
            actor=SYSTEM,
            at=now,
            message=f"policy {policy.id} has no level for {incident.severity}"
            + (f" and category {category}" if category else ""),
            data={"reason": "no level", "policy": policy.id},
        )
        return None
    escalation = get(session, incident.id, lock=True)
    if escalation is None:
        escalation = Escalation(incident_id=incident.id, generation=1, started_at=now)
        session.add(escalation)
    else:
        escalation.generation += 1
    escalation.policy_id, escalation.policy, escalation.category = policy.id, frozen, category
    escalation.severity, escalation.cycle, escalation.level = incident.severity, 0, 0
    escalation.state, escalation.last_paged, escalation.started_at, escalation.updated_at = "active", [], now, now
    session.flush()
    timeline.append(
        session,
        incident,
        kind="paging_started",
        actor=actor,
        at=now,
        message=f"paging with policy {policy.id} ({len(frozen['levels'])} levels, repeated {policy.repeat} times)"
        + (f", category {category}" if category else ""),
        data={
            "policy": policy.id,
            "levels": frozen["levels"],
            "repeat": policy.repeat,
            "category": category,
            "reason": reason,
            "generation": escalation.generation,
        },
    )
    _run_level(session, runtime, escalation, incident, now, reason="start", actor=actor)
    _arm_ack_target(session, runtime, escalation, incident, now, restarted=reason != "declared")
    return escalation


def _arm_ack_target(
    session: Session, runtime: Any, escalation: Escalation, incident: Incident, now: datetime, *, restarted: bool
) -> None:
    target = runtime.severities.get(incident.severity).acknowledge
    base = now if restarted else incident.detected_at
    jobs.schedule(
        session,
        ACK_DUE,
        key=str(incident.id),
        due=max(base + target, now),
        payload={"generation": escalation.generation},
        now=now,
    )


@dataclass
class _Resolved:
    users: list[tuple[str, str]]  # (user, why)
    channels: list[tuple[str, str, str]]  # (team, url, why)
    notes: list[str]


def resolve_targets(session: Session, targets: list[str], at: datetime) -> _Resolved:
    """Who a level's targets mean at `at`: users, whoever is on call on schedules, team members, channels."""
    found = _Resolved([], [], [])
    seen: set[str] = set()

    def add(user: str, why: str) -> None:
        if user in seen:
            return
        seen.add(user)
        if session.get(OncallUser, user) is None:
            # A name left in a team or rotation after the user was removed (e.g. from warroom.yaml).
            found.notes.append(f"unknown user {user}")
        else:
            found.users.append((user, why))

    for target in targets:
        kind, _, ref = target.partition(":")
        if kind == "user":
            add(ref, "you are named by the policy")
        elif kind == "schedule":
            schedule = session.get(Schedule, ref)
            shift = oncall.on_call(session, schedule, at) if schedule is not None else None
            if shift is None:
                found.notes.append(f"nobody on call on schedule {ref}")
            else:
                add(shift.user, f"you are on call on schedule {ref} ({shift.source})")
        elif kind in ("team", "channel"):
            team = session.get(Team, ref)
            if team is None:
                found.notes.append(f"unknown team {ref}")
                continue
            if kind == "team":
                for member in team.members:
                    add(member, f"you are in team {ref}")
            if team.channel and all(t != ref for t, _, _ in found.channels):
                found.channels.append((ref, team.channel, f"posted to team {ref}'s channel"))
            elif kind == "channel" and not team.channel:
                found.notes.append(f"team {ref} has no channel")
    return found


def _advance(escalation: Escalation) -> bool:
    """Move the pointer past the level just run; False when the policy has run out."""
    levels = escalation.policy["levels"]
    if escalation.level + 1 < len(levels):
        escalation.level += 1
        return True
    if escalation.cycle < int(escalation.policy.get("repeat", 0)):
        escalation.level, escalation.cycle = 0, escalation.cycle + 1
        return True
    escalation.level += 1  # past the end: nothing left to run
    return False


def _run_level(
    session: Session,
    runtime: Any,
    escalation: Escalation,
    incident: Incident,
    now: datetime,
    *,
    reason: str,
    actor: Actor = SYSTEM,
    schedule_next: bool = True,
) -> None:
    """Page the level the pointer is on, record who was paged and how, and arm the next step."""
    for _ in range(len(escalation.policy["levels"]) * (int(escalation.policy.get("repeat", 0)) + 1) + 1):
        levels = escalation.policy["levels"]
        if escalation.level >= len(levels):
            return
        index, cycle = escalation.level, escalation.cycle
        level = levels[index]
        resolved = resolve_targets(session, level["notify"], now)
        described: list[str] = []
        paged: list[str] = []
        for user, why in resolved.users:
            result = notify.page_user(
                session,
                runtime,
                incident,
                user,
                generation=escalation.generation,
                cycle=cycle,
                level=index,
                why=f"Level {index + 1} of policy {escalation.policy_id}: {why}.",
                now=now,
            )
            if result.methods:
                paged.append(user)
                how = ", ".join(result.methods) + (" (held for a digest)" if result.digested else "")
                described.append(f"{user} by {how}")
            else:
                resolved.notes.append(f"{user} has no contact method")
        for team, url, why in resolved.channels:
            notify.post_channel(
                session,
                runtime,
                incident,
                team,
                url,
                generation=escalation.generation,
                cycle=cycle,
                level=index,
                why=f"Level {index + 1} of policy {escalation.policy_id}: {why}.",
                now=now,
            )
            described.append(f"team {team} channel")
        first = index == 0 and cycle == 0 and reason == "start"
        repeat_note = f" (repeat {cycle})" if cycle else ""
        who = "; ".join(described) if described else "nobody"
        timeline.append(
            session,
            incident,
            kind="paged" if first else "escalated",
            actor=actor,
            at=now,
            message=f"level {index + 1}{repeat_note}: paging {who}"
            + (f" ({'; '.join(resolved.notes)})" if resolved.notes else ""),
            data={
                "level": index + 1,
                "cycle": cycle,
                "policy": escalation.policy_id,
                "targets": level["notify"],
                "users": paged,
                "channels": [t for t, _, _ in resolved.channels],
                "problems": resolved.notes,
                "reason": reason,
                "generation": escalation.generation,
            },
        )
        if paged:
            escalation.last_paged = paged
        escalation.updated_at = now
        has_next = _advance(escalation)
        if not has_next:
            escalation.state = "exhausted" if escalation.state == "active" else escalation.state
            jobs.cancel(session, STEP, key=str(incident.id))
            return
        if described:
            if schedule_next:
                _schedule_step(session, escalation, now + timedelta(seconds=level["escalate_after"]), now)
            return
        # Nobody could be paged at this level: go straight on rather than wait in silence.
        reason = "nobody at previous level"


def _schedule_step(session: Session, escalation: Escalation, due: datetime, now: datetime) -> None:
    jobs.schedule(
        session,
        STEP,
        key=str(escalation.incident_id),
        due=due,
        payload={"generation": escalation.generation, "cycle": escalation.cycle, "level": escalation.level},
        now=now,
    )


def _expected(escalation: Escalation, payload: dict[str, Any]) -> bool:
    return (
        escalation.generation == payload.get("generation")
        and escalation.cycle == payload.get("cycle")
        and escalation.level == payload.get("level")
    )


def _locked_incident(session: Session, incident_id: int) -> Incident | None:
    # Lock the incident before its escalation, in the same order as the API's changes (no deadlock).
    return session.scalars(select(Incident).where(Incident.id == incident_id).with_for_update()).one_or_none()


def run_step(session: Session, runtime: Any, incident_id: int, payload: dict[str, Any], now: datetime) -> None:
    """The engine's step: page the next level if nobody acknowledged and nothing moved the escalation since."""
    incident = _locked_incident(session, incident_id)
    escalation = get(session, incident_id, lock=True)
    if incident is None or escalation is None or not incident.is_open:
        return
    if escalation.state != "active" or not _expected(escalation, payload):
        return
    _run_level(session, runtime, escalation, incident, now, reason="no acknowledgement")


def ack_target_missed(
    session: Session,
    runtime: Any,
    incident_id: int,
    payload: dict[str, Any],
    now: datetime,
    due: datetime | None = None,
) -> None:
    """The severity's acknowledge target passed with nobody acknowledging: say so, and escalate now.

    When the policy escalates at that very moment anyway (a step due by then, or one that ran since),
    the target only goes on the timeline: one missed moment must not skip a level.
    """
    incident = _locked_incident(session, incident_id)
    escalation = get(session, incident_id, lock=True)
    if incident is None or escalation is None or not incident.is_open:
        return
    if escalation.state not in LIVE or escalation.generation != payload.get("generation"):
        return
    target = runtime.severities.get(incident.severity).acknowledge
    moment = due or now
    step = jobs.get(session, STEP, str(incident_id))
    covered = escalation.updated_at >= moment or (step is not None and step.due_at <= moment)
    further = escalation.state == "active" and not covered
    if further:
        tail = "; escalating now"
    elif escalation.state == "active":
        tail = "; the next level is being paged"
    else:
        tail = "; the policy has no level left"
    timeline.append(
        session,
        incident,
        kind="acknowledge_target_missed",
        actor=SYSTEM,
        at=now,
        message=f"not acknowledged within the {incident.severity} target of {format_duration(target)}{tail}",
        data={"target_seconds": target.total_seconds(), "level": escalation.level + 1, "escalated": further},
    )
    if further:
        _run_level(session, runtime, escalation, incident, now, reason="acknowledge target missed")


def escalate(session: Session, runtime: Any, incident: Incident, actor: Actor, now: datetime) -> Escalation:
    """Page the next level now, by hand (`warroom incident escalate N`)."""
    if not incident.is_open:
        raise Conflict(f"Incident #{incident.id} is resolved; reopen it before escalating.", field="status")
    escalation = get(session, incident.id, lock=True)
    if escalation is None or escalation.state == "stopped":
        policy_id, category = _declared_choice(session, incident)
        if escalation is not None:
            policy_id = policy_id or escalation.policy_id
        started = start(
            session,
            runtime,
            incident,
            policy_id=policy_id,
            category=category,
            now=now,
            reason="manual",
            actor=actor,
            force=True,
        )
        if started is None:
            raise Conflict(
                f"Incident #{incident.id} has no escalation policy to escalate through: define one called `default` "
                "or declare with --policy.",
                field="policy",
            )
        return started
    if escalation.level >= len(escalation.policy["levels"]):
        # The policy ran out: a person asking for more help gets the policy from the top again.
        escalation.level, escalation.cycle = 0, escalation.cycle + 1
    acknowledged = escalation.state == "acknowledged"
    escalation.state = "active"
    _run_level(
        session,
        runtime,
        escalation,
        incident,
        now,
        reason="escalated by hand",
        actor=actor,
        schedule_next=not acknowledged,
    )
    if acknowledged:
        jobs.cancel(session, STEP, key=str(incident.id))
    return escalation


def fall_through(
    session: Session,
    incident: Incident,
    *,
    generation: int,
    cycle: int,
    level: int,
    now: datetime,
    digest: bool = False,
) -> None:
    """A page of (cycle, level) failed for good: if nobody at that level got any message, page the next now."""
    from warroom.notify.models import Notification

    runtime = session.info["runtime"]
    escalation = get(session, incident.id, lock=True)
    if escalation is None or escalation.generation != generation or escalation.state != "active":
        return
    states = set(
        session.scalars(
            select(Notification.state).where(
                Notification.incident_id == incident.id,
                Notification.generation == generation,
                Notification.cycle == cycle,
                Notification.level == level,
                Notification.kind.in_(notify.PAGE_KINDS),
            )
        )
    )
    if states & {"sent", "pending"}:
        return  # someone got it, or another method is still trying (pages in a failed digest are neither)
    following = (cycle, level + 1) if level + 1 < len(escalation.policy["levels"]) else (cycle + 1, 0)
    if (escalation.cycle, escalation.level) != following:
        return  # the escalation already went past the next level
    _run_level(session, runtime, escalation, incident, now, reason="every page of the previous level failed")


def stop(session: Session, incident: Incident, *, state: str, why: str, actor: Actor, now: datetime) -> bool:
    """Stop paging (acknowledged or stopped): cancel the steps and every page not delivered yet."""
    escalation = get(session, incident.id, lock=True)
    jobs.cancel(session, STEP, key=str(incident.id))
    jobs.cancel(session, ACK_DUE, key=str(incident.id))
    cancelled = notify.cancel_pages(session, incident.id)
    if escalation is None or escalation.state not in LIVE:
        return False
    escalation.state, escalation.updated_at = state, now
    timeline.append(
        session,
        incident,
        kind="paging_stopped",
        actor=actor,
        at=now,
        message=f"paging stopped at level {min(escalation.level, len(escalation.policy['levels']))}: {why}"
        + (f" ({cancelled} queued messages cancelled)" if cancelled else ""),
        data={"reason": why, "state": state, "cancelled": cancelled},
    )
    return True


def page_obsolete(session: Session, incident_id: int, generation: int) -> str | None:
    """Why a queued page should no longer be sent, or None while it is still wanted."""
    incident = session.get(Incident, incident_id, options=[lazyload(Incident.service_links)])
    if incident is None:
        return "the incident is gone"
    if not incident.is_open:
        return "the incident is resolved"
    escalation = session.get(Escalation, incident_id)
    if escalation is None:
        return None
    if escalation.generation != generation:
        return "paging restarted since"
    if escalation.state not in LIVE:
        return f"paging {escalation.state}"
    return None


def responsible(session: Session, incident: Incident, now: datetime) -> list[str]:
    """Who answers for status updates: the commander when they are a known user, else who was last paged."""
    if incident.commander:
        user = oncall.resolver(session)(incident.commander)
        if user is not None:
            return [user]
    escalation = get(session, incident.id)
    if escalation is None:
        return []
    if escalation.last_paged:
        return list(escalation.last_paged)
    levels = escalation.policy["levels"]
    return [u for u, _ in resolve_targets(session, levels[0]["notify"], now).users] if levels else []


# -- reacting to the timeline ------------------------------------------------------------------------------------


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
        start(
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
        notify.schedule_reminder(session, runtime, incident, now)
    elif kind == "acknowledged":
        stop(session, incident, state="acknowledged", why=f"acknowledged by {event.actor}", actor=actor, now=now)
    elif kind == "resolved":
        stop(session, incident, state="stopped", why=f"resolved by {event.actor}", actor=actor, now=now)
        jobs.cancel(session, notify.REMINDER, key=str(incident.id))
    elif kind == "status_changed":
        # After a reopen the incident is not `triggered`, so nobody can acknowledge it: a person moving it on
        # is the sign that someone is on it.
        escalation = get(session, incident.id)
        if escalation is not None and escalation.state in LIVE and actor.is_person:
            stop(session, incident, state="acknowledged", why=f"{event.actor} is working on it", actor=actor, now=now)
    elif kind == "reopened":
        if runtime.severities.get(incident.severity).page:
            policy_id, category = _declared_choice(session, incident)
            escalation = get(session, incident.id)
            start(
                session,
                runtime,
                incident,
                policy_id=escalation.policy_id if escalation else policy_id,
                category=escalation.category if escalation else category,
                now=now,
                reason="reopened",
            )
        notify.schedule_reminder(session, runtime, incident, now)
    elif kind == "severity_changed":
        _severity_changed(session, runtime, incident, event, now)
        notify.schedule_reminder(session, runtime, incident, now)


def _severity_changed(session: Session, runtime: Any, incident: Incident, event: TimelineEvent, now: datetime) -> None:
    severity = runtime.severities.get(incident.severity)
    escalation = get(session, incident.id, lock=True)
    unacknowledged = incident.status == Status.TRIGGERED.value
    if not severity.page:
        if escalation is not None and escalation.state in LIVE:
            stop(
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
            policy_id, category = _declared_choice(session, incident)
            start(session, runtime, incident, policy_id=policy_id, category=category, now=now, reason="severity raised")
        return
    if escalation.state not in LIVE:
        return
    # Re-freeze for the new severity (levels chosen by severity may apply now) and keep the position.
    policy = session.get(Policy, escalation.policy_id)
    if policy is not None:
        frozen = freeze(policy, incident.severity, escalation.category)
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
        ACK_DUE,
        key=str(incident.id),
        due=max(incident.detected_at + target, now),
        payload={"generation": escalation.generation},
        now=now,
    )
    if escalation.state == "active" and jobs.get(session, STEP, str(incident.id)) is None:
        _schedule_step(session, escalation, now, now)
    timeline.append(
        session,
        incident,
        kind="paging_reevaluated",
        actor=SYSTEM,
        at=now,
        message=f"paging re-evaluated for {incident.severity}: {len(escalation.policy['levels'])} levels",
        data={"levels": escalation.policy["levels"], "severity": incident.severity},
    )
