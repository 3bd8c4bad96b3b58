"""HTTP routes of the on-call domain (thin: parse, call the service, audit, commit)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from warroom.auth import service as audit
from warroom.auth.actor import Actor, Role
from warroom.deps import Admin, PathId, ReadSession, Responder, RuntimeDep, Viewer, WriteSession
from warroom.errors import Forbidden, InvalidInput, NotFound
from warroom.incidents import service as incidents
from warroom.notify import contacts as notify
from warroom.notify import delivery, links
from warroom.notify.api import TestResult
from warroom.notify.apprise_send import mask_url
from warroom.oncall import calendars, paging, rotation, service
from warroom.oncall.config_models import ContactConfig, PolicyConfig, ScheduleConfig, TeamConfig, UserConfig
from warroom.oncall.models import OncallUser, Policy, Schedule, Team
from warroom.oncall.schemas import (
    ContactCreate,
    ContactRead,
    EscalationRead,
    FeedRead,
    IcalImport,
    IcalImported,
    OnCallRead,
    OverrideCreate,
    OverrideRead,
    PolicyRead,
    ScheduleRead,
    ShiftRead,
    ShiftsRead,
    TeamRead,
    UserRead,
    UserShiftRead,
)
from warroom.oncall.timeinput import parse_time
from warroom.runtime import Runtime

api = APIRouter(prefix="/api/v1", tags=["on-call"])
feeds = APIRouter(tags=["on-call"])
ICS = "text/calendar; charset=utf-8"


def _audit(session: Session, runtime: Runtime, actor: Actor, action: str, target: str, detail: Any = None) -> None:
    audit.record(session, actor, action, target, now=runtime.clock.now(), detail=detail)
    session.commit()


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise InvalidInput(f"The body names {body_id!r} but the URL {path_id!r}.", field="id")


# -- users -------------------------------------------------------------------------------------------------------


def user_read(session: Session, user_id: str) -> UserRead:
    """A user with masked contacts."""
    user = service.get_user(session, user_id)
    return UserRead(
        id=user.id,
        name=user.name,
        email=user.email,
        timezone=user.timezone,
        contacts=[ContactRead(label=c.label, url=mask_url(c.url)) for c in notify.contacts_of(session, user.id)],
        rules=service.rules_of(user) if user.rules else [],
        source=user.source,
    )


@api.get("/users", response_model=list[UserRead])
def list_users(session: ReadSession, _actor: Viewer) -> list[UserRead]:
    """People who can be paged."""
    return [user_read(session, u.id) for u in service.list_users(session)]


@api.post("/users", status_code=201, response_model=UserRead)
def create_user(body: UserConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> UserRead:
    """Add a person with their contact methods (Apprise URLs) and notification rules."""
    if session.get(OncallUser, body.id) is not None:
        raise InvalidInput(f"User {body.id!r} exists already: PUT /api/v1/users/{body.id} replaces it.", field="id")
    service.put_user(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "user.create", f"user:{body.id}", {"contacts": len(body.contacts)})
    return user_read(session, body.id)


@api.get("/users/{user_id}", response_model=UserRead)
def show_user(user_id: str, session: ReadSession, _actor: Viewer) -> UserRead:
    """One person."""
    return user_read(session, user_id)


@api.put("/users/{user_id}", response_model=UserRead)
def replace_user(user_id: str, body: UserConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> UserRead:
    """Create or replace a person."""
    _same_id(user_id, body.id)
    service.put_user(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "user.update", f"user:{user_id}")
    return user_read(session, user_id)


@api.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Remove a person (refused while a team, schedule or policy names them)."""
    service.delete_user(session, user_id)
    links.forget_feed(session, "users", user_id)
    _audit(session, runtime, actor, "user.delete", f"user:{user_id}")
    return Response(status_code=204)


