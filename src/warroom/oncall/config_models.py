"""The on-call sections of warroom.yaml (users, teams, schedules, policies; `notifications:` is notify's).

The same models are the bodies of the API, so a definition reads the same in the file, over HTTP and in
`warroom config export`. This module must not import `warroom.config` (config.py imports it).
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from warroom import configcheck
from warroom.notify.config_models import ContactConfig as ContactConfig
from warroom.notify.config_models import NotificationsConfig as NotificationsConfig
from warroom.notify.config_models import StormConfig as StormConfig
from warroom.timeparse import parse_duration

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
ID_HELP = "lowercase letters, digits, '.', '_' or '-' (start with a letter or digit), at most 100"
TARGET_KINDS = ("user", "schedule", "team", "channel")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def check_timezone(value: str) -> str:
    """`value` if it names an IANA time zone, else ValueError with an example."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as UTC or Europe/Berlin") from None
    return value


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


def parse_clock(value: str) -> time:
    """`HH:MM` as a time."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ValueError(f"invalid time of day {value!r}: use HH:MM, e.g. 09:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24:
        if minutes:
            raise ValueError(f"invalid time of day {value!r}: 24:00 is the latest")
        return time(23, 59, 59, 999999)
    return time(hours, minutes)


def parse_handoff(value: str) -> tuple[int | None, time]:
    """`09:00` or `Mon 09:00` as (weekday or None, time)."""
    parts = value.strip().split()
    if len(parts) == 1:
        return None, parse_clock(parts[0])
    if len(parts) == 2 and parts[0][:3].lower() in WEEKDAYS:
        return WEEKDAYS.index(parts[0][:3].lower()), parse_clock(parts[1])
    raise ValueError(f"invalid hand-off {value!r}: use HH:MM or a weekday and HH:MM, e.g. 'Mon 09:00'")


class RuleConfig(_Strict):
    """When to use which contacts: `after` the page, through `contacts` (labels, or all), for an urgency."""

    after: str = "0m"
    contacts: list[str] | Literal["all"] = "all"
    urgency: Literal["any", "high", "low"] = "any"

    _after = field_validator("after")(_duration)


class UserConfig(_Strict):
    """A person who can be paged."""

    id: str = Field(pattern=ID_PATTERN, description=ID_HELP)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    timezone: str = "UTC"
    contacts: list[str | ContactConfig] = []
    rules: list[RuleConfig] = []

    _tz = field_validator("timezone")(check_timezone)

    def contact_list(self) -> list[ContactConfig]:
        """Contacts with their labels filled in (the scheme, numbered when repeated)."""
        result: list[ContactConfig] = []
        seen: dict[str, int] = {}
        for item in self.contacts:
            contact = item if isinstance(item, ContactConfig) else ContactConfig(url=item)
            label = contact.label or contact.url.split("://", 1)[0].lower()
            seen[label] = seen.get(label, 0) + 1
            if contact.label is None and seen[label] > 1:
                label = f"{label}-{seen[label]}"
            result.append(ContactConfig(label=label, url=contact.url))
        return result


class TeamConfig(_Strict):
    """A team: members, a channel to post to, the escalation policy of its services."""

    id: str = Field(pattern=ID_PATTERN, description=ID_HELP)
    name: str = Field(default="", max_length=200)
    members: list[str] = []
    channel: str | None = Field(default=None, max_length=2000, description="Apprise URL of the team channel.")
    policy: str | None = Field(default=None, description="Default escalation policy of the team's services.")
    services: list[str] = Field(default=[], description="Services whose incidents page with the team's policy.")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("a channel is an Apprise URL such as slack://... or json://host/path")
        return value


class RestrictionConfig(_Strict):
    """A layer only covers these hours (in the schedule's time zone), e.g. weekdays 09:00–18:00."""

    days: list[str] = list(WEEKDAYS)
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        cleaned = []
        for day in value:
            short = day.strip().lower()[:3]
            if short not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}: use mon, tue, wed, thu, fri, sat, sun")
            cleaned.append(short)
        return cleaned

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @model_validator(mode="after")
    def _order(self) -> RestrictionConfig:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError(f"restriction starts at {self.start}, not before its end {self.end}")
        return self


class RotationConfig(_Strict):
    """Participants take turns: a shift of `shift` (1d, 1w, 12h ...) handed off at `handoff`."""

    participants: list[str] = Field(min_length=1)
    shift: str = "1w"
    handoff: str = "Mon 09:00"
    start: date = Field(default=date(2024, 1, 1), description="The first participant's first shift starts then.")

    @field_validator("shift")
    @classmethod
    def _shift(cls, value: str) -> str:
        seconds = parse_duration(value).total_seconds()
        if seconds < 3600 or seconds % 3600:
            raise ValueError(f"shift {value!r} must be a whole number of hours (at least 1h): 12h, 1d, 1w ...")
        return value

    @field_validator("handoff")
    @classmethod
    def _handoff(cls, value: str) -> str:
        parse_handoff(value)
        return value


class LayerConfig(_Strict):
    """One layer of a schedule; where several layers have someone, the higher `level` wins."""

    name: str | None = None
    level: int | None = Field(default=None, ge=1, description="Defaults to its position (1 = the base layer).")
    rotation: RotationConfig
    restrictions: list[RestrictionConfig] = []


class ScheduleConfig(_Strict):
    """Who is on call when: rotation layers, an optional iCal calendar on top, and overrides (API/CLI)."""

    id: str = Field(pattern=ID_PATTERN, description=ID_HELP)
    name: str = Field(default="", max_length=200)
    timezone: str = "UTC"
    layers: list[LayerConfig] = []
    ical: str | None = Field(
        default=None,
        description="An http(s) URL, or an .ics file (relative to warroom.yaml; over the API, one of calendar_files).",
    )

    _tz = field_validator("timezone")(check_timezone)


class WhenConfig(_Strict):
    """A level applies only to incidents of these categories and/or severities."""

    category: str | list[str] | None = None
    severity: str | list[str] | None = None

    def categories(self) -> list[str]:
        """The categories as a lowercase list (empty: any)."""
        value = self.category
        items = [value] if isinstance(value, str) else list(value or [])
        return [c.strip().lower() for c in items if c.strip()]

    def severities(self) -> list[str]:
        """The severities as an uppercase list (empty: any)."""
        value = self.severity
        items = [value] if isinstance(value, str) else list(value or [])
        return [s.strip().upper() for s in items if s.strip()]


class LevelConfig(_Strict):
    """A level: who to notify, and how long to wait for an acknowledgement before the next level."""

    notify: list[str]
    escalate_after: str = "10m"
    when: WhenConfig | None = None

    _wait = field_validator("escalate_after")(_duration)

    @field_validator("notify")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            kind, sep, ref = target.partition(":")
            if not sep or kind not in TARGET_KINDS or not ref.strip():
                raise ValueError(
                    f"invalid target {target!r}: use user:ID, schedule:ID, team:ID or channel:TEAM "
                    "(channel posts to the team's channel)"
                )
        return value


class PolicyConfig(_Strict):
    """An escalation policy: levels in order, run `repeat` more times while nobody acknowledges."""

    id: str = Field(pattern=ID_PATTERN, description=ID_HELP)
    name: str = Field(default="", max_length=200)
    repeat: int = Field(default=0, ge=0, le=20)
    levels: list[LevelConfig] = []


# This domain's cross-checks of its sections, registered beside them (config.py composes the file from these).
configcheck.register("oncall", "warroom.oncall.config_checks:check_oncall")
configcheck.register("oncall", "warroom.oncall.config_checks:review_oncall", review=True)
