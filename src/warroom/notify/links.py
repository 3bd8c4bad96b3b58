"""Signed one-click links: acknowledge or resolve one incident without logging in, until the link expires.

A token is `base64url(json claims) . base64url(HMAC-SHA256(secret, claims))`. The secret is made on first use
and kept in the database (`notify_secrets`), so every process of one installation signs and checks alike.
A link that acknowledged or resolved is spent (`notify_spent_links`, by the token's SHA-256): it acts once.
Calendar feed URLs carry the HMAC of a random per-feed nonce (`notify_feed_secrets`); a new nonce revokes the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.errors import Forbidden, WarroomError
from warroom.notify.models import FeedSecret, Secret, SpentLink

ACTIONS = ("acknowledge", "resolve")
FEED_KINDS = ("schedules", "users")
# Bounds of what a claim may hold: a signed token with anything else is refused (403), never a 500 from the database
# or the date functions further on. Incident numbers are PostgreSQL integers; expiries end before the year 3000.
_MAX_INCIDENT = 2**31 - 1
_MAX_EXPIRY = 32_503_680_000
_MAX_NAME = 200
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


def _is_int(value: Any, low: int, high: int) -> bool:
    # bool is an int in Python: `true` must not name incident #1.
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_name(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= _MAX_NAME)


def read_action(key: bytes, token: str, now: datetime) -> ActionLink:
    """The action a token allows; Forbidden when forged, malformed or expired."""
    claims = verify(key, token)
    if (
        claims.get("k") != "act"
        or claims.get("a") not in ACTIONS
        or not _is_int(claims.get("i"), 1, _MAX_INCIDENT)
        or not _is_int(claims.get("e"), 0, _MAX_EXPIRY)
        or not _is_name(claims.get("u"))
        or not _is_name(claims.get("n"))
    ):
        raise Forbidden("This link is not an acknowledge or resolve link.")
    expires = datetime.fromtimestamp(claims["e"], tz=UTC)
    if now >= expires:
        raise Forbidden(
            f"This link expired at {expires:%Y-%m-%d %H:%M} UTC. "
            f"Use `warroom incident {'ack' if claims['a'] == 'acknowledge' else 'resolve'} {claims['i']}` instead."
        )
    return ActionLink(claims["i"], claims["a"], claims.get("u"), claims.get("n"), expires)


class LinkSpent(WarroomError):
    """A one-click link that already acknowledged or resolved its incident."""

    status = 410
    title = "Link already used"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_unspent(session: Session, token: str) -> None:
    """LinkSpent if this link already acted."""
    row = session.get(SpentLink, _digest(token))
    if row is not None:
        raise LinkSpent(
            f"This link was already used to {row.action} incident #{row.incident_id} "
            f"at {row.spent_at:%Y-%m-%d %H:%M} UTC; a link acts once. "
            f"Use a link from a newer message, or `warroom incident "
            f"{'ack' if row.action == 'acknowledge' else 'resolve'} {row.incident_id}`."
        )


def spend(session: Session, token: str, link: ActionLink, now: datetime) -> None:
    """Mark the link used, in the transaction of what it did; LinkSpent when another request spent it first.

    The insert is the lock: on PostgreSQL a second transaction inserting the same digest waits for the first
    and then inserts nothing; on SQLite write transactions are serialised, so the second saw the row already."""
    session.execute(delete(SpentLink).where(SpentLink.expires_at < now))  # spent links that expired can go
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(SpentLink) if dialect == "postgresql" else sqlite.insert(SpentLink)
    inserted = session.execute(
        insert.values(
            digest=_digest(token), incident_id=link.incident, action=link.action, spent_at=now, expires_at=link.expires
        )
        .on_conflict_do_nothing()
        .returning(SpentLink.digest)
    ).scalar()
    if inserted is None:
        check_unspent(session, token)
        raise LinkSpent("This link was already used; a link acts once.")


def _feed_mac(key: bytes, kind: str, ident: str, nonce: str) -> str:
    return _b64(hmac.new(key, f"feed\0{kind}\0{ident}\0{nonce}".encode(), hashlib.sha256).digest())


def feed_token(session: Session, key: bytes, kind: str, ident: str, now: datetime) -> str:
    """The token of a schedule's or user's calendar feed (calendar apps cannot send a bearer token).

    It stands on a random nonce made for this feed on first use, so it cannot be worked out from the user
    or schedule id, and `rotate_feed` revokes it."""
    nonce = session.scalar(select(FeedSecret.nonce).where(FeedSecret.kind == kind, FeedSecret.ident == ident))
    if nonce is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(FeedSecret) if dialect == "postgresql" else sqlite.insert(FeedSecret)
        session.execute(
            insert.values(
                kind=kind, ident=ident, nonce=secrets.token_urlsafe(32), created_at=now
            ).on_conflict_do_nothing()
        )
        nonce = session.scalar(select(FeedSecret.nonce).where(FeedSecret.kind == kind, FeedSecret.ident == ident))
    assert nonce is not None
    return _feed_mac(key, kind, ident, nonce)


def rotate_feed(session: Session, kind: str, ident: str, now: datetime) -> None:
    """Give the feed a new random secret: every URL handed out before stops working."""
    forget_feed(session, kind, ident)
    session.add(FeedSecret(kind=kind, ident=ident, nonce=secrets.token_urlsafe(32), created_at=now))
    session.flush()


def forget_feed(session: Session, kind: str, ident: str) -> None:
    """Drop the feed's secret (its schedule or user is gone: one made again later must not reopen old URLs)."""
    session.execute(delete(FeedSecret).where(FeedSecret.kind == kind, FeedSecret.ident == ident))


def read_feed(session: Session, key: bytes, token: str, kind: str, ident: str) -> None:
    """Forbidden unless the token opens this feed now."""
    nonce = session.scalar(select(FeedSecret.nonce).where(FeedSecret.kind == kind, FeedSecret.ident == ident))
    # Compared even when the feed has no secret, so timing does not tell which feeds exist.
    expected = _feed_mac(key, kind, ident, nonce or "")
    if nonce is None or not hmac.compare_digest(expected.encode(), token.encode()):
        raise Forbidden("This feed link is not valid: it was rotated, or made for another calendar.")


def public_base(settings: Any) -> str:
    """The base URL people reach warroom at: WARROOM_PUBLIC_URL, else http://host:port."""
    configured = getattr(settings, "public_url", None)
    if configured:
        return str(configured).rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def action_url(settings: Any, token: str) -> str:
    """The link to put in a message."""
    return f"{public_base(settings)}/l/{token}"
