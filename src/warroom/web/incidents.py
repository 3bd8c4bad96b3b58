"""Console pages of incidents: the list (open first, filters, declare) and one incident with its actions.

Each action is a form (htmx posts it and swaps the incident back in; without JavaScript it posts and
redirects): it takes `RespondingPerson` (CSRF and role checked), calls the same service function as the API,
records the audit entry under the person's name, and commits once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Header, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from warroom.deps import PathId, QueryId, ReadSession, RuntimeDep, WriteSession
from warroom.errors import InvalidInput, Unavailable
from warroom.incidents import service, timeline
from warroom.incidents.live import LiveEvent, feed_of
from warroom.incidents.live_api import resume_point
from warroom.incidents.models import Incident
from warroom.oncall import paging
from warroom.runtime import Runtime
from warroom.web.actions import Entry, act, back
from warroom.web.errors import console_router
from warroom.web.incident_view import ListFilters, incident_list, incident_page
from warroom.web.live_parts import FACT_KINDS, LIST_KINDS, PAGING_KINDS, parts_response
from warroom.web.session import Person, RespondingPerson, Visit
from warroom.web.templating import env, render

router = console_router()

Filter = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Form(max_length=300)]
Long = Annotated[str, Form(max_length=10_000)]


@router.get("/incidents")
def list_page(
    request: Request,
    visit: Person,
    session: ReadSession,
    runtime: RuntimeDep,
    status: Filter = "",
    severity: Filter = "",
    service_name: Annotated[str, Query(alias="service", max_length=100)] = "",
    mine: Annotated[bool, Query()] = False,
) -> Response:
    """Open incidents first, filtered by status, severity, service and "mine"; the declare form beside them."""
    filters = ListFilters(status=status.strip(), severity=severity.strip(), service=service_name.strip(), mine=mine)
    latest = timeline.latest_id(session)  # first: an event committed during the read below is sent live
    found = incident_list(session, runtime.severities, filters, username=visit.username)
    return render(
        request,
        "incidents/list.html",
        {
            "nav": "incidents",
            "found": found,
            "filters": filters,
            "live_query": _live_query(filters, latest),
            "severities": list(runtime.severities),
            "statuses": ["open", "triggered", "acknowledged", "investigating", "identified", "monitoring", "resolved"],
        },
    )


def _live_query(filters: ListFilters, after: int) -> str:
    """The live list's query: the page's filters, and the newest event the page saw."""
    query: dict[str, str] = {"status": filters.status, "severity": filters.severity, "service": filters.service}
    if filters.mine:
        query["mine"] = "true"
    if after:
        query["after"] = str(after)
    return urlencode({k: v for k, v in query.items() if v})


@router.get("/incidents/live", response_model=None)
async def live_list(
    request: Request,
    visit: Person,
    runtime: RuntimeDep,
    status: Filter = "",
    severity: Filter = "",
    service_name: Annotated[str, Query(alias="service", max_length=100)] = "",
    mine: Annotated[bool, Query()] = False,
    after: QueryId = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The list's lists, rendered again with the same filters when an incident is raised, changes or is
    resolved (SSE, `event: list`; htmx swaps it in). A bad filter is refused before the stream opens."""
    filters = ListFilters(status=status.strip(), severity=severity.strip(), service=service_name.strip(), mine=mine)
    start = resume_point(last_event_id, after)
    root = str(request.scope.get("root_path", "")).rstrip("/")
    username = visit.username
    template = env.get_template("incidents/list_body.html")

    def lists() -> str:
        with runtime.db.session() as session:
            found = incident_list(session, runtime.severities, filters, username=username)
            return template.render(found=found, filters=filters, root=root)

    await run_in_threadpool(lists)  # refuses a bad filter (a 4xx page) before the stream opens
    if feed_of(runtime) is None:
        raise Unavailable("The live feed is not running in this process; retry later.")
    return parts_response(runtime, None, [("list", LIST_KINDS, lists)], after=start)


