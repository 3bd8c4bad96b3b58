"""HTTP routes of the auth domain: tokens and the audit log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from warroom.auth import service
from warroom.auth.schemas import AuditRead, TokenCreate, TokenCreated, TokenRead
from warroom.deps import Admin, ReadSession, RuntimeDep, Viewer, WriteSession

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/whoami")
def whoami(actor: Viewer) -> dict[str, str]:
    """The caller's token name and role."""
    return {"name": actor.name, "role": actor.role.value}


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> TokenCreated:
    """Issue a token; its secret is in this answer only."""
    now = runtime.clock.now()
    token, plaintext = service.create_token(
        session, name=body.name, role=service.parse_role(body.role), created_by=actor.name, now=now
    )
    service.record(
        session, actor, "token.create", f"token:{token.id}", now=now, detail={"name": token.name, "role": token.role}
    )
    session.commit()
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=plaintext)


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: ReadSession, _actor: Admin, include_revoked: bool = False) -> list[TokenRead]:
    """Tokens (without secrets)."""
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, include_revoked=include_revoked)]


@router.delete("/tokens/{ref}", response_model=TokenRead)
def revoke_token(ref: str, session: WriteSession, runtime: RuntimeDep, actor: Admin) -> TokenRead:
    """Revoke a token by id or name."""
    now = runtime.clock.now()
    token = service.revoke_token(session, service.get_token(session, ref), now=now)
    service.record(session, actor, "token.revoke", f"token:{token.id}", now=now, detail={"name": token.name})
    session.commit()
    return TokenRead.model_validate(token)


@router.get("/audit", response_model=list[AuditRead])
def list_audit(
    session: ReadSession,
    _actor: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditRead]:
    """The audit log, newest first."""
    return [AuditRead.model_validate(e) for e in service.list_audit(session, limit=limit, actor=actor, action=action)]
