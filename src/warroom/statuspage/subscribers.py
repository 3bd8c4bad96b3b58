"""Subscribers: email double opt-in, webhooks added by an admin, their tokens and component filters.

Tokens are 32 random bytes; only their SHA-256 is stored, and a token is looked up by that digest (an index
probe on a hash compares in constant time with respect to the secret: no prefix of it is ever compared).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.statuspage.subscriber_models import Subscriber, SubscriberToken

EMAIL, WEBHOOK = "email", "webhook"
CONFIRM, UNSUBSCRIBE = "confirm", "unsubscribe"
MAX_COMPONENTS = 100
_COMPONENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# Said for every token that opens nothing: forged, mistyped, already used, or its subscription is gone.
NOT_VALID = "This link is not valid: it was already used, or it was never issued."
# A confirmation link works this long; asking again sends a fresh one (one per address per RESEND_AFTER at most,
# so that nobody can flood an inbox with confirmations by asking from many client addresses).
CONFIRM_FOR = timedelta(hours=48)
RESEND_AFTER = timedelta(minutes=5)
EXPIRED = (
    "This confirmation link has expired: links work for 48 hours. "
    "Ask again on the subscribe page and a fresh link will be sent."
)


def new_token() -> tuple[str, str]:
    """A fresh token and its digest (the only part stored)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """The SHA-256 a token is stored as."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def normalize_email(text: str) -> str:
    """The address to store and send to; InvalidInput naming `email` when it is not one."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Enter an email address.", field="email")
    if len(text) > 320 or any(ch in text for ch in "\r\n\0"):
        # A line break in an address would be a header injection in the messages we send.
        raise InvalidInput("An email address is one line of at most 320 characters.", field="email")
    try:
        valid = validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"Not an email address we can send to: {exc}", field="email") from exc
    # Lower-cased whole: the same mailbox typed twice with other capitals is one subscription.
    return str(valid.normalized).lower()


def normalize_webhook_url(url: str) -> str:
    """An http(s) URL with a host; InvalidInput naming `url` otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("Give the webhook's URL.", field="url")
    url = url.strip()
    if len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInput(
            "A webhook URL is at most 2000 characters, without spaces or control characters.", field="url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("Not a URL: expected http://HOST/PATH or https://HOST/PATH.", field="url") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("A webhook URL must start with http:// or https://.", field="url")
    if not parts.hostname:
        raise InvalidInput("A webhook URL needs a host.", field="url")
    if port == 0:
        raise InvalidInput("A webhook URL's port must be 1-65535.", field="url")
    if parts.fragment:
        raise InvalidInput("A webhook URL has no #fragment.", field="url")
    return url


def mask_address(subscriber: Subscriber) -> str:
    """The address as an admin listing shows it: a webhook URL without credentials or query (they may be secrets)."""
    if subscriber.kind != WEBHOOK:
        return subscriber.address
    parts = urlsplit(subscriber.address)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def clean_components(ids: Iterable[str], known: Sequence[str] | None) -> list[str]:
    """A component filter: public ids, each known when `known` is given; InvalidInput naming `components`."""
    result: list[str] = []
    for raw in ids:
        if not isinstance(raw, str) or not _COMPONENT_ID.match(raw):
            raise InvalidInput("A component is named by its public id (letters, digits, _.:-).", field="components")
        if known is not None and raw not in known:
            raise InvalidInput(f"Unknown component {raw!r}.", field="components")
        if raw not in result:
            result.append(raw)
    if len(result) > MAX_COMPONENTS:
        raise InvalidInput(f"At most {MAX_COMPONENTS} components.", field="components")
    return sorted(result)


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(Subscriber) if dialect == "postgresql" else sqlite.insert(Subscriber)


def subscribe_email(session: Session, address: str, components: list[str], *, now: datetime) -> int | None:
    """Ask to subscribe `address` (normalized); the id of the pending subscriber to send a confirmation to, or None.

    A new address becomes a pending subscriber. An address still pending (its link unused, maybe expired) gets
    a fresh confirmation, with the components now asked for, unless one was sent less than RESEND_AFTER ago.
    A confirmed address is left exactly as it is. There is never a second row, and the caller answers the same
    in every case, so the form tells nobody who is subscribed."""
    statement = (
        _insert(session)
        .values(kind=EMAIL, address=address, state="pending", component_ids=components, created_at=now)
        .on_conflict_do_nothing(index_elements=["kind", "address"])
        .returning(Subscriber.id)
    )
    new_id: int | None = session.scalar(statement)
    if new_id is not None:
        return new_id
    existing = session.scalar(select(Subscriber).where(Subscriber.kind == EMAIL, Subscriber.address == address))
    if existing is None or existing.state != "pending":
        return None
    last_sent = session.scalar(
        select(func.max(SubscriberToken.created_at)).where(
            SubscriberToken.subscriber_id == existing.id, SubscriberToken.purpose == CONFIRM
        )
    )
    if last_sent is not None and now - last_sent < RESEND_AFTER:
        return None
    existing.component_ids = components
    return existing.id


def add_webhook(session: Session, url: str, components: list[str], *, now: datetime) -> Subscriber:
    """Add a webhook subscriber (confirmed at once: an admin added it); Conflict if the URL is there."""
    existing = session.scalar(select(Subscriber).where(Subscriber.kind == WEBHOOK, Subscriber.address == url))
    if existing is not None:
        raise Conflict(f"This webhook is already subscriber {existing.id}.", field="url")
    subscriber = Subscriber(
        kind=WEBHOOK, address=url, state="confirmed", component_ids=components, created_at=now, confirmed_at=now
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def issue_token(session: Session, subscriber_id: int, purpose: str, *, now: datetime) -> str:
    """A new token for the subscriber (its digest stored in `session`); the plain token goes into one message."""
    token, digest = new_token()
    session.add(SubscriberToken(digest=digest, subscriber_id=subscriber_id, purpose=purpose, created_at=now))
    return token


def find_by_token(session: Session, token: str, purpose: str, *, now: datetime) -> Subscriber:
    """The subscriber a token is for; NotFound (the same for every reason but an expired confirmation) otherwise."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise NotFound(NOT_VALID)
    row = session.scalar(
        select(SubscriberToken).where(SubscriberToken.digest == token_digest(token), SubscriberToken.purpose == purpose)
    )
    subscriber = session.get(Subscriber, row.subscriber_id) if row is not None else None
    if subscriber is None or (purpose == CONFIRM and subscriber.state != "pending"):
        raise NotFound(NOT_VALID)
    if row is not None and purpose == CONFIRM and now - row.created_at >= CONFIRM_FOR:
        raise NotFound(EXPIRED)
    return subscriber