@api.post("/users/{user_id}/contacts", status_code=201, response_model=UserRead)
def add_contact(
    user_id: str, body: ContactCreate, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> UserRead:
    """Add a contact method to a person."""
    service.get_user(session, user_id)
    label = ContactConfig(label=body.label, url=body.url).label or body.url.split("://", 1)[0].lower()
    notify.add_contact(session, user_id, label, body.url, now=runtime.clock.now())
    _audit(session, runtime, actor, "user.contact.add", f"user:{user_id}", {"label": label})
    return user_read(session, user_id)


@api.delete("/users/{user_id}/contacts/{label}", response_model=UserRead)
def remove_contact(user_id: str, label: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> UserRead:
    """Remove one of a person's contact methods."""
    service.get_user(session, user_id)
    notify.remove_contact(session, user_id, label)
    _audit(session, runtime, actor, "user.contact.remove", f"user:{user_id}", {"label": label})
    return user_read(session, user_id)


@api.post("/users/{user_id}/test-notify", response_model=list[TestResult], tags=["notifications"])
def test_notify(user_id: str, session: ReadSession, runtime: RuntimeDep, actor: Responder) -> list[TestResult]:
    """Send a test message through each of the person's contact methods now, and say how each went."""
    service.get_user(session, user_id)
    return [
        TestResult(notification=nid, method=label, url=mask_url(url), ok=o.ok, error=o.error, elapsed_ms=o.elapsed_ms)
        for nid, label, url, o in delivery.send_tests(runtime, session, user_id, actor)
    ]


@api.get("/users/{user_id}/shifts", response_model=list[UserShiftRead])
def user_shifts(
    user_id: str,
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> list[UserShiftRead]:
    """A person's shifts on every schedule (default: the next 14 days)."""
    now = runtime.clock.now()
    begin = parse_time(start, now, field="from")
    finish = parse_time(end, begin + timedelta(days=14), field="to") if end else begin + timedelta(days=14)
    return [
        UserShiftRead(schedule=sid, **ShiftRead.of(shift).model_dump())
        for sid, shift in service.user_shifts(session, user_id, begin, finish)
    ]


# -- teams -------------------------------------------------------------------------------------------------------


@api.get("/teams", response_model=list[TeamRead])
def list_teams(session: ReadSession, _actor: Viewer) -> list[TeamRead]:
    """Teams."""
    return [TeamRead.of(t) for t in service.list_teams(session)]


@api.post("/teams", status_code=201, response_model=TeamRead)
def create_team(body: TeamConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> TeamRead:
    """Add a team."""
    if session.get(Team, body.id) is not None:
        raise InvalidInput(f"Team {body.id!r} exists already: PUT /api/v1/teams/{body.id} replaces it.", field="id")
    team = service.put_team(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "team.create", f"team:{body.id}")
    return TeamRead.of(team)


@api.get("/teams/{team_id}", response_model=TeamRead)
def show_team(team_id: str, session: ReadSession, _actor: Viewer) -> TeamRead:
    """One team."""
    return TeamRead.of(service.get_team(session, team_id))


@api.put("/teams/{team_id}", response_model=TeamRead)
def replace_team(team_id: str, body: TeamConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> TeamRead:
    """Create or replace a team."""
    _same_id(team_id, body.id)
    team = service.put_team(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "team.update", f"team:{team_id}")
    return TeamRead.of(team)


@api.delete("/teams/{team_id}", status_code=204)
def delete_team(team_id: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Remove a team."""
    service.delete_team(session, team_id)
    _audit(session, runtime, actor, "team.delete", f"team:{team_id}")
    return Response(status_code=204)


# -- schedules ---------------------------------------------------------------------------------------------------


def _fetch_ical(runtime: Runtime, source: str, field: str = "ical") -> str:
    """A calendar named over the API: an http(s) URL, or a file warroom.yaml's `calendar_files` allows."""
    base_dir = runtime.settings.config.parent if runtime.settings.config is not None else None
    allowed = calendars.calendar_allow_list(runtime.config, base_dir)
    return calendars.fetch_ical(source, base_dir, allowed_files=allowed, field=field)


@api.get("/schedules", response_model=list[ScheduleRead])
def list_schedules(session: ReadSession, actor: Viewer) -> list[ScheduleRead]:
    """Schedules."""
    admin = actor.role.level >= Role.ADMIN.level
    return [ScheduleRead.of(s, admin=admin) for s in service.list_schedules(session)]


@api.post("/schedules", status_code=201, response_model=ScheduleRead)
def create_schedule(body: ScheduleConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> ScheduleRead:
    """Add a schedule (an `ical` URL is fetched now)."""
    if session.get(Schedule, body.id) is not None:
        raise InvalidInput(f"Schedule {body.id!r} exists already: PUT replaces it.", field="id")
    text = _fetch_ical(runtime, body.ical) if body.ical else None
    schedule = service.put_schedule(session, body, now=runtime.clock.now(), ical_text=text)
    _audit(session, runtime, actor, "schedule.create", f"schedule:{body.id}")
    return ScheduleRead.of(schedule, admin=True)


@api.get("/schedules/{schedule_id}", response_model=ScheduleRead)
def show_schedule(schedule_id: str, session: ReadSession, actor: Viewer) -> ScheduleRead:
    """One schedule."""
    return ScheduleRead.of(service.get_schedule(session, schedule_id), admin=actor.role.level >= Role.ADMIN.level)


@api.put("/schedules/{schedule_id}", response_model=ScheduleRead)
def replace_schedule(
    schedule_id: str, body: ScheduleConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> ScheduleRead:
    """Create or replace a schedule."""
    _same_id(schedule_id, body.id)
    text = _fetch_ical(runtime, body.ical) if body.ical else None
    schedule = service.put_schedule(session, body, now=runtime.clock.now(), ical_text=text)
    _audit(session, runtime, actor, "schedule.update", f"schedule:{schedule_id}")
    return ScheduleRead.of(schedule, admin=True)


@api.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Remove a schedule and its overrides."""
    service.delete_schedule(session, schedule_id)
    links.forget_feed(session, "schedules", schedule_id)
    _audit(session, runtime, actor, "schedule.delete", f"schedule:{schedule_id}")
    return Response(status_code=204)


@api.put("/schedules/{schedule_id}/ical", response_model=IcalImported)
def import_ical(
    schedule_id: str, body: IcalImport, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> IcalImported:
    """Import a calendar into the schedule (its events are a layer above the rotations)."""
    schedule = service.get_schedule(session, schedule_id)
    if (body.text is None) == (body.url is None):
        raise InvalidInput("Send either `text` (the .ics content) or `url`.", field="text")
    now = runtime.clock.now()
    text = body.text if body.text is not None else _fetch_ical(runtime, body.url or "", "url")
    service.set_ical(schedule, text, now=now)
    if body.url:
        schedule.ical_source = body.url
    found = service.shifts(session, schedule, now, now + timedelta(days=30))
    _audit(session, runtime, actor, "schedule.ical", f"schedule:{schedule_id}", {"url": body.url})
    return IcalImported(
        schedule=schedule_id,
        events_next_30_days=sum(1 for s in found.shifts if s.source == "ical"),
        unknown_calendar_names=found.unknown_ical_names,
    )


@api.get("/schedules/{schedule_id}/shifts", response_model=ShiftsRead)
def schedule_shifts(
    schedule_id: str,
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    start: Annotated[str | None, Query(alias="from", description="ISO time, now, +2d ... (default now)")] = None,
    end: Annotated[str | None, Query(alias="to", description="Default: 14 days after `from`.")] = None,
) -> ShiftsRead:
    """Who is on call on the schedule between two times (times without an offset are in its time zone)."""
    schedule = service.get_schedule(session, schedule_id)
    now = runtime.clock.now()
    begin = parse_time(start, now, field="from", tz=schedule.timezone)
    finish = parse_time(end, begin, field="to", tz=schedule.timezone) if end else begin + timedelta(days=14)
    found = service.shifts(session, schedule, begin, finish)
    return ShiftsRead(
        schedule=schedule_id,
        start=begin,
        end=finish,
        shifts=[ShiftRead.of(s) for s in found.shifts],
        unknown_calendar_names=found.unknown_ical_names,
    )


@api.get("/oncall", response_model=list[OnCallRead])
def who(
    session: ReadSession,
    runtime: RuntimeDep,
    _actor: Viewer,
    schedule: str | None = None,
    at: str | None = None,
) -> list[OnCallRead]:
    """Who is on call now (or `at`), on one schedule or on each."""
    chosen = [service.get_schedule(session, schedule)] if schedule else service.list_schedules(session)
    now = runtime.clock.now()
    answers = []
    for item in chosen:
        when = parse_time(at, now, field="at", tz=item.timezone)
        shift = service.on_call(session, item, when)
        answers.append(
            OnCallRead(
                schedule=item.id,
                at=when,
                user=shift.user if shift else None,
                start=shift.start if shift else None,
                end=shift.end if shift else None,
                source=shift.source if shift else None,
            )
        )
    return answers


@api.get("/schedules/{schedule_id}/overrides", response_model=list[OverrideRead])
def list_overrides(
    schedule_id: str, session: ReadSession, runtime: RuntimeDep, _actor: Viewer, past: bool = False
) -> list[OverrideRead]:
    """Overrides of the schedule (current and future, or all with past=true)."""
    service.get_schedule(session, schedule_id)
    since = None if past else runtime.clock.now()
    return [OverrideRead.of(o) for o in service.list_overrides(session, schedule_id, start=since)]


@api.post("/schedules/{schedule_id}/overrides", status_code=201, response_model=OverrideRead)
def add_override(
    schedule_id: str, body: OverrideCreate, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> OverrideRead:
    """Someone covers the schedule for a while (a swap, a sick day)."""
    override = service.add_override(
        session,
        schedule_id,
        body.user,
        start=body.start,
        end=body.end,
        created_by=actor.name,
        now=runtime.clock.now(),
        note=body.note,
    )
    _audit(
        session,
        runtime,
        actor,
        "schedule.override.add",
        f"schedule:{schedule_id}",
        {"user": body.user, "start": body.start.isoformat(), "end": body.end.isoformat()},
    )
    return OverrideRead.of(override)


@api.delete("/schedules/{schedule_id}/overrides/{override_id}", response_model=OverrideRead)
def delete_override(
    schedule_id: str, override_id: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder
) -> OverrideRead:
    """Remove an override."""
    override = service.delete_override(session, schedule_id, override_id)
    _audit(session, runtime, actor, "schedule.override.remove", f"schedule:{schedule_id}", {"override": override_id})
    return OverrideRead.of(override)


# -- calendar feeds ----------------------------------------------------------------------------------------------


def _window(runtime: Runtime) -> tuple[Any, Any]:
    now = runtime.clock.now()
    return now - timedelta(days=7), now + timedelta(days=90)


def _schedule_ics(session: Session, runtime: Runtime, schedule_id: str) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    start, end = _window(runtime)
    found = service.shifts(session, schedule, start, end)
    body = rotation.export_ical(
        f"On call: {schedule.name or schedule.id}", found.shifts, schedule.id, runtime.clock.now()
    )
    return Response(body, media_type=ICS)


def _user_ics(session: Session, runtime: Runtime, user_id: str) -> Response:
    start, end = _window(runtime)
    pairs = service.user_shifts(session, user_id, start, end)
    shifts = [rotation.Shift(s.start, s.end, s.user, f"schedule {sid}") for sid, s in pairs]
    body = rotation.export_ical(f"On call: {user_id}", shifts, f"user-{user_id}", runtime.clock.now())
    return Response(body, media_type=ICS)


@api.get("/schedules/{schedule_id}/calendar.ics", response_class=Response)
def schedule_calendar(schedule_id: str, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> Response:
    """The schedule's shifts (a week back, 90 days ahead) as iCalendar."""
    return _schedule_ics(session, runtime, schedule_id)


@api.get("/users/{user_id}/calendar.ics", response_class=Response)
def user_calendar(user_id: str, session: ReadSession, runtime: RuntimeDep, _actor: Viewer) -> Response:
    """A person's shifts on every schedule as iCalendar."""
    return _user_ics(session, runtime, user_id)


def _feed_target(session: Session, kind: str, ident: str) -> None:
    if kind == "schedules":
        service.get_schedule(session, ident)
    elif kind == "users":
        service.get_user(session, ident)
    else:
        raise InvalidInput("Feeds exist for schedules and users.", field="kind")


def _feed_read(session: Session, runtime: Runtime, kind: str, ident: str) -> FeedRead:
    now = runtime.clock.now()
    token = links.feed_token(session, links.signing_key(session, now), kind, ident, now)
    return FeedRead(url=f"{links.public_base(runtime.settings)}/ical/{kind}/{ident}.ics?token={token}")


@api.get("/feeds/{kind}/{ident}", response_model=FeedRead)
def feed_url(kind: str, ident: str, session: WriteSession, runtime: RuntimeDep, _actor: Viewer) -> FeedRead:
    """The subscribable feed URL of a schedule or user (a random token, no bearer token needed by the app)."""
    _feed_target(session, kind, ident)
    answer = _feed_read(session, runtime, kind, ident)
    session.commit()
    return answer


@api.post("/feeds/{kind}/{ident}/rotate", response_model=FeedRead)
def rotate_feed(kind: str, ident: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> FeedRead:
    """Give the feed a new random token: the old URL stops working at once; answers the new URL."""
    _feed_target(session, kind, ident)
    links.rotate_feed(session, kind, ident, runtime.clock.now())
    answer = _feed_read(session, runtime, kind, ident)
    _audit(session, runtime, actor, "feed.rotate", f"{kind.removesuffix('s')}:{ident}")
    return answer


@feeds.get("/ical/{kind}/{ident}.ics", response_class=Response)
def feed(kind: str, ident: str, session: ReadSession, runtime: RuntimeDep, token: str = "") -> Response:
    """A calendar feed opened by its random token."""
    if kind not in links.FEED_KINDS:
        raise Forbidden("Unknown feed.")
    links.read_feed(session, links.signing_key(session, runtime.clock.now()), token, kind, ident)
    if kind == "schedules":
        return _schedule_ics(session, runtime, ident)
    return _user_ics(session, runtime, ident)


# -- policies ----------------------------------------------------------------------------------------------------


@api.get("/policies", response_model=list[PolicyRead])
def list_policies(session: ReadSession, _actor: Viewer) -> list[PolicyRead]:
    """Escalation policies."""
    return [PolicyRead.of(p) for p in service.list_policies(session)]


@api.post("/policies", status_code=201, response_model=PolicyRead)
def create_policy(body: PolicyConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> PolicyRead:
    """Add an escalation policy."""
    if session.get(Policy, body.id) is not None:
        raise InvalidInput(f"Policy {body.id!r} exists already: PUT replaces it.", field="id")
    policy = service.put_policy(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "policy.create", f"policy:{body.id}")
    return PolicyRead.of(policy)


@api.get("/policies/{policy_id}", response_model=PolicyRead)
def show_policy(policy_id: str, session: ReadSession, _actor: Viewer) -> PolicyRead:
    """One escalation policy."""
    return PolicyRead.of(service.get_policy(session, policy_id))


@api.put("/policies/{policy_id}", response_model=PolicyRead)
def replace_policy(
    policy_id: str, body: PolicyConfig, session: WriteSession, runtime: RuntimeDep, actor: Admin
) -> PolicyRead:
    """Create or replace a policy (incidents already paging keep the one they froze)."""
    _same_id(policy_id, body.id)
    policy = service.put_policy(session, body, now=runtime.clock.now())
    _audit(session, runtime, actor, "policy.update", f"policy:{policy_id}")
    return PolicyRead.of(policy)


@api.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> Response:
    """Remove a policy."""
    service.delete_policy(session, policy_id)
    _audit(session, runtime, actor, "policy.delete", f"policy:{policy_id}")
    return Response(status_code=204)


# -- paging ------------------------------------------------------------------------------------------------------


@api.post("/incidents/{number}/escalate", response_model=EscalationRead)
def escalate(number: PathId, session: WriteSession, runtime: RuntimeDep, actor: Responder) -> EscalationRead:
    """Page the next level of the incident's policy now."""
    incident = incidents.get_for_update(session, number)
    escalation = paging.escalate(session, runtime, incident, actor, runtime.clock.now())
    _audit(session, runtime, actor, "incident.escalate", f"incident:{number}", {"level": escalation.level})
    return EscalationRead.of(escalation)


@api.get("/incidents/{number}/paging", response_model=EscalationRead)
def show_paging(number: PathId, session: ReadSession, _actor: Viewer) -> EscalationRead:
    """The incident's escalation: the frozen policy, its state and the next level."""
    incidents.get_or_404(session, number)
    escalation = paging.get(session, number)
    if escalation is None:
        raise NotFound(f"Incident #{number} has not paged anyone.", field="number")
    return EscalationRead.of(escalation)


# -- configuration as code ---------------------------------------------------------------------------------------


@api.get("/config/oncall")
def export_config(session: ReadSession, _actor: Admin) -> dict[str, Any]:
    """Users, teams, schedules and policies as warroom.yaml sections (contact secrets masked)."""
    return service.export_config(session)


# One router for the app: the API under /api/v1 and the calendar feeds at the root.
router = APIRouter()
router.include_router(api)
router.include_router(feeds)
