"""Contact drills: page every on-call person through each of their contact methods with a test page, and report
who was reachable, how, and how fast — the broken phone number found before the real outage.

Each (person, method) gets a drill incident of the lowest severity (it never pages by policy), and one message
through that method only, with the usual one-click links: acknowledging that incident is the proof that this
method reaches this person. At the deadline the incidents are resolved and the methods never acknowledged are
reported unreachable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.auth.actor import SYSTEM, Actor
from warroom.drills.models import FINISHED, RUNNING, Drill
from warroom.engine import jobs
from warroom.errors import InvalidInput
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.notify import contacts as notify_contacts
from warroom.notify import service as notify
from warroom.oncall import service as oncall
from warroom.timeparse import parse_duration

TEST_PAGE = "DRILL: test page, please acknowledge"


def on_call_people(session: Session, team: str | None, now: datetime) -> list[str]:
    """Who is paged: the team's members, or whoever is on call now in any schedule."""
    if team is not None:
        return list(dict.fromkeys(oncall.get_team(session, team).members))
    people: list[str] = []
    for schedule in oncall.list_schedules(session):
        shift = oncall.on_call(session, schedule, now)
        if shift is not None:
            people.append(shift.user)
    return list(dict.fromkeys(people))


def start(session: Session, runtime: Any, *, team: str | None, deadline: str, actor: Actor, now: datetime) -> Drill:
    """Send the test pages (delivered by the engine after the caller commits)."""
    people = on_call_people(session, team, now)
    if not people:
        raise InvalidInput(
            "Nobody to page: " + (f"team {team} has no members." if team else "nobody is on call now."), field="team"
        )
    lowest = list(runtime.severities)[-1].name
    drill = Drill(
        kind="contacts",
        name=f"contacts:{team}" if team else "contacts",
        state=RUNNING,
        started_by=actor.name,
        scenario={"team": team, "deadline": deadline},
        services=[],
        report={},
        started_at=now,
        deadline=now + parse_duration(deadline),
    )
    session.add(drill)
    session.flush()
    sent: list[dict[str, Any]] = []
    for person in people:
        methods = notify_contacts.contacts_of(session, person)
        if not methods:
            sent.append({"user": person, "method": None, "incident": None, "problem": "no contact method"})
        for method in methods:
            incident = incidents.declare(
                session,
                title=f"Contact drill: {person} via {method.label}",
                severity=lowest,
                severities=runtime.severities,
                actor=actor,
                now=now,
                description=f"{TEST_PAGE}. Drill #{drill.id} checks that {method.label} reaches {person}.",
                labels={"drill": str(drill.id)},
                drill=True,
            )
            notify.page_user(
                session,
                runtime,
                incident,
                person,
                [(method, now)],
                generation=0,
                cycle=0,
                level=0,
                why=f"{TEST_PAGE}: contact drill #{drill.id} checks your {method.label}.",
                now=now,
            )
            sent.append({"user": person, "method": method.label, "incident": incident.id, "problem": None})
    drill.scenario = {**drill.scenario, "sent": sent}
    jobs.schedule(session, "drills.deadline", key=str(drill.id), due=drill.deadline, now=now)
    drill.report = report(session, drill, now)
    return drill


def report(session: Session, drill: Drill, now: datetime) -> dict[str, Any]:
    """Per person and method: reachable (acknowledged, after how long), waiting, or unreachable."""
    rows = []
    for item in drill.scenario.get("sent", []):
        row: dict[str, Any] = {"user": item["user"], "method": item["method"], "seconds": None, "by": None}
        if item["incident"] is None:
            row["state"] = "unreachable"
            row["why"] = item["problem"]
            rows.append(row)
            continue
        events = timeline.events(session, int(item["incident"]))
        acked = next((e for e in events if e.kind in ("acknowledged", "notification_acknowledged")), None)
        failed = [e.message for e in events if e.kind == "notification_failed"]
        if acked is not None:
            row.update(state="reachable", seconds=(acked.at - drill.started_at).total_seconds(), by=acked.actor)
        else:
            waiting = drill.state == RUNNING and now < drill.deadline
            row["state"] = "waiting" if waiting else "unreachable"
            row["why"] = failed[-1] if failed else ("" if waiting else "not acknowledged before the deadline")
        rows.append(row)
    return {
        "drill": drill.id,
        "name": drill.name,
        "state": drill.state,
        "started_at": drill.started_at.isoformat(),
        "deadline": drill.deadline.isoformat(),
        "methods": rows,
        "reachable": sum(1 for r in rows if r["state"] == "reachable"),
        "unreachable": [f"{r['user']} via {r['method'] or '-'}" for r in rows if r["state"] == "unreachable"],
    }


def close(session: Session, runtime: Any, drill: Drill, now: datetime) -> Drill:
    """At the deadline: resolve the test incidents still open and keep the report."""
    for item in drill.scenario.get("sent", []):
        if item["incident"] is None:
            continue
        incident = incidents.get(session, int(item["incident"]))
        if incident is not None and incident.is_open:
            incidents.resolve(session, incident, SYSTEM, now, "contact drill over")
    drill.state = FINISHED
    drill.finished_at = now
    drill.report = report(session, drill, now)
    return drill
