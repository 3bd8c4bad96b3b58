"""What goes in and out of the on-call API. Definitions use the warroom.yaml models (config_models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.oncall.config_models import LayerConfig, LevelConfig, RuleConfig
from warroom.oncall.models import Escalation, Override, Policy, Schedule, Team
from warroom.oncall.rotation import Shift


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactRead(BaseModel):
    """A contact method; the URL is masked (no passwords or tokens)."""

    label: str
    url: str


class ContactCreate(_In):
    """Add a contact method: an Apprise URL."""

    label: str | None = Field(default=None, max_length=50)
    url: str = Field(min_length=3, max_length=2000)


class UserRead(BaseModel):
    """A person who can be paged."""

    id: str
    name: str
    email: str | None
    timezone: str
    contacts: list[ContactRead]
    rules: list[RuleConfig]
    source: str


class TeamRead(BaseModel):
    """A team; the channel URL is masked."""

    id: str
    name: str
    members: list[str]
    channel: str | None
    policy: str | None
    services: list[str]
    source: str

    @classmethod
    def of(cls, team: Team) -> TeamRead:
        """From the row."""
        from warroom.notify.apprise_send import mask_url

        return cls(
            id=team.id,
            name=team.name,
            members=team.members,
            channel=mask_url(team.channel) if team.channel else None,
            policy=team.policy,
            services=team.services,
            source=team.source,
        )


def shown_calendar_source(source: str) -> str:
    """A calendar source as a non-admin may see it: the scheme and host of a URL, never its path or query
    (private calendar addresses carry their secret there), and no file path."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https", "webcal") and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        rest = "/…" if parts.path.strip("/") or parts.query else ""
        return f"{parts.scheme}://{parts.hostname}{port}{rest}"
    return "(a local file)"


class ScheduleRead(BaseModel):
    """A schedule's definition and its imported calendar."""

    id: str
    name: str
    timezone: str
    layers: list[LayerConfig]
    ical: str | None
    ical_imported_at: datetime | None
    source: str

    @classmethod
    def of(cls, schedule: Schedule, *, admin: bool = False) -> ScheduleRead:
        """From the row; below admin the calendar source shows only where it is, not its address."""
        source = schedule.ical_source
        if source and not admin:
            source = shown_calendar_source(source)
        return cls(
            id=schedule.id,
            name=schedule.name,
            timezone=schedule.timezone,
            layers=[LayerConfig.model_validate(layer) for layer in schedule.layers],
            ical=source if source else ("(uploaded)" if schedule.ical_text else None),
            ical_imported_at=schedule.ical_fetched_at if schedule.ical_text else None,
            source=schedule.source,
        )


class ShiftRead(BaseModel):
    """Someone on call from `start` to `end`, and why (layer, ical or override)."""

    user: str
    start: datetime
    end: datetime
    source: str

    @classmethod
    def of(cls, shift: Shift) -> ShiftRead:
        """From a computed shift."""
        return cls(user=shift.user, start=shift.start, end=shift.end, source=shift.source)


class ShiftsRead(BaseModel):
    """Shifts of a schedule in a window."""

    schedule: str
    start: datetime
    end: datetime
    shifts: list[ShiftRead]
    unknown_calendar_names: list[str] = Field(description="Calendar event summaries that name no known user.")


class OnCallRead(BaseModel):
    """Who is on call on a schedule at a time (user None: nobody)."""

    schedule: str
    at: datetime
    user: str | None
    start: datetime | None
    end: datetime | None
    source: str | None


class UserShiftRead(ShiftRead):
    """A user's shift on some schedule."""

    schedule: str


class OverrideCreate(_In):
    """Cover a schedule: `user` is on call from `start` to `end`."""

    user: str = Field(min_length=1, max_length=100)
    start: AwareDatetime
    end: AwareDatetime
    note: str = Field(default="", max_length=1000)


class OverrideRead(BaseModel):
    """An override."""

    id: int
    schedule: str
    user: str
    start: datetime
    end: datetime
    note: str
    created_by: str

    @classmethod
    def of(cls, override: Override) -> OverrideRead:
        """From the row."""
        return cls(
            id=override.id,
            schedule=override.schedule_id,
            user=override.user_id,
            start=override.starts_at,
            end=override.ends_at,
            note=override.note,
            created_by=override.created_by,
        )


class IcalImport(_In):
    """Import a calendar: its text, or a URL to fetch it from."""

    text: str | None = Field(default=None, max_length=900_000)
    url: str | None = Field(default=None, max_length=2000)


class IcalImported(BaseModel):
    """What an import found."""

    schedule: str
    events_next_30_days: int
    unknown_calendar_names: list[str]


class PolicyRead(BaseModel):
    """An escalation policy."""

    id: str
    name: str
    repeat: int
    levels: list[LevelConfig]
    source: str

    @classmethod
    def of(cls, policy: Policy) -> PolicyRead:
        """From the row."""
        return cls(
            id=policy.id,
            name=policy.name,
            repeat=policy.repeat,
            levels=[LevelConfig.model_validate(level) for level in policy.levels],
            source=policy.source,
        )


class EscalationRead(BaseModel):
    """An incident's paging: the frozen policy and where it is."""

    incident: int
    policy: str
    state: str
    next_level: int | None = Field(description="1-based level the next step pages; None when the policy ran out.")
    cycle: int
    generation: int
    category: str | None
    levels: list[dict[str, Any]]
    last_paged: list[str]
    started_at: datetime

    @classmethod
    def of(cls, escalation: Escalation) -> EscalationRead:
        """From the row."""
        levels = escalation.policy.get("levels", [])
        return cls(
            incident=escalation.incident_id,
            policy=escalation.policy_id,
            state=escalation.state,
            next_level=escalation.level + 1 if escalation.level < len(levels) else None,
            cycle=escalation.cycle,
            generation=escalation.generation,
            category=escalation.category,
            levels=levels,
            last_paged=escalation.last_paged,
            started_at=escalation.started_at,
        )


class FeedRead(BaseModel):
    """A calendar feed URL to subscribe to (it carries a random, revocable token; treat it as a secret)."""

    url: str
