"""Console accounts: creating and inviting them, passwords (argon2id), disabling, and rate-limited password login."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from warroom.auth.actor import Actor, Role
from warroom.auth.models import Account, BrowserSession, LoginAttempt
from warroom.errors import Conflict, InvalidInput, NotFound, Unauthorized, WarroomError

# argon2id with the library's defaults (RFC 9106's second recommended set: 64 MiB, 3 passes, 4 lanes).
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a wrong password.
_ABSENT_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost us time
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
INVITE_TTL = timedelta(days=3)

# Failed logins counted over this window; past either limit, logins are refused (even a right password).
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class TooManyAttempts(WarroomError):
    """Too many failed logins for this account or from this address; try again later."""

    status = 429
    title = "Too many login attempts"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_username(username: str) -> str:
    """`username` trimmed, or InvalidInput naming what a username may hold."""
    name = username.strip()
    if not USERNAME.match(name):
        raise InvalidInput(
            "A username is 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit.",
            field="username",
        )
    return name


def check_password(password: str) -> str:
    """`password` if long enough (and not absurdly long), else InvalidInput saying the rule."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"A password has at most {MAX_PASSWORD} characters.", field="password")
    return password


def get(session: Session, username: str) -> Account | None:
    """The account with this username, or None."""
    return session.scalar(select(Account).where(Account.username == username.strip()))


def require(session: Session, username: str) -> Account:
    """The account with this username, or NotFound naming the command that lists them."""
    account = get(session, username)
    if account is None:
        raise NotFound(f"No account {username!r}: see `warroom user accounts`.", field="username")
    return account


def list_accounts(session: Session) -> list[Account]:
    """Every account, oldest first."""
    return list(session.scalars(select(Account).order_by(Account.id)))


def count(session: Session) -> int:
    """How many accounts exist (0 on a fresh database)."""
    return int(session.scalar(select(func.count(Account.id))) or 0)


def create(
    session: Session, *, username: str, role: Role, created_by: str, now: datetime, password: str | None = None
) -> Account:
    """A new account; without a password it can log in only after an invite is used (or through OIDC)."""
    name = check_username(username)
    if get(session, name) is not None:
        raise Conflict(f"An account named {name!r} already exists.", field="username")
    account = Account(username=name, role=role.value, created_at=now, created_by=created_by)
    if password is not None:
        account.password_hash = _hasher.hash(check_password(password))
    session.add(account)
    session.flush()
    return account


def set_password(session: Session, account: Account, password: str, *, now: datetime) -> Account:
    """Replace the account's password; every session it had ends (a changed password locks out a thief)."""
    account.password_hash = _hasher.hash(check_password(password))
    account.invite_hash = None
    account.invite_expires_at = None
    revoke_sessions(session, account, now=now)
    return account


def set_role(account: Account, role: Role) -> Account:
    """Change the account's role; it applies from its next request."""
    account.role = role.value
    return account


def invite(session: Session, account: Account, *, now: datetime, ttl: timedelta = INVITE_TTL) -> str:
    """A one-time secret for the set-password page, valid for `ttl`; only its hash is kept, a new one replaces it."""
    secret = secrets.token_urlsafe(32)
    account.invite_hash = _digest(secret)
    account.invite_expires_at = now + ttl
    session.flush()
    return secret


def account_for_invite(session: Session, secret: str, *, now: datetime) -> Account:
    """The account a live invite belongs to; Unauthorized (without saying why) for a used, expired or forged one."""
    refused = Unauthorized("This set-password link is used, expired or wrong: ask an admin for a new one.")
    if not secret or len(secret) > 200:
        raise refused
    account = session.scalar(select(Account).where(Account.invite_hash == _digest(secret)))
    if account is None or account.invite_expires_at is None or account.invite_expires_at <= now:
        raise refused
    if account.disabled_at is not None:
        raise refused
    return account


def disable(session: Session, account: Account, *, now: datetime) -> Account:
    """Disable the account: it cannot log in and its sessions end now."""
    if account.disabled_at is None:
        account.disabled_at = now
    account.invite_hash = None
    revoke_sessions(session, account, now=now)
    return account


def enable(account: Account) -> Account:
    """Let a disabled account log in again."""
    account.disabled_at = None
    return account


def revoke_sessions(session: Session, account: Account, *, now: datetime) -> int:
    """End every live session of the account ("log out everywhere"); how many ended."""
    live = list(
        session.scalars(
            select(BrowserSession).where(BrowserSession.account_id == account.id, BrowserSession.revoked_at.is_(None))
        )
    )
    for browser in live:
        browser.revoked_at = now
    return len(live)


def _failures(session: Session, column: InstrumentedAttribute[str], value: str, since: datetime) -> int:
    query = select(func.count(LoginAttempt.id)).where(column == value, LoginAttempt.at > since)
    return int(session.scalar(query) or 0)


def login_with_password(session: Session, *, username: str, password: str, remote_addr: str, now: datetime) -> Account:
    """The account these credentials open, or Unauthorized (one message whatever was wrong) or TooManyAttempts.

    The caller commits either way: a failure is recorded so that the limits count it."""
    name = username.strip()[:100]
    since = now - ATTEMPT_WINDOW
    if (
        _failures(session, LoginAttempt.username, name, since) >= MAX_FAILURES_PER_ACCOUNT
        or _failures(session, LoginAttempt.remote_addr, remote_addr, since) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts(
            f"Too many failed logins; wait {int(ATTEMPT_WINDOW.total_seconds() // 60)} minutes and try again."
        )
    account = get(session, name) if USERNAME.match(name) else None
    stored = account.password_hash if account is not None and account.password_hash else _ABSENT_HASH
    matches: bool
    try:
        matches = _hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matches = False
    if account is None or account.password_hash is None or not matches or account.disabled_at is not None:
        session.add(LoginAttempt(at=now, username=name, remote_addr=remote_addr))
        session.execute(delete(LoginAttempt).where(LoginAttempt.at <= since))
        raise Unauthorized("Wrong username or password.")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    # A success clears the account's count (not the address's: one right password must not reset a spray).
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == name))
    return account


def actor_for(account: Account, remote_addr: str | None = None) -> Actor:
    """The Actor a logged-in person acts as: their name and role, recorded as a person."""
    return Actor(name=account.username, role=Role(account.role), kind="person", remote_addr=remote_addr)


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


FIRST_ADMIN = "admin"


def create_first_admin(session: Session, *, now: datetime, created_by: str) -> str | None:
    """On a database with no account at all, an `admin` account with a random password; returns the password
    (for the caller to show once) or None when accounts exist."""
    if count(session) > 0:
        return None
    password = secrets.token_urlsafe(18)
    create(session, username=FIRST_ADMIN, role=Role.ADMIN, created_by=created_by, now=now, password=password)
    return password
