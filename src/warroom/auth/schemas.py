"""What goes in and out of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warroom.auth.models import ApiToken, AuditEntry


class TokenCreate(BaseModel):
    """Issue a token."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: str = "responder"


class TokenRead(BaseModel):
    """A token without its secret."""

    id: int
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenRead:
        """Read an ORM token."""
        return cls(
            id=token.id,
            name=token.name,
            role=token.role,
            created_at=token.created_at,
            created_by=token.created_by,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenRead):
    """A new token with its secret, shown this once."""

    token: str


class AuditRead(BaseModel):
    """An audit-log entry."""

    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    remote_addr: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditRead:
        """Read an ORM entry."""
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            actor_kind=entry.actor_kind,
            action=entry.action,
            target=entry.target,
            remote_addr=entry.remote_addr,
            detail=entry.detail or {},
        )
