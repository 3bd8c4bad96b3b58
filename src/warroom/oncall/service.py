"""The rules of the on-call domain: people, teams, schedules, overrides, policies, and who is on call.

Functions take a session and never commit. Definitions are stored as their warroom.yaml models
(`config_models`), so the file, the API and `warroom config export` say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.notify import contacts as notify
from warroom.notify.apprise_send import mask_url
from warroom.oncall import calendars, rotation
from warroom.oncall.config_models import (
    LayerConfig,
    LevelConfig,
    PolicyConfig,
    RuleConfig,
    ScheduleConfig,
    TeamConfig,
    UserConfig,
)
from warroom.oncall.models import OncallUser, Override, Policy, Schedule, Team

log = structlog.get_logger("warroom.oncall")

MAX_WINDOW = timedelta(days=400)


# -- users -------------------------------------------------------------------------------------------------------


def get_user(session: Session, user_id: str) -> OncallUser:
    """The user, or NotFound naming how to list them."""
    user = session.get(OncallUser, user_id)
    if user is None:
        raise NotFound(f"No user {user_id!r}: see `warroom user list`.", field="user")
    return user


def list_users(session: Session) -> list[OncallUser]:
    """Every user, by id."""
    return list(session.scalars(select(OncallUser).order_by(OncallUser.id)))


def put_user(session: Session, spec: UserConfig, *, now: datetime, source: str = "api") -> OncallUser:
    """Create or replace the user `spec.id` with its contacts and rules."""
    _check_rules(spec)
    user = session.get(OncallUser, spec.id)
    if user is None:
        user = OncallUser(id=spec.id, created_at=now)
        session.add(user)
    user.name = spec.name
    user.email = spec.email
    user.timezone = spec.timezone
    user.rules = [r.model_dump() for r in spec.rules]
    user.source = source
    user.updated_at = now
    session.flush()
    notify.set_contacts(session, spec.id, spec.contact_list(), now=now)
    return user


def _check_rules(spec: UserConfig) -> None:
    labels = {c.label or "" for c in spec.contact_list()}
    for index, rule in enumerate(spec.rules):
        if rule.contacts == "all":
            continue
        for label in rule.contacts:
            if label not in labels:
                raise InvalidInput(
                    f"Rule {index + 1} of user {spec.id!r} names contact {label!r}, which the user does not have "
                    f"(contacts: {', '.join(sorted(labels)) or 'none'}).",
                    field=f"rules.{index}.contacts",
                )


def user_spec(session: Session, user: OncallUser, *, reveal: bool = False) -> UserConfig:
    """The user as its warroom.yaml entry (contact URLs masked unless `reveal`)."""
    contacts = [
        {"label": c.label, "url": c.url if reveal else mask_url(c.url)} for c in notify.contacts_of(session, user.id)
    ]
    return UserConfig.model_validate(
        {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "timezone": user.timezone,
            "contacts": contacts,
            "rules": user.rules,
        }
    )


def delete_user(session: Session, user_id: str) -> None:
    """Remove a user; refused while a team, schedule or policy still names them."""
    user = get_user(session, user_id)
    used = references_to_user(session, user_id)
    if used:
        raise Conflict(f"User {user_id!r} is still named by {', '.join(used)}: remove them there first.", field="user")
    session.delete(user)


def references_to_user(session: Session, user_id: str) -> list[str]:
    """Where a user is named (teams, schedule rotations, policy levels)."""
    used = [f"team {t.id}" for t in list_teams(session) if user_id in t.members]
    for schedule in list_schedules(session):
        if any(user_id in LayerConfig.model_validate(layer).rotation.participants for layer in schedule.layers):
            used.append(f"schedule {schedule.id}")
    for policy in list_policies(session):
        if any(f"user:{user_id}" in level.get("notify", []) for level in policy.levels):
            used.append(f"policy {policy.id}")
    return used


def resolver(session: Session) -> Any:
    """A function naming the user an iCal event summary means (id, name or email, any case), or None."""
    index: dict[str, str] = {}
    for user in list_users(session):
        for key in (user.id, user.name, user.email):
            if key:
                index.setdefault(key.strip().lower(), user.id)

    def resolve(summary: str) -> str | None:
        return index.get(summary.strip().lower())

    return resolve


def rules_of(user: OncallUser) -> list[RuleConfig]:
    """The user's notification rules; none configured means every contact at once."""
    rules = [RuleConfig.model_validate(r) for r in user.rules or []]
    return rules or [RuleConfig()]


