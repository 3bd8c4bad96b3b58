"""The rules of post-mortems: drafting from the record, versions, states, and the Markdown export.

Functions take the session and never commit; the route, command or engine handler that called them does."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents import durations, timeline
from warroom.incidents import service as incidents
from warroom.incidents.models import Incident
from warroom.postmortems import actions, prefill, schedule, templates
from warroom.postmortems.config import PostmortemsConfig
from warroom.postmortems.models import Postmortem, PostmortemVersion

STATES = ("draft", "in_review", "published")
# Which state may follow which through `set_state`; published goes back to draft only by an admin's reopen.
NEXT: dict[str, tuple[str, ...]] = {"draft": ("in_review",), "in_review": ("draft", "published"), "published": ()}
MAX_BODY = 200_000


def config_of(runtime: Any) -> PostmortemsConfig:
    """The `postmortems:` section of warroom.yaml (defaults when absent)."""
    section = getattr(runtime.config, "postmortems", None)
    return section if isinstance(section, PostmortemsConfig) else PostmortemsConfig()


def get(session: Session, number: int) -> Postmortem | None:
    """The post-mortem of incident `number`, or None."""
    return session.scalar(select(Postmortem).where(Postmortem.incident_id == number))


def get_or_404(session: Session, number: int) -> Postmortem:
    """The post-mortem of incident `number`, or NotFound saying how to draft one."""
    found = get(session, number)
    if found is None:
        incidents.get_or_404(session, number)
        raise NotFound(
            f"Incident #{number} has no post-mortem yet: draft one (warroom postmortem draft {number}).",
            field="number",
        )
    return found


def version_of(session: Session, postmortem: Postmortem, number: int | None = None) -> PostmortemVersion:
    """Version `number` (the current one when None), or NotFound."""
    wanted = postmortem.version if number is None else number
    found = session.scalar(
        select(PostmortemVersion).where(
            PostmortemVersion.postmortem_id == postmortem.id, PostmortemVersion.number == wanted
        )
    )
    if found is None:
        raise NotFound(
            f"Post-mortem #{postmortem.incident_id} has no version {wanted} (versions 1 to {postmortem.version}).",
            field="version",
        )
    return found


def versions(session: Session, postmortem: Postmortem) -> list[PostmortemVersion]:
    """Every version, oldest first."""
    return list(
        session.scalars(
            select(PostmortemVersion)
            .where(PostmortemVersion.postmortem_id == postmortem.id)
            .order_by(PostmortemVersion.number)
        )
    )


def context(session: Session, runtime: Any, incident: Incident, now: datetime) -> dict[str, Any]:
    """What the template is rendered with: the record, and the incident's action items as checklist lines."""
    found = prefill.record(
        incident, timeline.events(session, incident.id), runtime.severities.get(incident.severity), now
    )
    found["action_items"] = [actions.line_of(item) for item in actions.of_incident(session, incident.id)]
    return found


