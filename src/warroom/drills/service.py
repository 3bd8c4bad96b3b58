"""Scenario drills: start one (arm it, inject its alerts), flag its incident, follow it, and report on it.

A drill is armed while `running` and before its deadline: the first incident declared for one of its services
(or carrying its `warroom_drill` label) becomes its incident and is flagged `drill` by a timeline hook that
runs before paging composes a single message (setup.py registers it first), so every page says DRILL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor
from warroom.drills import contacts, inject
from warroom.drills.models import FINISHED, RUNNING, TIMED_OUT, Drill
from warroom.drills.scenario import ScenarioIn
from warroom.engine import jobs
from warroom.errors import NotFound
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident, TimelineEvent
from warroom.timeparse import parse_duration

DEADLINE_JOB = "drills.deadline"
RESOLVE_ALERTS_JOB = "drills.resolve_alerts"
# An injected alert carries the drill's id in this label, so that its incident is the drill's whatever its service.
DRILL_LABEL = "warroom_drill"
MAX_LIMIT = 200


def start(session: Session, runtime: Any, scenario: ScenarioIn, *, actor: Actor, now: datetime) -> Drill:
    """Arm a drill and inject its alerts (if any) through the real intake; the caller commits."""
    drill = Drill(
        kind="scenario",
        name=scenario.name,
        state=RUNNING,
        started_by=actor.name,
        scenario=scenario.model_dump(mode="json"),
        services=list(scenario.services),
        report={},
        started_at=now,
        deadline=now + scenario.timeout_delta(),
    )
    session.add(drill)
    session.flush()
    jobs.schedule(session, DEADLINE_JOB, key=str(drill.id), due=drill.deadline, now=now)
    if scenario.alerts:
        inject.fire(session, runtime, drill.id, scenario, label=DRILL_LABEL, now=now)
    drill.report = report(session, runtime, drill, now)
    return drill


def _armed(session: Session, now: datetime) -> list[Drill]:
    return list(
        session.scalars(
            select(Drill)
            .where(Drill.state == RUNNING, Drill.kind == "scenario", Drill.incident_id.is_(None), Drill.deadline > now)
            .order_by(Drill.id)
        )
    )


def _claimant(armed: list[Drill], incident: Incident, labels: dict[str, Any]) -> Drill | None:
    """The drill whose label the incident's alert carries, else the oldest armed drill of one of its services."""
    named = str(labels.get(DRILL_LABEL, ""))
    by_label = next((d for d in armed if str(d.id) == named), None)
    if by_label is not None:
        return by_label
    return next((d for d in armed if set(d.services) & set(incident.services)), None)


def on_timeline(session: Session, incident: Incident, event: TimelineEvent) -> None:
    """Timeline hook: a new incident of an armed drill becomes a drill; the drill's incident resolved ends it."""
    runtime = session.info.get("runtime")
    if event.kind == "declared":
        labels = event.data.get("labels") or {}
        drill = _claimant(_armed(session, event.at), incident, labels if isinstance(labels, dict) else {})
        if drill is not None:
            drill.incident_id = incident.id
            incidents.mark_drill(
                session, incident, actor=SYSTEM, now=event.at, message=f"drill {drill.name} (drill #{drill.id})"
            )
    elif event.kind in ("resolved", "auto_resolved") and incident.drill and runtime is not None:
        ended = session.scalar(select(Drill).where(Drill.incident_id == incident.id, Drill.state == RUNNING))
        if ended is not None:
            finish(session, runtime, ended, state=FINISHED, now=event.at)


def finish(session: Session, runtime: Any, drill: Drill, *, state: str, now: datetime) -> Drill:
    """End the drill (finished or timed out) and keep its report."""
    drill.state = state
    drill.finished_at = now
    drill.report = report(session, runtime, drill, now)
    jobs.cancel(session, DEADLINE_JOB, key=str(drill.id))
    if drill.scenario.get("alerts"):
        # A job, not now: this may run inside a timeline hook of the alert pipeline itself.
        jobs.schedule(session, RESOLVE_ALERTS_JOB, key=str(drill.id), due=now, now=now)
    return drill


def resolve_alerts(session: Session, runtime: Any, drill_id: int, now: datetime) -> None:
    """Engine job: resolve the alerts an ended drill fired (running it twice resolves nothing new)."""
    drill = session.get(Drill, drill_id)
    if drill is None or drill.state == RUNNING or not drill.scenario.get("alerts"):
        return
    scenario = ScenarioIn.model_validate(drill.scenario)
    inject.resolve(session, runtime, drill.id, scenario, label=DRILL_LABEL, now=now)


def deadline_passed(session: Session, runtime: Any, drill_id: int, now: datetime) -> None:
    """Engine job: a drill still running at its deadline timed out (a no-op when it already ended)."""
    drill = session.get(Drill, drill_id)
    if drill is None or drill.state != RUNNING:
        return
    if drill.kind == "contacts":
        contacts.close(session, runtime, drill, now)
        return
    finish(session, runtime, drill, state=TIMED_OUT, now=now)