# -- teams -------------------------------------------------------------------------------------------------------


def get_team(session: Session, team_id: str) -> Team:
    """The team, or NotFound."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"No team {team_id!r}: see `warroom team list`.", field="team")
    return team


def list_teams(session: Session) -> list[Team]:
    """Every team, by id."""
    return list(session.scalars(select(Team).order_by(Team.id)))


def put_team(session: Session, spec: TeamConfig, *, now: datetime, source: str = "api") -> Team:
    """Create or replace a team; members must exist, and so must its policy."""
    for member in spec.members:
        get_user(session, member)
    if spec.policy is not None:
        get_policy(session, spec.policy)
    team = session.get(Team, spec.id)
    if team is None:
        team = Team(id=spec.id, created_at=now)
        session.add(team)
    team.name, team.members, team.channel = spec.name, list(dict.fromkeys(spec.members)), spec.channel
    team.policy, team.services, team.source, team.updated_at = spec.policy, list(spec.services), source, now
    session.flush()
    return team


def team_spec(team: Team, *, reveal: bool = False) -> TeamConfig:
    """The team as its warroom.yaml entry (channel URL masked unless `reveal`)."""
    channel = team.channel if reveal or team.channel is None else mask_url(team.channel)
    return TeamConfig(
        id=team.id, name=team.name, members=team.members, channel=channel, policy=team.policy, services=team.services
    )


def delete_team(session: Session, team_id: str) -> None:
    """Remove a team; refused while a policy names it."""
    team = get_team(session, team_id)
    used = [
        p.id
        for p in list_policies(session)
        if any(t in (f"team:{team_id}", f"channel:{team_id}") for level in p.levels for t in level.get("notify", []))
    ]
    if used:
        raise Conflict(f"Team {team_id!r} is named by policy {', '.join(used)}: change it first.", field="team")
    session.delete(team)


# -- schedules ---------------------------------------------------------------------------------------------------


def get_schedule(session: Session, schedule_id: str) -> Schedule:
    """The schedule, or NotFound."""
    schedule = session.get(Schedule, schedule_id)
    if schedule is None:
        raise NotFound(f"No schedule {schedule_id!r}: see `warroom oncall schedules`.", field="schedule")
    return schedule


def list_schedules(session: Session) -> list[Schedule]:
    """Every schedule, by id."""
    return list(session.scalars(select(Schedule).order_by(Schedule.id)))


def check_layers(layers: Sequence[LayerConfig]) -> list[tuple[int, str]]:
    """Problems in a schedule's layers as (layer index, message): shared levels, overlapping restrictions."""
    problems: list[tuple[int, str]] = []
    levels: dict[int, int] = {}
    for index, layer in enumerate(layers):
        level = layer.level or index + 1
        if level in levels:
            problems.append(
                (index, f"layer {index + 1} has level {level} like layer {levels[level] + 1}: they would overlap")
            )
        levels[level] = index
        windows: list[tuple[str, str, str]] = []
        for rule in layer.restrictions:
            for day in rule.days:
                for other_day, start, end in windows:
                    if other_day == day and rule.start < end and start < rule.end:
                        problems.append(
                            (index, f"restrictions overlap on {day} ({start}-{end}, {rule.start}-{rule.end})")
                        )
                windows.append((day, rule.start, rule.end))
    return problems


