"""Console page of on-call: who is on call now, the next two weeks, overrides, and a test of my contact methods.

Overrides: a responder may add one for themselves only ("take a shift"); an admin for anyone. A test message
goes through the notification outbox like a page (the engine delivers it, with retries); the page shows how
each went and, while one is still pending, asks again every few seconds (htmx) until it is settled."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Role
from warroom.deps import PathId, ReadSession, RuntimeDep, WriteSession
from warroom.errors import Forbidden, InvalidInput
from warroom.notify import service as notify
from warroom.oncall import service as oncall
from warroom.web.actions import back
from warroom.web.errors import console_router
from warroom.web.forms import NoNul, schedule_time
from warroom.web.oncall_view import oncall_page
from warroom.web.people import oncall_user_of
from warroom.web.session import Person, RespondingPerson
from warroom.web.templating import render

router = console_router()

Name = Annotated[str, Form(max_length=100), NoNul]
TimeText = Annotated[str, Form(max_length=40), NoNul]
MAX_TESTS = 20  # notification ids the results fragment is asked about at once


@router.get("/oncall")
def oncall_home(request: Request, visit: Person, session: ReadSession, runtime: RuntimeDep) -> Response:
    """Schedules (on call now, the next 14 days, overrides), the override form, my contact methods."""
    view = oncall_page(session, visit.username, runtime.clock.now())
    return render(request, "oncall/page.html", {"nav": "oncall", "view": view})


@router.post("/oncall/overrides")
def add_override(
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
    schedule: Name = "",
    who: Name = "",
    starts: TimeText = "",
    ends: TimeText = "",
    note: Annotated[str, Form(max_length=300), NoNul] = "",
) -> Response:
    """Someone covers a schedule from `starts` to `ends` (the schedule's time zone unless an offset is given)."""
    who = who.strip() or visit.username
    if who != visit.username and not visit.can(Role.ADMIN.value):
        raise Forbidden("A responder may add an override for themselves only; an admin may add one for anyone.")
    if not ends.strip():
        raise InvalidInput("ends: give the override an end (e.g. 2026-03-29T18:00 or +8h).", field="ends")
    now = runtime.clock.now()
    target = oncall.get_schedule(session, schedule.strip())
    start = schedule_time(starts, now, "starts", target.timezone)
    end = schedule_time(ends, start, "ends", target.timezone)
    override = oncall.add_override(
        session, target.id, who, start=start, end=end, created_by=visit.username, now=now, note=note.strip()
    )
    audit.record(
        session,
        visit.actor,
        "schedule.override.add",
        f"schedule:{target.id}",
        now=now,
        detail={"user": who, "start": start.isoformat(), "end": end.isoformat(), "via": "console"},
    )
    session.commit()
    return back("/oncall", f"Override {override.id}: {who} covers {target.id} until {end:%Y-%m-%d %H:%M} UTC.")


@router.post("/oncall/test")
def send_test(request: Request, visit: RespondingPerson, session: WriteSession, runtime: RuntimeDep) -> Response:
    """Queue a test message to each of my contact methods; show how each goes."""
    if oncall_user_of(session, visit.username) is None:
        raise InvalidInput(
            f"No on-call user {visit.username!r}: an admin adds one with that id to give you contact methods.",
            field="user",
        )
    now = runtime.clock.now()
    queued = notify.queue_tests(session, visit.username, sent_by=visit.username, now=now)
    if not queued:
        raise InvalidInput("You have no contact method to test: add one first.", field="contacts")
    audit.record(
        session,
        visit.actor,
        "user.test_notify",
        f"user:{visit.username}",
        now=now,
        detail={"methods": len(queued), "via": "console"},
    )
    session.commit()
    ids = [n.id for n in queued]
    if request.headers.get("hx-request") == "true":
        return _results(request, session, visit.username, ids)
    query = "&".join(f"id={i}" for i in ids)
    return RedirectResponse(f"/oncall/test?{query}", status_code=303)


@router.get("/oncall/test")
def test_results(
    request: Request,
    visit: Person,
    session: ReadSession,
    ids: Annotated[list[str], Query(alias="id", max_length=MAX_TESTS)],
) -> Response:
    """How my test messages went (pending, sent, failed and why); only my own are shown."""
    return _results(request, session, visit.username, [i[:40] for i in ids])


def _results(request: Request, session: Session, username: str, ids: list[str]) -> Response:
    mine = [n for n in notify.notifications(session, ids) if n.user_id == username and n.kind == "test"]
    attempts = notify.attempts_of(session, [n.id for n in mine])
    pending = any(n.state == "pending" for n in mine)
    query = "&".join(f"id={n.id}" for n in mine)
    template = "oncall/test_results.html" if request.headers.get("hx-request") == "true" else "oncall/test_page.html"
    return render(
        request,
        template,
        {"nav": "oncall", "tests": mine, "attempts": attempts, "pending": pending, "query": query},
    )


@router.post("/oncall/schedules/{schedule_id}/overrides/{override_id}/remove")
def remove_override(
    schedule_id: Annotated[str, Path(max_length=100)],
    override_id: PathId,
    visit: RespondingPerson,
    session: WriteSession,
    runtime: RuntimeDep,
) -> Response:
    """Remove an override: a responder their own, an admin anyone's."""
    oncall.get_schedule(session, schedule_id)
    found = next((o for o in oncall.list_overrides(session, schedule_id) if o.id == override_id), None)
    if found is not None and found.user_id != visit.username and not visit.can(Role.ADMIN.value):
        raise Forbidden("A responder may remove their own overrides only; an admin may remove anyone's.")
    override = oncall.delete_override(session, schedule_id, override_id)
    audit.record(
        session,
        visit.actor,
        "schedule.override.remove",
        f"schedule:{schedule_id}",
        now=runtime.clock.now(),
        detail={"override": override_id, "user": override.user_id, "via": "console"},
    )
    session.commit()
    return back("/oncall", f"Override {override_id} ({override.user_id} on {schedule_id}) removed.")
