"""Publishing an incident on the status page and posting its public updates (each an explicit act).

An internal incident is never public by itself: `publish` gives it a public title and components, and each
later `post_update` carries text a person wrote (or a template they confirmed). Nothing of the internal
incident (title, notes, labels, people) is copied into these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor
from warroom.engine import jobs
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.incidents.severities import SeverityTable
from warroom.statuspage import components as components_service
from warroom.statuspage import status as mapping
from warroom.statuspage import templates, version
from warroom.statuspage.config import StatusPageSettings
from warroom.statuspage.models import StatusComponent, StatusIncident, StatusIncidentComponent, StatusUpdate
from warroom.statuspage.status import IMPACTS, impact_of_severity

MAX_BODY = 5000
CHANNELS = "statuspage.channels"
DRILL_LABELS = ("drill",)


def is_drill(incident: Incident) -> bool:
    """True for an exercise: the incident's `drill` flag (when incidents have one) or a `drill=true` label."""
    if bool(getattr(incident, "drill", False)):
        return True
    return any(str(incident.labels.get(name, "")).strip().lower() in ("true", "yes", "1") for name in DRILL_LABELS)


def published(session: Session, incident_id: int) -> StatusIncident | None:
    """The publication of the internal incident, if it has one."""
    return session.scalar(select(StatusIncident).where(StatusIncident.incident_id == incident_id))


def components_of(session: Session, status_incident: StatusIncident) -> list[StatusComponent]:
    """The components a published incident affects, in display order."""
    return list(
        session.scalars(
            select(StatusComponent)
            .join(StatusIncidentComponent, StatusIncidentComponent.component_id == StatusComponent.id)
            .where(StatusIncidentComponent.status_incident_id == status_incident.id)
            .order_by(StatusComponent.position, StatusComponent.id)
        )
    )


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidInput("A published incident needs a public title.", field="title")
    if len(title) > 300:
        raise InvalidInput("The public title is longer than 300 characters.", field="title")
    return title


def _clean_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidInput("A public update needs some text.", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"A public update is at most {MAX_BODY} characters.", field="body")
    return body


def shown_time(value: datetime | None, settings: StatusPageSettings) -> str:
    """A time as the page's readers see it, in the page's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(settings.time_zone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Composed:
    """One status update as it would be posted: the public text and the internal message."""

    status: str
    public_text: str
    internal_message: str
    next_update_at: datetime | None
    from_template: bool


def compose(
    session: Session,
    incident: Incident,
    *,
    status: str,
    title: str,
    component_names: Sequence[str],
    body: str | None,
    use_template: bool,
    settings: StatusPageSettings,
    severities: SeverityTable,
    now: datetime,
    actions: str | None = None,
) -> Composed:
    """The public text (the person's, else the status's template when they confirmed it) and the internal
    "INCIDENT UPDATE - [TIMESTAMP]" message, with the next update time from the severity's cadence."""
    if status not in templates.INCIDENT_STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}: expected one of {', '.join(templates.INCIDENT_STATUSES)}.", field="status"
        )
    cadence = severities.get(incident.severity).update_every
    next_update = now + cadence if cadence is not None and status != "resolved" else None
    if body is not None and body.strip():
        public_text, from_template = _clean_body(body), False
    elif use_template:
        context = {
            "title": title,
            "components": list(component_names),
            "status": status,
            "next_update": shown_time(next_update, settings),
            "starts_at": "",
            "ends_at": "",
            "page": settings.name,
        }
        public_text = _clean_body(
            templates.render(settings.public_template(status), context, field=f"templates.{status}.public")
        )
        from_template = True
    else:
        raise InvalidInput(
            "Write the public text (--public / body) or confirm the status's template (--use-template / "
            "use_template); nothing is published by itself.",
            field="body",
        )
    internal = templates.render(
        settings.internal_template(status),
        {
            "timestamp": shown_time(now, settings),
            "number": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "status": status,
            "impact": incident.impact,
            "actions": (actions or "").strip() or public_text,
            "public_text": public_text,
            "public_title": title,
            "components": list(component_names),
            "next_update": shown_time(next_update, settings),
        },
        field=f"templates.{status}.internal",
    )
    return Composed(status, public_text, internal, next_update, from_template)


def _add_update(
    session: Session, status_incident: StatusIncident, composed: Composed, actor: Actor, now: datetime
) -> StatusUpdate:
    update = StatusUpdate(
        public_id=components_service.new_public_id(),
        incident_id=status_incident.id,
        status=composed.status,
        body=composed.public_text,
        created_by=actor.name,
        created_at=now,
        display_at=now,
    )
    session.add(update)
    session.flush()
    return update


def _statuses(session: Session, affected: Sequence[StatusComponent]) -> dict[int, str]:
    """Each component's status now (from the session's state, flushed)."""
    session.flush()
    inputs = mapping.gather(session)
    return {c.id: mapping.status_of(c, inputs) for c in affected}


def component_changes(
    affected: Sequence[StatusComponent], before: dict[int, str], after: dict[int, str]
) -> list[dict[str, str]]:
    """Statuspage's `affected_components` of an update: each component's status before and after it."""
    return [
        {"code": c.public_id, "name": c.name, "old_status": before[c.id], "new_status": after[c.id]} for c in affected
    ]


def _set_public_status(status_incident: StatusIncident, status: str, now: datetime) -> None:
    status_incident.status = status
    status_incident.updated_at = now
    if status == "monitoring" and status_incident.monitoring_at is None:
        status_incident.monitoring_at = now
    if status == "resolved":
        status_incident.resolved_at = now
    else:
        status_incident.resolved_at = None