def put_schedule(
    session: Session,
    spec: ScheduleConfig,
    *,
    now: datetime,
    source: str = "api",
    ical_text: str | None = None,
) -> Schedule:
    """Create or replace a schedule. Participants must exist; `ical_text` replaces the imported calendar."""
    for index, layer in enumerate(spec.layers):
        for participant in layer.rotation.participants:
            if session.get(OncallUser, participant) is None:
                raise InvalidInput(
                    f"Layer {index + 1} of schedule {spec.id!r} names unknown user {participant!r}.",
                    field=f"layers.{index}.rotation.participants",
                )
    for index, message in check_layers(spec.layers):
        raise InvalidInput(f"Schedule {spec.id!r}: {message}.", field=f"layers.{index}")
    schedule = session.get(Schedule, spec.id)
    if schedule is None:
        schedule = Schedule(id=spec.id, created_at=now)
        session.add(schedule)
    schedule.name, schedule.timezone = spec.name, spec.timezone
    schedule.layers = [layer.model_dump(mode="json") for layer in spec.layers]
    schedule.ical_source = spec.ical
    if ical_text is not None:
        set_ical(schedule, ical_text, now=now)
    schedule.source, schedule.updated_at = source, now
    session.flush()
    return schedule


def set_ical(schedule: Schedule, text: str, *, now: datetime) -> None:
    """Replace the schedule's imported calendar (InvalidInput when it is not one)."""
    try:
        rotation.parse_ical(text)
    except ValueError as exc:
        raise InvalidInput(f"Schedule {schedule.id!r}: {exc}.", field="ical") from None
    schedule.ical_text = text
    schedule.ical_fetched_at = now
    schedule.updated_at = now


def schedule_spec(schedule: Schedule) -> ScheduleConfig:
    """The schedule as its warroom.yaml entry."""
    return ScheduleConfig(
        id=schedule.id,
        name=schedule.name,
        timezone=schedule.timezone,
        layers=[LayerConfig.model_validate(layer) for layer in schedule.layers],
        ical=schedule.ical_source,
    )


def delete_schedule(session: Session, schedule_id: str) -> None:
    """Remove a schedule (and its overrides); refused while a policy names it."""
    schedule = get_schedule(session, schedule_id)
    used = [
        p.id
        for p in list_policies(session)
        if any(f"schedule:{schedule_id}" in lv.get("notify", []) for lv in p.levels)
    ]
    if used:
        raise Conflict(
            f"Schedule {schedule_id!r} is named by policy {', '.join(used)}: change it first.", field="schedule"
        )
    session.delete(schedule)


def add_override(
    session: Session,
    schedule_id: str,
    user_id: str,
    *,
    start: datetime,
    end: datetime,
    created_by: str,
    now: datetime,
    note: str = "",
) -> Override:
    """`user_id` covers the schedule from `start` to `end`, above every layer."""
    get_schedule(session, schedule_id)
    get_user(session, user_id)
    if end <= start:
        raise InvalidInput("An override ends after it starts.", field="end")
    if end - start > MAX_WINDOW:
        raise InvalidInput("An override lasts at most 400 days.", field="end")
    override = Override(
        schedule_id=schedule_id,
        user_id=user_id,
        starts_at=start,
        ends_at=end,
        note=note,
        created_by=created_by,
        created_at=now,
    )
    session.add(override)
    session.flush()
    return override


def list_overrides(
    session: Session, schedule_id: str, *, start: datetime | None = None, end: datetime | None = None
) -> list[Override]:
    """Overrides of a schedule that overlap [start, end), oldest first."""
    query = select(Override).where(Override.schedule_id == schedule_id)
    if start is not None:
        query = query.where(Override.ends_at > start)
    if end is not None:
        query = query.where(Override.starts_at < end)
    return list(session.scalars(query.order_by(Override.starts_at, Override.id)))


def delete_override(session: Session, schedule_id: str, override_id: int) -> Override:
    """Remove an override."""
    override = session.get(Override, override_id)
    if override is None or override.schedule_id != schedule_id:
        raise NotFound(f"No override {override_id} on schedule {schedule_id!r}.", field="override")
    session.delete(override)
    return override


@dataclass(frozen=True)
class ShiftsResult:
    """The final shifts of a schedule in a window, and calendar events that named nobody we know."""

    shifts: list[rotation.Shift]
    unknown_ical_names: list[str]


