"""The rules of the auth domain: issuing, checking and revoking tokens; recording the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.auth.actor import Actor, Role
from warroom.auth.models import ApiToken, AuditEntry
from warroom.errors import Conflict, InvalidInput, NotFound, Unauthorized

TOKEN_PREFIX = "wr_"  # noqa: S105 - a public prefix, not a secret
_LOOKUP_LEN = 12


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_role(value: str) -> Role:
    """`value` as a Role, or an error naming the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"Unknown role {value!r}: expected one of {', '.join(r.value for r in Role)}.", field="role"
        ) from None


def create_token(session: Session, *, name: str, role: Role, created_by: str, now: datetime) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the plaintext, which is never stored and shown only now."""
    name = name.strip()
    if not name:
        raise InvalidInput("A token needs a name.", field="name")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        # Revoked ones count too: the audit log names tokens, and a name must keep meaning one token.
        raise Conflict(f"A token named {name!r} already exists: choose another name, e.g. {name}-2.", field="name")
    lookup = secrets.token_hex(_LOOKUP_LEN // 2)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{TOKEN_PREFIX}{lookup}_{secret}"
    token = ApiToken(
        name=name, role=role.value, lookup=lookup, token_hash=_hash(plaintext), created_at=now, created_by=created_by
    )
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate(session: Session, plaintext: str) -> ApiToken:
    """The live token matching `plaintext`; Unauthorized for anything else (without saying which part failed)."""
    invalid = Unauthorized("Invalid or revoked API token.")
    if not plaintext.startswith(TOKEN_PREFIX):
        raise invalid
    lookup = plaintext[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + _LOOKUP_LEN]
    token = session.scalar(select(ApiToken).where(ApiToken.lookup == lookup))
    expected = token.token_hash if token is not None else _hash("absent")
    matches = hmac.compare_digest(expected, _hash(plaintext))
    if token is None or not matches or token.revoked_at is not None:
        raise invalid
    return token


def actor_for(token: ApiToken, remote_addr: str | None = None) -> Actor:
    """The Actor a token acts as."""
    return Actor(name=token.name, role=Role(token.role), kind="token", token_id=token.id, remote_addr=remote_addr)


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[ApiToken]:
    """Tokens, oldest first."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def get_token(session: Session, ref: str) -> ApiToken:
    """A token by id or by its name (names are unique)."""
    token: ApiToken | None
    if ref.isdigit():
        token = session.get(ApiToken, int(ref))
    else:
        token = session.scalar(select(ApiToken).where(ApiToken.name == ref))
    if token is None:
        raise NotFound(f"No token {ref!r}: see `warroom token list`.", field="token")
    return token


def revoke_token(session: Session, token: ApiToken, *, now: datetime) -> ApiToken:
    """Revoke `token`; it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def count_tokens(session: Session) -> int:
    """How many tokens were ever issued (0 on a fresh database)."""
    return int(session.scalar(select(func.count(ApiToken.id))) or 0)


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append to the audit log in the caller's transaction."""
    entry = AuditEntry(
        at=now,
        actor=actor.name,
        actor_kind=actor.kind,
        action=action,
        target=target,
        remote_addr=actor.remote_addr,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def list_audit(
    session: Session, *, limit: int = 100, actor: str | None = None, action: str | None = None
) -> list[AuditEntry]:
    """The newest audit entries first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
