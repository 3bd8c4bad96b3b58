"""Server-side browser sessions: starting, finding, touching and ending them, and each one's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.models import Account, BrowserSession

# A session ends after this long without a request, and in any case this long after it started.
IDLE_TIMEOUT = timedelta(hours=24)
ABSOLUTE_TIMEOUT = timedelta(days=14)
# last_seen is written at most this often: a page load is a read, not a write, most of the time.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """A session that is valid now, with its account's name and role as read at this request."""

    session_id: int
    account_id: int
    username: str
    role: str
    last_seen_at: datetime


def start(
    session: Session,
    account: Account,
    *,
    now: datetime,
    remote_addr: str | None = None,
    user_agent: str | None = None,
) -> tuple[BrowserSession, str]:
    """A new session for `account`; returns the row and the session id for the cookie (stored only hashed)."""
    secret = secrets.token_urlsafe(32)
    row = BrowserSession(
        account_id=account.id,
        id_hash=_digest(secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_TIMEOUT,
        remote_addr=(remote_addr or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    return row, secret


def find(session: Session, secret: str, *, now: datetime) -> LiveSession | None:
    """The live session for this session id: not revoked, expired or idle, its account not disabled; else None."""
    if not secret or len(secret) > 200:
        return None
    row = session.execute(
        select(BrowserSession, Account)
        .join(Account, Account.id == BrowserSession.account_id)
        .where(BrowserSession.id_hash == _digest(secret))
    ).first()
    if row is None:
        return None
    browser, account = row
    if browser.revoked_at is not None or account.disabled_at is not None:
        return None
    if browser.expires_at <= now or browser.last_seen_at + IDLE_TIMEOUT <= now:
        return None
    return LiveSession(browser.id, account.id, account.username, account.role, browser.last_seen_at)


def touch(session: Session, session_id: int, *, now: datetime) -> None:
    """Record that the session was used now (keeps it from going idle)."""
    browser = session.get(BrowserSession, session_id)
    if browser is not None and browser.revoked_at is None:
        browser.last_seen_at = now


def needs_touch(live: LiveSession, now: datetime) -> bool:
    """Whether last_seen is stale enough to be written."""
    return live.last_seen_at + TOUCH_EVERY <= now


def end(session: Session, session_id: int, *, now: datetime) -> None:
    """Revoke one session (log out)."""
    browser = session.get(BrowserSession, session_id)
    if browser is not None and browser.revoked_at is None:
        browser.revoked_at = now


def list_live(session: Session, account_id: int, *, now: datetime) -> list[BrowserSession]:
    """The account's sessions that still work, newest first."""
    rows = session.scalars(
        select(BrowserSession)
        .where(BrowserSession.account_id == account_id, BrowserSession.revoked_at.is_(None))
        .order_by(BrowserSession.id.desc())
    )
    return [r for r in rows if r.expires_at > now and r.last_seen_at + IDLE_TIMEOUT > now]


def csrf_token(secret: str) -> str:
    """The CSRF token of the session with this id: derived from it, so nothing more is stored, and unguessable
    without the (HttpOnly) cookie."""
    return hmac.new(secret.encode(), b"warroom-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, offered: str) -> bool:
    """Whether `offered` is this session's CSRF token (constant time)."""
    return bool(offered) and hmac.compare_digest(csrf_token(secret).encode(), offered.encode()[:200])