def shifts(session: Session, schedule: Schedule, start: datetime, end: datetime) -> ShiftsResult:
    """Who is on call on `schedule` from `start` to `end`: layers, then the calendar, then overrides."""
    if end <= start:
        raise InvalidInput("The window ends after it starts.", field="to")
    if end - start > MAX_WINDOW:
        raise InvalidInput("Ask for at most 400 days of shifts at a time.", field="to")
    tz = ZoneInfo(schedule.timezone)
    layers = [LayerConfig.model_validate(layer) for layer in schedule.layers]
    ordered = sorted(enumerate(layers), key=lambda pair: pair[1].level or pair[0] + 1)
    sources = [rotation.layer_shifts(layer, index, tz, start, end) for index, layer in ordered]
    unknown: list[str] = []
    if schedule.ical_text:
        events, unknown = rotation.ical_shifts(schedule.ical_text, tz, start, end, resolver(session))
        sources.append(events)
    sources.append(
        [
            rotation.Shift(o.starts_at, o.ends_at, o.user_id, "override")
            for o in list_overrides(session, schedule.id, start=start, end=end)
        ]
    )
    return ShiftsResult(rotation.combine(sources, start, end), unknown)


def on_call(session: Session, schedule: Schedule, at: datetime) -> rotation.Shift | None:
    """The shift covering `at` (as long as it lasts within five weeks either side), or None: nobody."""
    window = timedelta(days=35)
    found = shifts(session, schedule, at - window, at + window).shifts
    return next((s for s in found if s.start <= at < s.end), None)


def user_shifts(session: Session, user_id: str, start: datetime, end: datetime) -> list[tuple[str, rotation.Shift]]:
    """The user's shifts on every schedule in [start, end), as (schedule id, shift)."""
    get_user(session, user_id)
    result = []
    for schedule in list_schedules(session):
        for shift in shifts(session, schedule, start, end).shifts:
            if shift.user == user_id:
                result.append((schedule.id, shift))
    return sorted(result, key=lambda pair: pair[1].start)


# -- policies ----------------------------------------------------------------------------------------------------


