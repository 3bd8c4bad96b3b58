"""What the incident pages show, gathered through the domains' service functions (no SQL here): the list with
its filters, and one incident with its durations, timeline, alerts, paging and who is on call now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from warroom.alerts import queries as alert_queries
from warroom.alerts.models import Alert
from warroom.incidents import durations, service, timeline
from warroom.incidents.lifecycle import ALLOWED
from warroom.incidents.models import OPEN_STATUSES, Incident, Status, TimelineEvent
from warroom.incidents.severities import Severity, SeverityTable
from warroom.notify import service as notify_service
from warroom.notify.models import Notification
from warroom.oncall import paging
from warroom.oncall import service as oncall_service
from warroom.oncall.models import Escalation

OPEN_LIMIT = 200  # open incidents shown at once (a real list this long is a bigger problem than paging)
RESOLVED_LIMIT = 25  # recently resolved incidents under the open ones
ALERT_LIMIT = 100
EVENT_LIMIT = 200  # timeline events an incident page shows unless all are asked for (a long timeline is slow)


@dataclass(frozen=True)
class ListFilters:
    """The incident list's filters as the page got them (strings, for the form)."""

    status: str = ""
    severity: str = ""
    service: str = ""
    mine: bool = False

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(self.status or self.severity or self.service or self.mine)


@dataclass(frozen=True)
class IncidentList:
    """Open incidents first (newest first), then the latest resolved ones; one list when a status is chosen."""

    open: list[Incident]
    resolved: list[Incident]
    more_open: bool


def incident_list(session: Session, severities: SeverityTable, filters: ListFilters, *, username: str) -> IncidentList:
    """The incidents the list shows for these filters (`mine`: commanded by or paged to `username`)."""
    mine = (username, tuple(notify_service.incidents_paged_to(session, username))) if filters.mine else None
    if filters.status:
        chosen = service.parse_filters(filters.status, filters.severity, filters.service, severities)
        items, more = service.list_incidents(session, _with(chosen, mine), limit=OPEN_LIMIT)
        return IncidentList(open=items, resolved=[], more_open=more is not None)
    open_filters = service.parse_filters("open", filters.severity, filters.service, severities)
    open_items, more = service.list_incidents(session, _with(open_filters, mine), limit=OPEN_LIMIT)
    resolved_filters = service.parse_filters(Status.RESOLVED.value, filters.severity, filters.service, severities)
    resolved, _ = service.list_incidents(session, _with(resolved_filters, mine), limit=RESOLVED_LIMIT)
    return IncidentList(open=open_items, resolved=resolved, more_open=more is not None)


def _with(filters: service.Filters, mine: tuple[str, tuple[int, ...]] | None) -> service.Filters:
    return service.Filters(filters.statuses, filters.severities, filters.service, mine=mine)


@dataclass(frozen=True)
class OnCallNow:
    """Who is on call for a schedule right now (None: nobody), and until when."""

    schedule: str
    user: str | None
    until: datetime | None


@dataclass(frozen=True)
class IncidentPage:
    """Everything the incident page shows."""

    incident: Incident
    severity: Severity
    measures: list[durations.Measure]
    events: list[TimelineEvent]  # newest first (the newest EVENT_LIMIT unless all were asked for)
    event_count: int  # how many the incident has in all
    alerts: list[Alert]
    escalation: Escalation | None
    pages: list[Notification]
    on_call: list[OnCallNow]
    next_update_due: datetime | None
    next_statuses: list[str]
    update_template: str
    now: datetime

    @property
    def update_overdue(self) -> bool:
        """Whether the severity's update cadence has passed without a status update."""
        return self.next_update_due is not None and self.next_update_due <= self.now


def next_update_due(incident: Incident, severity: Severity) -> datetime | None:
    """When the next status update is due by the severity's cadence (None: resolved, or no cadence)."""
    if severity.update_every is None or incident.status == Status.RESOLVED.value:
        return None
    return (incident.last_update_at or incident.created_at) + severity.update_every


def update_template(incident: Incident, severity: Severity, now: datetime) -> str:
    """The status update's starting text: the teams' communication template (seed runbooks), with what is known."""
    every = severity.update_every
    next_line = (
        f"{(now + every).strftime('%Y-%m-%d %H:%M UTC')} (every {_minutes(every)} for {severity.name})"
        if every is not None
        else f"none required for {severity.name}"
    )
    return (
        f"Impact: {incident.impact or '[who is affected, and how]'}\n"
        "Actions: [what we are doing to fix it]\n"
        "ETA: [expected resolution time]\n"
        f"Next update: {next_line}"
    )


def _minutes(every: timedelta) -> str:
    minutes = int(every.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"


def incident_page(session: Session, runtime: Any, number: int, *, all_events: bool = False) -> IncidentPage:
    """The incident `number` with everything around it (its newest EVENT_LIMIT timeline events, or all of them);
    NotFound when there is none."""
    now: datetime = runtime.clock.now()
    incident = service.get_or_404(session, number)
    severity = runtime.severities.get(incident.severity)
    if all_events:
        events = list(reversed(timeline.events(session, incident.id)))
        count = len(events)
    else:
        events, count = timeline.newest(session, incident.id, EVENT_LIMIT)
    marks = timeline.of_kinds(session, incident.id, durations.MILESTONE_KINDS)
    measures = durations.measure(durations.milestones(marks), severity, now)
    alerts, _ = alert_queries.list_alerts(session, alert_queries.AlertFilters(incident=incident.id), limit=ALERT_LIMIT)
    current = Status(incident.status)
    next_statuses = [s.value for s in ALLOWED[current] if s is not Status.ACKNOWLEDGED]
    on_call = []
    for schedule in oncall_service.list_schedules(session):
        shift = oncall_service.on_call(session, schedule, now)
        on_call.append(OnCallNow(schedule.id, shift.user if shift else None, shift.end if shift else None))
    return IncidentPage(
        incident=incident,
        severity=severity,
        measures=measures,
        events=events,
        event_count=count,
        alerts=alerts,
        escalation=paging.get(session, incident.id),
        pages=[n for n in notify_service.for_incident(session, incident.id) if n.kind == "page"],
        on_call=on_call,
        next_update_due=next_update_due(incident, severity),
        next_statuses=[current.value, *next_statuses] if current.value in OPEN_STATUSES else next_statuses,
        update_template=update_template(incident, severity, now),
        now=now,
    )
