"""Request and response bodies of the status page's management API (the public formats are the face's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ComponentStatusIn = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
IncidentStatusIn = Literal["investigating", "identified", "monitoring", "resolved"]
ImpactIn = Literal["none", "minor", "major", "critical"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ComponentCreate(_In):
    """A new component and the services it stands for."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    group: str | None = Field(default=None, min_length=1, max_length=100)
    services: list[str] = Field(default_factory=list, max_length=100)
    position: int | None = Field(default=None, ge=0, le=100_000)


class ComponentChange(_In):
    """Fields to change; unset ones are left alone (group "" removes the group)."""

    description: str | None = Field(default=None, max_length=2000)
    group: str | None = Field(default=None, max_length=100)
    services: list[str] | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=100_000)


class OverrideBody(_In):
    """Override a component's status with a reason (status null clears the override)."""

    status: ComponentStatusIn | None
    reason: str = Field(default="", max_length=1000)
    incident: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Put the act on this incident's timeline."
    )


class ComponentRead(BaseModel):
    """A component as responders see it: its status now, and why."""

    id: str
    name: str
    description: str
    group: str | None
    position: int
    services: list[str]
    source: str
    status: str
    override_status: str | None
    override_reason: str
    override_by: str | None
    override_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PublishBody(_In):
    """Publish an incident: a public title, the affected components, optionally the first public text."""

    title: str = Field(min_length=1, max_length=300)
    components: list[str] = Field(default_factory=list, max_length=100)
    body: str | None = Field(default=None, max_length=5000)
    impact: ImpactIn | None = None


class PublicUpdateBody(_In):
    """A public status update: the text, or the status's template when the person confirms it."""

    status: IncidentStatusIn | None = None
    body: str | None = Field(default=None, max_length=5000)
    use_template: bool = False
    actions: str | None = Field(default=None, max_length=5000, description="What is being done (internal message).")
    dry_run: bool = False


class UpdateRead(BaseModel):
    """One public update."""

    id: str
    status: str
    body: str
    created_by: str
    created_at: datetime


class PublicationRead(BaseModel):
    """An incident's publication: its public face and every public update (newest first)."""

    id: str
    incident: int
    title: str
    status: str
    impact: str
    components: list[str]
    published_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: list[UpdateRead]


class PostedUpdate(BaseModel):
    """What an update posted (or, with dry_run, would post): the public text and the internal message."""

    posted: bool
    update_id: str | None
    status: str
    public_text: str
    internal_message: str
    next_update_at: datetime | None
    from_template: bool


class MaintenanceCreate(_In):
    """Announce maintenance over components between two times."""

    title: str = Field(min_length=1, max_length=300)
    components: list[str] = Field(min_length=1, max_length=100)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    body: str | None = Field(default=None, max_length=5000)


class AnnouncedRead(BaseModel):
    """Announced maintenance with its alert windows (one per service)."""

    id: str
    title: str
    status: str
    starts_at: datetime
    ends_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    components: list[str]
    windows: list[int]
    updates: list[UpdateRead]
    created_by: str
    created_at: datetime