def confirm(session: Session, token: str, *, now: datetime) -> Subscriber:
    """Confirm the subscription a confirm token names; every confirm token of it is spent."""
    subscriber = find_by_token(session, token, CONFIRM, now=now)
    subscriber.state, subscriber.confirmed_at = "confirmed", now
    session.execute(
        delete(SubscriberToken)
        .where(SubscriberToken.subscriber_id == subscriber.id, SubscriberToken.purpose == CONFIRM)
        .execution_options(synchronize_session=False)
    )
    return subscriber


def unsubscribe(session: Session, token: str, *, now: datetime) -> Subscriber:
    """Remove the subscriber an unsubscribe token names: the address is forgotten, and its tokens with it."""
    subscriber = find_by_token(session, token, UNSUBSCRIBE, now=now)
    remove_subscriber(session, subscriber)
    return subscriber


def remove_subscriber(session: Session, subscriber: Subscriber) -> None:
    """Delete a subscriber, its tokens and its pending deliveries."""
    from warroom.statuspage.subscriber_models import Delivery

    for model in (SubscriberToken, Delivery):
        session.execute(
            delete(model).where(model.subscriber_id == subscriber.id).execution_options(synchronize_session=False)
        )
    session.delete(subscriber)


def get_or_404(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber with this id, or NotFound."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"No subscriber {subscriber_id}.")
    return subscriber


def list_subscribers(
    session: Session, kind: str | None = None, *, limit: int = 100, after: int = 0
) -> list[Subscriber]:
    """Subscribers by id, `limit` at a time after the id `after`."""
    query = select(Subscriber).where(Subscriber.id > after).order_by(Subscriber.id).limit(limit)
    if kind is not None:
        query = query.where(Subscriber.kind == kind)
    return list(session.scalars(query))


def counts(session: Session) -> dict[str, int]:
    """How many subscribers of each kind and state (`email.confirmed` ...)."""
    rows = session.execute(
        select(Subscriber.kind, Subscriber.state, func.count()).group_by(Subscriber.kind, Subscriber.state)
    )
    return {f"{kind}.{state}": int(n) for kind, state, n in rows}
