"""What goes in and out of the incidents API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IncidentCreate(_In):
    """Declare an incident."""

    title: str = Field(min_length=1, max_length=300)
    severity: str = Field(min_length=1, max_length=10, examples=["P1"])
    description: str = Field(default="", max_length=100_000)
    services: list[str] = Field(default_factory=list, max_length=50)
    impact: str = Field(default="", max_length=100_000)
    labels: dict[str, str] = Field(default_factory=dict)
    commander: str | None = Field(default=None, max_length=100)
    started_at: AwareDatetime | None = Field(default=None, description="When the problem began (may be earlier).")
    detected_at: AwareDatetime | None = None
    policy: str | None = Field(default=None, max_length=100, description="Escalation policy to page with.")
    category: str | None = Field(default=None, max_length=100, description="e.g. database, security, payment.")


class IncidentUpdate(_In):
    """Change fields; a status change may carry a message (a status update)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    severity: str | None = Field(default=None, max_length=10)
    description: str | None = Field(default=None, max_length=100_000)
    services: list[str] | None = Field(default=None, max_length=50)
    impact: str | None = Field(default=None, max_length=100_000)
    labels: dict[str, str] | None = None
    commander: str | None = Field(default=None, max_length=100)
    status: str | None = Field(default=None, max_length=20)
    message: str | None = Field(default=None, max_length=100_000)
    started_at: AwareDatetime | None = None
    detected_at: AwareDatetime | None = None


class ActionBody(_In):
    """Body of acknowledge, resolve and reopen: an optional message."""

    message: str = Field(default="", max_length=100_000)


class NoteCreate(_In):
    """A note on the timeline."""

    message: str = Field(min_length=1, max_length=100_000)


class IncidentRead(BaseModel):
    """An incident as the list shows it."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    description: str
    severity: str
    status: str
    services: list[str]
    commander: str | None
    created_by: str
    impact: str
    labels: dict[str, str]
    started_at: datetime
    detected_at: datetime
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    identified_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    last_update_at: datetime | None
    drill: bool = Field(default=False, description="A drill (`warroom drill`): a rehearsal, not a real incident.")


class TimelineEventRead(BaseModel):
    """One timeline event."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    actor: str
    actor_kind: str
    message: str
    data: dict[str, Any]


class MeasureRead(BaseModel):
    """A duration against its target."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    seconds: float | None
    target_seconds: float
    state: str
    remaining_seconds: float | None


class MilestonesRead(BaseModel):
    """The moments read off the timeline."""

    model_config = ConfigDict(from_attributes=True)

    started: datetime
    detected: datetime
    acknowledged: datetime | None
    responded: datetime | None
    identified: datetime | None
    mitigated: datetime | None
    resolved: datetime | None


class IncidentDetail(IncidentRead):
    """An incident with its whole timeline and its durations against targets."""

    milestones: MilestonesRead
    durations: list[MeasureRead]
    timeline: list[TimelineEventRead]


class IncidentPage(BaseModel):
    """A page of incidents, newest first."""

    items: list[IncidentRead]
    next_cursor: str | None