def get(session: Session, drill_id: int) -> Drill:
    """The drill with this id, or NotFound."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        raise NotFound(f"No drill #{drill_id}: see `warroom drill list`.", field="id")
    return drill


def history(session: Session, *, limit: int = 50) -> list[Drill]:
    """The latest drills, newest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    return list(session.scalars(select(Drill).order_by(Drill.id.desc()).limit(limit)))


def current_report(session: Session, runtime: Any, drill: Drill, now: datetime) -> dict[str, Any]:
    """The kept report of an ended drill, or the report as of `now` of a running one."""
    if drill.state != RUNNING:
        return dict(drill.report)
    if drill.kind == "contacts":
        return contacts.report(session, drill, now)
    return report(session, runtime, drill, now)


# -- the report --------------------------------------------------------------------------------------------------


def _measure(name: str, start: datetime, end: datetime | None, target: timedelta, now: datetime) -> dict[str, Any]:
    target_s = target.total_seconds()
    if end is None:
        elapsed = (now - start).total_seconds()
        state = "running" if elapsed <= target_s else "missed"
        return {"name": name, "seconds": None, "target_seconds": target_s, "state": state}
    took = max(0.0, (end - start).total_seconds())
    return {"name": name, "seconds": took, "target_seconds": target_s, "state": "met" if took <= target_s else "missed"}


def _target(value: str | None, fallback: timedelta) -> timedelta:
    return parse_duration(value) if value else fallback


def report(session: Session, runtime: Any, drill: Drill, now: datetime) -> dict[str, Any]:
    """Detection, acknowledge and recovery against the targets, who was paged and answered, the steps run."""
    scenario = drill.scenario
    base: dict[str, Any] = {
        "drill": drill.id,
        "name": drill.name,
        "state": drill.state,
        "started_at": drill.started_at.isoformat(),
        "deadline": drill.deadline.isoformat(),
        "finished_at": drill.finished_at.isoformat() if drill.finished_at else None,
        "incident": drill.incident_id,
    }
    end = drill.finished_at or now
    incident = session.get(Incident, drill.incident_id) if drill.incident_id is not None else None
    targets = scenario.get("targets") or {}
    if incident is None:
        # No incident yet: the tightest detection target of any severity, unless the scenario sets one.
        detection = _target(targets.get("detect"), min(s.detection for s in runtime.severities))
        base.update(
            severity=None,
            measures=[_measure("detect", drill.started_at, None, detection, end)],
            paged=[],
            answered=[],
            steps=[],
            expected={"runbook": scenario.get("runbook"), "policy": scenario.get("policy")},
            checks=[],
        )
        return base
    sev = runtime.severities.get(incident.severity)
    events = timeline.events(session, incident.id)
    measures = [
        _measure("detect", drill.started_at, incident.detected_at, _target(targets.get("detect"), sev.detection), end),
        _measure(
            "acknowledge",
            incident.detected_at,
            incident.acknowledged_at,
            _target(targets.get("acknowledge"), sev.acknowledge),
            end,
        ),
        _measure("recover", drill.started_at, incident.resolved_at, _target(targets.get("recover"), sev.resolve), end),
    ]
    paged = [{"at": e.at.isoformat(), "who": e.message} for e in events if e.kind in ("paged", "escalated")]
    answered = [
        {"at": e.at.isoformat(), "who": e.actor, "how": e.kind, "message": e.message}
        for e in events
        if e.kind in ("acknowledged", "notification_acknowledged")
    ]
    steps = [
        {
            "at": e.at.isoformat(),
            "runbook": e.data.get("runbook"),
            "step": e.data.get("title") or e.message,
            "by": e.actor,
            "outcome": "succeeded"
            if "succeeded" in e.message
            else ("done" if e.kind == "runbook_step_done" else "failed"),
        }
        for e in events
        if e.kind in ("runbook_step_ran", "runbook_step_done")
    ]
    policies = [str(e.data.get("policy")) for e in events if e.kind == "paging_started"]
    runbooks = [str(e.data.get("runbook")) for e in events if e.kind == "runbook_started"]
    checks = []
    if scenario.get("policy"):
        checks.append(
            {
                "check": f"paged through policy {scenario['policy']}",
                "ok": scenario["policy"] in policies,
                "seen": policies,
            }
        )
    if scenario.get("runbook"):
        checks.append(
            {"check": f"runbook {scenario['runbook']} ran", "ok": scenario["runbook"] in runbooks, "seen": runbooks}
        )
    base.update(
        severity=incident.severity,
        measures=measures,
        paged=paged,
        answered=answered,
        steps=steps,
        expected={"runbook": scenario.get("runbook"), "policy": scenario.get("policy")},
        checks=checks,
    )
    return base