def get_policy(session: Session, policy_id: str) -> Policy:
    """The policy, or NotFound naming the known ones."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        known = ", ".join(p.id for p in list_policies(session)) or "none defined"
        raise InvalidInput(f"Unknown escalation policy {policy_id!r} (known: {known}).", field="policy")
    return policy


def list_policies(session: Session) -> list[Policy]:
    """Every policy, by id."""
    return list(session.scalars(select(Policy).order_by(Policy.id)))


def check_targets(session: Session, levels: Sequence[LevelConfig]) -> None:
    """InvalidInput naming the first level target that refers to nothing, or a level with no target."""
    for index, level in enumerate(levels):
        if not level.notify:
            raise InvalidInput(
                f"Level {index + 1} has no target: name a user, schedule, team or channel.",
                field=f"levels.{index}.notify",
            )
        for target in level.notify:
            kind, _, ref = target.partition(":")
            table: Any = {"user": OncallUser, "schedule": Schedule, "team": Team, "channel": Team}[kind]
            row = session.get(table, ref)
            if row is None:
                raise InvalidInput(f"Level {index + 1} names unknown {kind} {ref!r}.", field=f"levels.{index}.notify")
            if kind == "channel" and not row.channel:
                raise InvalidInput(f"Level {index + 1}: team {ref!r} has no channel.", field=f"levels.{index}.notify")


def put_policy(session: Session, spec: PolicyConfig, *, now: datetime, source: str = "api") -> Policy:
    """Create or replace an escalation policy (incidents already paging keep the policy they froze)."""
    if not spec.levels:
        raise InvalidInput(f"Policy {spec.id!r} has no levels.", field="levels")
    check_targets(session, spec.levels)
    policy = session.get(Policy, spec.id)
    if policy is None:
        policy = Policy(id=spec.id, created_at=now)
        session.add(policy)
    policy.name, policy.repeat = spec.name, spec.repeat
    policy.levels = [level.model_dump(mode="json", exclude_none=True) for level in spec.levels]
    policy.source, policy.updated_at = source, now
    session.flush()
    return policy


def policy_spec(policy: Policy) -> PolicyConfig:
    """The policy as its warroom.yaml entry."""
    return PolicyConfig(
        id=policy.id,
        name=policy.name,
        repeat=policy.repeat,
        levels=[LevelConfig.model_validate(level) for level in policy.levels],
    )


def delete_policy(session: Session, policy_id: str) -> None:
    """Remove a policy; refused while a team uses it as default."""
    policy = get_policy(session, policy_id)
    used = [t.id for t in list_teams(session) if t.policy == policy_id]
    if used:
        raise Conflict(
            f"Policy {policy_id!r} is the default of team {', '.join(used)}: change it first.", field="policy"
        )
    session.delete(policy)


def policy_for_incident(session: Session, requested: str | None, services: Sequence[str]) -> Policy | None:
    """The policy an incident pages with: the one asked for, else its services' team's, else `default`."""
    if requested:
        return get_policy(session, requested)
    if services:
        for team in list_teams(session):
            if team.policy and any(s in team.services for s in services):
                policy = session.get(Policy, team.policy)
                if policy is not None:
                    return policy
    return session.get(Policy, "default")


# -- configuration as code ---------------------------------------------------------------------------------------


def sync_config(session: Session, config: Any, *, now: datetime, base_dir: Path | None = None) -> dict[str, int]:
    """Make the database hold what warroom.yaml declares (idempotent).

    Entries from the file are marked `config`; entries the file no longer has are removed if they came
    from it, while those created over the API stay. Returns how many entries of each kind were synced.
    """
    counts: dict[str, int] = {}
    users: list[UserConfig] = list(config.users)
    teams: list[TeamConfig] = list(config.teams)
    schedules: list[ScheduleConfig] = list(config.schedules)
    policies: list[PolicyConfig] = list(config.policies)
    # Teams name policies and policies name teams: create teams without their policy first.
    for user_def in users:
        put_user(session, user_def, now=now, source="config")
    for team_def in teams:
        put_team(session, team_def.model_copy(update={"policy": None}), now=now, source="config")
    for schedule_def in schedules:
        text: str | None = None
        existing = session.get(Schedule, schedule_def.id)
        if schedule_def.ical:
            try:
                text = calendars.fetch_ical(schedule_def.ical, base_dir)
            except InvalidInput as exc:
                # Keep the last good copy: a calendar host that is down must not empty the schedule.
                log.warning("calendar import failed; keeping the last copy", schedule=schedule_def.id, error=exc.detail)
        elif existing is not None and existing.source == "config":
            existing.ical_text = None
        put_schedule(session, schedule_def, now=now, source="config", ical_text=text)
    for policy_def in policies:
        put_policy(session, policy_def, now=now, source="config")
    for team_def in teams:
        if team_def.policy:
            put_team(session, team_def, now=now, source="config")
    for model, declared in (
        (Policy, {p.id for p in policies}),
        (Schedule, {s.id for s in schedules}),
        (Team, {t.id for t in teams}),
        (OncallUser, {u.id for u in users}),
    ):
        session.execute(
            delete(model)
            .where(model.source == "config", model.id.not_in(declared))
            .execution_options(synchronize_session=False)
        )
    counts.update(users=len(users), teams=len(teams), schedules=len(schedules), policies=len(policies))
    return counts


def export_config(session: Session) -> dict[str, Any]:
    """Users, teams, schedules and policies as warroom.yaml sections, whether from the file or the API."""
    return {
        "users": [
            user_spec(session, u).model_dump(mode="json", exclude_defaults=True) | {"id": u.id}
            for u in list_users(session)
        ],
        "teams": [
            team_spec(t).model_dump(mode="json", exclude_defaults=True) | {"id": t.id} for t in list_teams(session)
        ],
        "schedules": [
            schedule_spec(s).model_dump(mode="json", exclude_defaults=True) | {"id": s.id}
            for s in list_schedules(session)
        ],
        "policies": [
            policy_spec(p).model_dump(mode="json", exclude_defaults=True) | {"id": p.id} for p in list_policies(session)
        ],
    }
