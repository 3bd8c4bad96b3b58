"""Request and response bodies of the postmortems API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from warroom.postmortems.service import MAX_BODY

DB_INT_MAX = 2**31 - 1


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PostmortemEdit(BaseModel):
    """A new text for a post-mortem, and the version it was edited from (a stale one is a 409)."""

    model_config = ConfigDict(extra="forbid")  # no stripping: the body is Markdown, kept as written

    body: str = Field(min_length=1, max_length=MAX_BODY)
    version: int = Field(ge=1, le=DB_INT_MAX, description="The version this edit was made on.")
    summary: str = Field(default="", max_length=300, description="What changed, in a line.")


class StateChange(_In):
    """Move a post-mortem to another state."""

    state: str = Field(min_length=1, max_length=20, examples=["in_review"], description="draft, in_review, published")


class ActionItemRead(BaseModel):
    """An action item."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    incident: int = Field(validation_alias="incident_id")
    text: str
    owner: str | None
    due: date | None = Field(validation_alias="due_on")
    status: str
    ticket_url: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    overdue: bool = False


class ActionItemCreate(_In):
    """A new action item for an incident."""

    incident: int = Field(ge=1, le=DB_INT_MAX)
    text: str = Field(min_length=1, max_length=500)
    owner: str | None = Field(default=None, max_length=100, description="An on-call user's id, name or email.")
    due: date | None = None
    ticket_url: str | None = Field(default=None, max_length=2000, description="http(s) link to the ticket.")


class ActionItemUpdate(_In):
    """Fields of an action item to change (absent ones stay)."""

    text: str | None = Field(default=None, min_length=1, max_length=500)
    owner: str | None = Field(default=None, max_length=100)
    due: date | None = None
    status: str | None = Field(default=None, max_length=20, description="open, done or wont_do")
    ticket_url: str | None = Field(default=None, max_length=2000)


class VersionRead(BaseModel):
    """One saved version (who, when, why); `body` only when one version is asked for."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    author: str
    summary: str
    created_at: datetime
    body: str | None = None


class PostmortemSummary(BaseModel):
    """A post-mortem in a list."""

    incident: int
    title: str
    severity: str
    state: str | None  # None: required, not drafted yet
    version: int | None
    required: bool
    due_at: datetime | None
    overdue: bool


class PostmortemRead(PostmortemSummary):
    """A post-mortem with its current text and action items."""

    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    body: str
    action_items: list[ActionItemRead]


class DiffRead(BaseModel):
    """A unified diff between two versions."""

    from_version: int
    to_version: int
    diff: str
