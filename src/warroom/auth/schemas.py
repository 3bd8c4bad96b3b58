"""What goes in and out of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TokenCreate(BaseModel):
    """Issue a token."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: str = "responder"


class TokenRead(BaseModel):
    """A token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    """A new token with its secret, shown this once."""

    token: str


class AuditRead(BaseModel):
    """An audit-log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    remote_addr: str | None
    detail: dict[str, Any]
