"""The `drills:` section of warroom.yaml: drills the engine starts on a schedule (e.g. quarterly per team)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from warroom.drills.scenario import NAME_PATTERN, ScenarioIn


class ScheduledDrill(BaseModel):
    """A drill run by the engine at each occurrence of an RRULE (RFC 5545), in a time zone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    team: str | None = Field(default=None, max_length=100, description="The team the drill is for (reports).")
    schedule: str = Field(
        min_length=1,
        max_length=500,
        description='An RRULE, e.g. "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0" (quarterly).',
    )
    start: date = Field(default=date(2026, 1, 1), description="The first day the schedule counts from.")
    timezone: str = Field(default="UTC", description="The time zone the RRULE's hours are in.")
    scenario: dict[str, Any] = Field(description="The scenario (as the API takes it: alerts, no command).")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin") from None
        return value

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "break" in value:
            raise ValueError("a scheduled drill injects alerts only: the engine runs no `break` command")
        ScenarioIn.model_validate({"name": "scheduled", **value})
        return value

    @model_validator(mode="after")
    def _rule(self) -> ScheduledDrill:
        self.rule()
        return self

    def rule(self) -> rrule:
        """The schedule as a dateutil rrule (ValueError naming the problem)."""
        text = self.schedule.removeprefix("RRULE:")
        start = datetime.combine(self.start, datetime.min.time(), tzinfo=ZoneInfo(self.timezone))
        try:
            parsed = rrulestr(text, dtstart=start)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"schedule is not a valid RRULE: {exc}") from None
        if not isinstance(parsed, rrule):
            raise ValueError("schedule must be one RRULE")
        return parsed

    def next_after(self, now: datetime) -> datetime | None:
        """The next occurrence strictly after `now` (aware UTC), or None when the rule has ended."""
        found = self.rule().after(now.astimezone(ZoneInfo(self.timezone)), inc=False)
        return found.astimezone(UTC) if found is not None else None

    def scenario_in(self) -> ScenarioIn:
        """The scenario to start, named after the scheduled drill."""
        return ScenarioIn.model_validate({**self.scenario, "name": self.name})
