"""Signed one-click links: acknowledge or resolve one incident without logging in, until the link expires.

A token is `base64url(json claims) . base64url(HMAC-SHA256(secret, claims))`. The secret is made on first use
and kept in the database (`notify_secrets`), so every process of one installation signs and checks alike.
Calendar feed links use the same key without an expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.errors import Forbidden
from warroom.notify.models import Secret

ACTIONS = ("acknowledge", "resolve")
_SECRET_NAME = "link-signing-key"  # noqa: S105 - the name of the secret, not the secret


def signing_key(session: Session, now: datetime) -> bytes:
    """The installation's link-signing key, created (once, even with racing processes) on first use."""
    runtime = session.info.get("runtime")
    cache: dict[str, Any] = runtime.extras if runtime is not None else {}
    if _SECRET_NAME in cache:
        return bytes(cache[_SECRET_NAME])
    value = session.scalar(select(Secret.value).where(Secret.name == _SECRET_NAME))
    if value is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(Secret) if dialect == "postgresql" else sqlite.insert(Secret)
        session.execute(
            insert.values(name=_SECRET_NAME, value=secrets.token_urlsafe(48), created_at=now).on_conflict_do_nothing()
        )
        value = session.scalar(select(Secret.value).where(Secret.name == _SECRET_NAME))
    assert value is not None
    cache[_SECRET_NAME] = value.encode()
    return value.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: dict[str, Any]) -> str:
    """A token carrying `claims`."""
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(key: bytes, token: str) -> dict[str, Any]:
    """The claims of a token this installation signed; Forbidden for anything else."""
    invalid = Forbidden("This link is not valid: it was changed or not made by this warroom.")
    payload, dot, mac = token.partition(".")
    if not dot:
        raise invalid
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        raise invalid
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        raise invalid from None
    if not isinstance(claims, dict):
        raise invalid
    return claims


@dataclass(frozen=True)
class ActionLink:
    """What an acknowledge/resolve link allows."""

    incident: int
    action: str
    user: str | None
    notification: str | None
    expires: datetime


def action_token(
    key: bytes, *, incident: int, action: str, user: str | None, notification: str | None, expires: datetime
) -> str:
    """A token that lets its holder `action` incident `incident` until `expires`."""
    if action not in ACTIONS:
        raise ValueError(action)
    return sign(
        key, {"k": "act", "i": incident, "a": action, "u": user, "n": notification, "e": int(expires.timestamp())}
    )


def read_action(key: bytes, token: str, now: datetime) -> ActionLink:
    """The action a token allows; Forbidden when forged or expired."""
    claims = verify(key, token)
    if claims.get("k") != "act" or claims.get("a") not in ACTIONS or not isinstance(claims.get("i"), int):
        raise Forbidden("This link is not an acknowledge or resolve link.")
    expires = datetime.fromtimestamp(int(claims["e"]), tz=now.tzinfo)
    if now >= expires:
        raise Forbidden(
            f"This link expired at {expires:%Y-%m-%d %H:%M} UTC. "
            f"Use `warroom incident {'ack' if claims['a'] == 'acknowledge' else 'resolve'} {claims['i']}` instead."
        )
    return ActionLink(claims["i"], claims["a"], claims.get("u"), claims.get("n"), expires)


def feed_token(key: bytes, kind: str, ident: str) -> str:
    """A token for the calendar feed of a schedule or user (calendar apps cannot send a bearer token)."""
    return sign(key, {"k": "feed", "t": kind, "id": ident})


def read_feed(key: bytes, token: str, kind: str, ident: str) -> None:
    """Forbidden unless the token opens this feed."""
    claims = verify(key, token)
    if claims.get("k") != "feed" or claims.get("t") != kind or claims.get("id") != ident:
        raise Forbidden("This feed link is for another calendar.")


def public_base(settings: Any) -> str:
    """The base URL people reach warroom at: WARROOM_PUBLIC_URL, else http://host:port."""
    configured = getattr(settings, "public_url", None)
    if configured:
        return str(configured).rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def action_url(settings: Any, token: str) -> str:
    """The link to put in a message."""
    return f"{public_base(settings)}/l/{token}"