def draft(session: Session, runtime: Any, number: int, actor: Actor, now: datetime) -> Postmortem:
    """Create the incident's post-mortem from the configured template, prefilled from its record."""
    incident = incidents.get_or_404(session, number)
    if get(session, number) is not None:
        raise Conflict(
            f"Incident #{number} already has a post-mortem: edit it (warroom postmortem edit {number}).",
            field="number",
        )
    config = config_of(runtime)
    base = runtime.settings.config.parent if runtime.settings.config is not None else None
    name, text = templates.load(config.template, base)
    body = templates.render(text, context(session, runtime, incident, now), name=name)
    postmortem = Postmortem(
        incident_id=incident.id,
        state="draft",
        version=1,
        required=incident.severity in config.required_for,
        due_at=schedule.due_at(runtime, incident),
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(postmortem)
    session.flush()
    session.add(
        PostmortemVersion(
            postmortem_id=postmortem.id, number=1, body=body, author=actor.name, summary="drafted", created_at=now
        )
    )
    timeline.append(
        session, incident, kind="postmortem_drafted", actor=actor, at=now, message=f"post-mortem drafted from {name}"
    )
    return postmortem


def _clean_body(body: str) -> str:
    if len(body) > MAX_BODY:
        raise InvalidInput(f"The post-mortem is longer than {MAX_BODY} characters.", field="body")
    if not body.strip():
        raise InvalidInput("A post-mortem cannot be empty.", field="body")
    return body.replace("\r\n", "\n")


def add_version(
    session: Session, postmortem: Postmortem, body: str, *, author: str, summary: str, now: datetime
) -> PostmortemVersion:
    """Store `body` as the next version (no check: callers decide whether it may be written)."""
    postmortem.version += 1
    postmortem.updated_at = now
    version = PostmortemVersion(
        postmortem_id=postmortem.id,
        number=postmortem.version,
        body=body,
        author=author,
        summary=summary[:300],
        created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def edit(
    session: Session,
    runtime: Any,
    postmortem: Postmortem,
    body: str,
    *,
    based_on: int,
    actor: Actor,
    now: datetime,
    summary: str = "",
) -> PostmortemVersion:
    """Save an edit made on version `based_on` as a new version, and bring the action items in step with its
    checklist. A stale `based_on` is a Conflict (nothing is lost: the caller still holds the text)."""
    if postmortem.state == "published":
        raise Conflict(
            f"Post-mortem #{postmortem.incident_id} is published and read-only; an admin may reopen it "
            f"(warroom postmortem reopen {postmortem.incident_id}).",
            field="state",
        )
    if based_on != postmortem.version:
        raise Conflict(
            f"Post-mortem #{postmortem.incident_id} is at version {postmortem.version}, not {based_on}: someone "
            f"saved meanwhile. Fetch version {postmortem.version}, apply your change to it, and save again.",
            field="version",
        )
    body = _clean_body(body)
    current = version_of(session, postmortem)
    if body == current.body:
        return current
    body = actions.sync_from_body(session, runtime, postmortem.incident_id, body, actor=actor, now=now)
    return add_version(session, postmortem, body, author=actor.name, summary=summary or "edited", now=now)


def set_state(session: Session, runtime: Any, postmortem: Postmortem, target: str, actor: Actor, now: datetime) -> None:
    """Move draft → in_review → published (or back to draft from review); publishing stops the reminders."""
    if target not in STATES:
        raise InvalidInput(f"Unknown state {target!r}: expected one of {', '.join(STATES)}.", field="state")
    if target not in NEXT[postmortem.state]:
        allowed = ", ".join(NEXT[postmortem.state]) or "none (an admin may reopen it)"
        raise Conflict(
            f"Post-mortem #{postmortem.incident_id} cannot go from {postmortem.state} to {target}. Allowed: {allowed}.",
            field="state",
        )
    _move(session, postmortem, target, actor, now)
    if target == "published":
        postmortem.published_at = now
        schedule.cancel(session, postmortem.incident_id)


def reopen(session: Session, runtime: Any, postmortem: Postmortem, actor: Actor, now: datetime) -> None:
    """Bring a published post-mortem back to draft (an admin's call: the route checks the role)."""
    if postmortem.state != "published":
        raise Conflict(
            f"Post-mortem #{postmortem.incident_id} is {postmortem.state}, not published: nothing to reopen.",
            field="state",
        )
    _move(session, postmortem, "draft", actor, now)
    postmortem.published_at = None


def _move(session: Session, postmortem: Postmortem, target: str, actor: Actor, now: datetime) -> None:
    before = postmortem.state
    postmortem.state = target
    postmortem.updated_at = now
    incident = incidents.get_or_404(session, postmortem.incident_id)
    timeline.append(
        session,
        incident,
        kind="postmortem_state_changed",
        actor=actor,
        at=now,
        message=f"post-mortem {before} → {target}",
        data={"from": before, "to": target},
    )


def diff(session: Session, postmortem: Postmortem, old: int, new: int) -> str:
    """A unified diff from version `old` to version `new`."""
    a, b = version_of(session, postmortem, old), version_of(session, postmortem, new)
    return "".join(
        difflib.unified_diff(
            a.body.splitlines(keepends=True),
            b.body.splitlines(keepends=True),
            fromfile=f"v{a.number} ({a.author}, {a.created_at.isoformat(timespec='minutes')})",
            tofile=f"v{b.number} ({b.author}, {b.created_at.isoformat(timespec='minutes')})",
        )
    )


def is_overdue(postmortem: Postmortem | None, due: datetime | None, now: datetime) -> bool:
    """Whether a required post-mortem is past its due time and not published."""
    if due is None or due > now:
        return False
    return postmortem is None or postmortem.state != "published"


def list_postmortems(
    session: Session, runtime: Any, *, state: str | None, overdue: bool, now: datetime
) -> list[tuple[Incident, Postmortem | None, datetime | None]]:
    """Post-mortems (newest incident first) with their due time; with `overdue`, also required ones not yet
    drafted whose due time has passed."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"Unknown state {state!r}: expected one of {', '.join(STATES)}.", field="state")
    rows: list[tuple[Incident, Postmortem | None, datetime | None]] = []
    drafted = session.execute(
        select(Incident, Postmortem)
        .join(Postmortem, Postmortem.incident_id == Incident.id)
        .order_by(Incident.id.desc())
    ).all()
    for incident, postmortem in drafted:
        if state is None or postmortem.state == state:
            rows.append((incident, postmortem, postmortem.due_at))
    if overdue:
        missing = schedule.required_without_postmortem(session, runtime)
        rows += [(incident, None, schedule.due_at(runtime, incident)) for incident in missing if state is None]
        rows = [row for row in rows if is_overdue(row[1], row[2], now)]
        rows.sort(key=lambda row: -row[0].id)
    return rows


def export(session: Session, runtime: Any, postmortem: Postmortem, now: datetime) -> str:
    """The current version as Markdown with YAML front matter (incident, severity, dates, phases, action items)."""
    incident = incidents.get_or_404(session, postmortem.incident_id)
    events = timeline.events(session, incident.id)
    stones = durations.milestones(events)
    measures = durations.measure(stones, runtime.severities.get(incident.severity), now)
    version = version_of(session, postmortem)

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    front = {
        "incident": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "services": incident.services,
        "commander": incident.commander,
        "state": postmortem.state,
        "version": version.number,
        "dates": {
            "started": iso(stones.started),
            "detected": iso(stones.detected),
            "acknowledged": iso(stones.acknowledged),
            "mitigated": iso(stones.mitigated),
            "resolved": iso(stones.resolved),
            "due": iso(postmortem.due_at),
            "published": iso(postmortem.published_at),
        },
        "phases": {
            m.name: {"seconds": m.seconds, "target_seconds": m.target_seconds, "state": m.state}
            for m in measures
            if m.name in prefill.PHASES
        },
        "action_items": [actions.as_dict(item) for item in actions.of_incident(session, incident.id)],
    }
    text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n\n{version.body}"


def action_item_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, int]:
    """For the reports: action items opened and done in [since, until), and overdue at `until`."""
    return actions.action_item_counts(session, since=since, until=until)
