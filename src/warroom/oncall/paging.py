"""Paging an incident through its escalation policy: start, step, acknowledge, stop, escalate by hand.

The policy is frozen onto the incident when paging starts (`oncall_escalations`), so editing a policy never
changes an escalation under way. The next step is one job per incident (kind `oncall.step`, key = incident)
whose payload names the generation, cycle and level it expects: a step whose expectation no longer holds
(acknowledged, escalated by hand, restarted) does nothing, so running a step twice is harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from warroom.auth.actor import SYSTEM, Actor
from warroom.engine import jobs
from warroom.errors import Conflict, InvalidInput
from warroom.incidents import timeline
from warroom.incidents.models import Incident, TimelineEvent
from warroom.notify import service as notify
from warroom.oncall import rules
from warroom.oncall import service as oncall
from warroom.oncall.config_models import LevelConfig
from warroom.oncall.models import Escalation, Policy
from warroom.oncall.targets import resolve_targets
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


def declared_choice(session: Session, incident: Incident) -> tuple[str | None, str | None]:
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
                rules.page_deliveries(session, runtime, incident.severity, user, now),
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
                schedule_step(session, escalation, now + timedelta(seconds=level["escalate_after"]), now)
            return
        # Nobody could be paged at this level: go straight on rather than wait in silence.
        reason = "nobody at previous level"


def schedule_step(session: Session, escalation: Escalation, due: datetime, now: datetime) -> None:
    """Arm the escalation's next step at `due`, expecting the position it is at now."""
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
        policy_id, category = declared_choice(session, incident)
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
    runtime = session.info["runtime"]
    escalation = get(session, incident.id, lock=True)
    if escalation is None or escalation.generation != generation or escalation.state != "active":
        return
    states = notify.page_states(session, incident.id, generation=generation, cycle=cycle, level=level)
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