def _follow_internally(session: Session, incident: Incident, status: str, actor: Actor, now: datetime) -> None:
    """Move the internal incident to the status announced (if it is elsewhere): one act, both faces agree."""
    if incident.status != status:
        incidents.change_status(session, incident, status, actor, now)


def _post_everywhere(
    session: Session,
    incident: Incident,
    status_incident: StatusIncident,
    update: StatusUpdate,
    composed: Composed,
    *,
    kind: str,
    actor: Actor,
    now: datetime,
    extra: dict[str, Any],
) -> None:
    """The timeline event (subscribers hook it), the channels' job, the reminder clock and the page version."""
    incident.last_update_at = now
    incident.updated_at = now
    timeline.append(
        session,
        incident,
        kind=kind,
        actor=actor,
        at=now,
        message=composed.public_text,
        data={
            "update_id": update.public_id,
            "status": composed.status,
            "public": True,
            "public_id": status_incident.public_id,
            "next_update_at": composed.next_update_at.isoformat() if composed.next_update_at else None,
            **extra,
        },
    )
    jobs.schedule(
        session,
        CHANNELS,
        key=update.public_id,
        due=now,
        payload={"incident": incident.id, "update": update.public_id, "message": composed.internal_message},
        now=now,
    )
    version.bump(session, now)


def publish(
    session: Session,
    incident_number: int,
    *,
    title: str,
    component_names: Sequence[str],
    actor: Actor,
    settings: StatusPageSettings,
    severities: SeverityTable,
    now: datetime,
    body: str | None = None,
    impact: str | None = None,
) -> tuple[StatusIncident, StatusUpdate]:
    """Publish the incident with a public title and components; its first public update is `body`, else the
    investigating template (publishing is the person's explicit act, and the template knows only the public
    title and components). Appends `status_published`."""
    incident = incidents.get_for_update(session, incident_number)
    if is_drill(incident):
        raise Conflict(f"Incident #{incident.id} is a drill: drills are never published.", field="number")
    if published(session, incident.id) is not None:
        raise Conflict(
            f"Incident #{incident.id} is already published: post updates with `warroom incident update`.",
            field="number",
        )
    if not incident.is_open:
        raise Conflict(f"Incident #{incident.id} is resolved: there is nothing to tell your users now.", field="number")
    title = _clean_title(title)
    affected = components_service.resolve_many(session, component_names)
    if impact is not None and impact not in IMPACTS:
        raise InvalidInput(f"Unknown impact {impact!r}: expected one of {', '.join(IMPACTS)}.", field="impact")
    composed = compose(
        session,
        incident,
        status="investigating",
        title=title,
        component_names=[c.name for c in affected],
        body=body,
        use_template=True,
        settings=settings,
        severities=severities,
        now=now,
    )
    before = _statuses(session, affected)
    status_incident = StatusIncident(
        public_id=components_service.new_public_id(),
        incident_id=incident.id,
        title=title,
        status="investigating",
        impact=impact or impact_of_severity(severities.get(incident.severity)),
        impact_chosen=impact is not None,
        published_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(status_incident)
    session.flush()
    session.add_all(StatusIncidentComponent(status_incident_id=status_incident.id, component_id=c.id) for c in affected)
    update = _add_update(session, status_incident, composed, actor, now)
    _post_everywhere(
        session,
        incident,
        status_incident,
        update,
        composed,
        kind="status_published",
        actor=actor,
        now=now,
        extra={
            "public_title": title,
            "components": [c.name for c in affected],
            "impact": status_incident.impact,
            "component_changes": component_changes(affected, before, _statuses(session, affected)),
        },
    )
    return status_incident, update


def post_update(
    session: Session,
    incident_number: int,
    *,
    status: str,
    actor: Actor,
    settings: StatusPageSettings,
    severities: SeverityTable,
    now: datetime,
    body: str | None = None,
    use_template: bool = False,
    actions: str | None = None,
    dry_run: bool = False,
) -> tuple[Composed, StatusUpdate | None]:
    """Post one public update: to the incident's timeline (`status_update_published`, which subscribers
    hook), the page, and the incident's channels (a job). With `dry_run`, only compose it."""
    incident = (
        incidents.get_for_update(session, incident_number)
        if not dry_run
        else incidents.get_or_404(session, incident_number)
    )
    status_incident = published(session, incident.id)
    if status_incident is None:
        raise NotFound(
            f"Incident #{incident.id} is not published: publish it first (`warroom incident publish`).",
            field="number",
        )
    status = (status or status_incident.status).strip().lower()
    affected = components_of(session, status_incident)
    composed = compose(
        session,
        incident,
        status=status,
        title=status_incident.title,
        component_names=[c.name for c in affected],
        body=body,
        use_template=use_template,
        settings=settings,
        severities=severities,
        now=now,
        actions=actions,
    )
    if dry_run:
        return composed, None
    before = _statuses(session, affected)
    _follow_internally(session, incident, status, actor, now)
    _set_public_status(status_incident, status, now)
    update = _add_update(session, status_incident, composed, actor, now)
    _post_everywhere(
        session,
        incident,
        status_incident,
        update,
        composed,
        kind="status_update_published",
        actor=actor,
        now=now,
        extra={"component_changes": component_changes(affected, before, _statuses(session, affected))},
    )
    return composed, update


def on_severity_changed(session: Session, severities: SeverityTable, incident: Incident, now: datetime) -> None:
    """A published incident's impact follows its severity unless a person chose one."""
    status_incident = published(session, incident.id)
    if status_incident is None or status_incident.impact_chosen:
        return
    impact = impact_of_severity(severities.get(incident.severity))
    if impact != status_incident.impact:
        status_incident.impact = impact
        status_incident.updated_at = now
        version.bump(session, now)