@router.post("/incidents")
def declare(
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    title: Short = "",
    severity: Annotated[str, Form(max_length=10)] = "",
    services: Short = "",
    description: Long = "",
    commander: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Declare an incident from the form; go to its page."""
    now = runtime.clock.now()

    def change() -> tuple[Entry, Incident]:
        incident = service.declare(
            session,
            title=title,
            severity=severity,
            severities=runtime.severities,
            actor=visit.actor,
            now=now,
            description=description.strip(),
            services=[s for s in (p.strip() for p in services.split(",")) if s],
            commander=commander.strip() or None,
        )
        detail = {"severity": incident.severity, "title": incident.title, "via": "console"}
        return Entry("incident.declare", f"incident:{incident.id}", detail), incident

    def show(incident: Incident) -> Response:
        return back(f"/incidents/{incident.id}", f"Declared incident #{incident.id}.")

    return act(session, visit, now, change, show)


@router.get("/incidents/{number}")
def incident_detail(
    number: PathId,
    request: Request,
    visit: Person,
    session: ReadSession,
    runtime: RuntimeDep,
    events: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """One incident: its facts, durations against targets, actions, timeline (the newest events; `?events=all`:
    every one), alerts, paging, on call now."""
    view = incident_page(session, runtime, number, all_events=events.strip() == "all")
    return render(
        request, "incidents/detail.html", {"nav": "incidents", "view": view, "severities": list(runtime.severities)}
    )


@router.get("/incidents/{number}/live", response_model=None)
async def live_timeline(
    number: PathId,
    request: Request,
    visit: Person,
    runtime: RuntimeDep,
    after: QueryId = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The incident's new timeline events as they commit, each as the page's timeline row (htmx's SSE extension
    puts them at the top of the timeline), and its facts and paging panel rendered again when an event changes
    them; a reconnecting browser resumes after its Last-Event-ID."""
    start = resume_point(last_event_id, after)
    if feed_of(runtime) is None:
        raise Unavailable("The live feed is not running in this process; retry later.")
    await run_in_threadpool(_exists, runtime, number)
    event_row = env.get_template("incidents/event.html").module.event_row  # type: ignore[attr-defined]
    root = str(request.scope.get("root_path", "")).rstrip("/")
    severities = list(runtime.severities)

    def row(event: LiveEvent) -> str:
        return str(event_row(event))

    def part(template: str) -> Callable[[], str]:
        def rendered() -> str:
            with runtime.db.session() as session:
                view = incident_page(session, runtime, number)
                return env.get_template(template).render(view=view, root=root, severities=severities)

        return rendered

    parts = [
        ("facts", FACT_KINDS, part("incidents/facts.html")),
        ("paging", PAGING_KINDS, part("incidents/paging.html")),
    ]
    return parts_response(runtime, number, parts, after=start, each=row)


def _exists(runtime: Runtime, number: int) -> None:
    with runtime.db.session() as session:
        service.get_or_404(session, number)


# What an incident action did: its audit action, the message the person sees, the audit entry's detail.
Outcome = tuple[str, str, dict[str, object] | None]


def _act(
    request: Request,
    session: Session,
    runtime: Runtime,
    visit: Visit,
    number: int,
    change: Callable[[Incident, datetime], Outcome],
) -> Response:
    """Lock the incident, make the change, audit it (`via: console`) and commit; then show the incident again
    (htmx) or redirect to it (a plain form). A refusal (404, 409, 422) reaches the console's error page."""
    now = runtime.clock.now()

    def locked() -> tuple[Entry, str]:
        incident = service.get_for_update(session, number)
        action, message, detail = change(incident, now)
        return Entry(action, f"incident:{incident.id}", {**(detail or {}), "via": "console"}), message

    def show(message: str) -> Response:
        if request.headers.get("hx-request") == "true":
            view = incident_page(session, runtime, number)
            context = {"nav": "incidents", "view": view, "done": message, "severities": list(runtime.severities)}
            return render(request, "incidents/detail.html", context)
        return back(f"/incidents/{number}", message)

    return act(session, visit, now, locked, show)


def _update(
    session: Session, runtime: Runtime, visit: Visit, incident: Incident, changes: service.Changes, now: datetime
) -> None:
    service.update(session, incident, changes, severities=runtime.severities, actor=visit.actor, now=now)


@router.post("/incidents/{number}/acknowledge")
def acknowledge(
    number: PathId, request: Request, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Acknowledge: someone is on it; escalation stops."""

    def change(incident: Incident, now: datetime) -> Outcome:
        service.acknowledge(session, incident, visit.actor, now)
        return "incident.acknowledge", "Acknowledged: escalation stopped.", None

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/update")
def status_update(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    status: Annotated[str, Form(max_length=20)] = "",
    message: Long = "",
) -> Response:
    """Post a status update (a message), moving the status on when another one is chosen."""

    def change(incident: Incident, now: datetime) -> Outcome:
        text = message.strip()
        if not text:
            raise InvalidInput("A status update needs a message.", field="message")
        target = status.strip().lower() or incident.status
        changes = service.Changes(status=target if target != incident.status else None, message=text)
        _update(session, runtime, visit, incident, changes, now)
        return "incident.update", "Status update posted.", {"status": incident.status}

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/severity")
def change_severity(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    severity: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Change the severity (its targets and update cadence follow)."""

    def change(incident: Incident, now: datetime) -> Outcome:
        _update(session, runtime, visit, incident, service.Changes(severity=severity), now)
        return "incident.update", f"Severity is {incident.severity}.", {"severity": incident.severity}

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/commander")
def change_commander(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    commander: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Name the incident commander (empty: nobody)."""

    def change(incident: Incident, now: datetime) -> Outcome:
        _update(session, runtime, visit, incident, service.Changes(commander=commander), now)
        who = incident.commander or "nobody"
        return "incident.update", f"Commander is {who}.", {"commander": who}

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/note")
def add_note(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    message: Long = "",
) -> Response:
    """Add a note to the timeline."""

    def change(incident: Incident, now: datetime) -> Outcome:
        service.add_note(session, incident, visit.actor, now, message)
        return "incident.note", "Note added.", None

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/resolve")
def resolve(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    message: Long = "",
) -> Response:
    """Resolve the incident."""

    def change(incident: Incident, now: datetime) -> Outcome:
        service.resolve(session, incident, visit.actor, now, message.strip())
        return "incident.resolve", "Resolved.", None

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/reopen")
def reopen(
    number: PathId,
    request: Request,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    message: Long = "",
) -> Response:
    """Reopen a resolved incident."""

    def change(incident: Incident, now: datetime) -> Outcome:
        service.reopen(session, incident, visit.actor, now, message.strip())
        return "incident.reopen", "Reopened.", None

    return _act(request, session, runtime, visit, number, change)


@router.post("/incidents/{number}/escalate")
def escalate(
    number: PathId, request: Request, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep
) -> Response:
    """Page the next level of the incident's policy now."""

    def change(incident: Incident, now: datetime) -> Outcome:
        level = paging.escalate(session, runtime, incident, visit.actor, now).level
        return "incident.escalate", f"Escalated: level {level} paged.", {"level": level}

    return _act(request, session, runtime, visit, number, change)
