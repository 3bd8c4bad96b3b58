"""Tables of the notify domain: contact methods, the notification outbox, delivery attempts, secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class ContactMethod(Base):
    """An Apprise URL that reaches a person. The URL may hold credentials: never shown unmasked."""

    __tablename__ = "notify_contacts"
    __table_args__ = (UniqueConstraint("user_id", "label", name="uq_notify_contacts_user_id_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("oncall_users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """One message to one address, in the outbox until delivered. `id` is stable: the same on every retry
    and derived from what caused it, so a step run twice cannot create a second message."""

    __tablename__ = "notify_notifications"
    __table_args__ = (
        Index("ix_notify_notifications_incident_id_created_at", "incident_id", "created_at"),
        Index("ix_notify_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notify_notifications_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # page | channel | digest | reminder | test | status_update
    user_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    method: Mapped[str] = mapped_column(String(50))  # the contact's label, or "channel"
    url: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # pending | sent | failed | cancelled | digested (held for a digest) | in_digest (sent inside one)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    digest_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DeliveryAttempt(Base):
    """One try at delivering a notification."""

    __tablename__ = "notify_attempts"
    __table_args__ = (Index("ix_notify_attempts_notification_id", "notification_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notify_notifications.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    engine: Mapped[str] = mapped_column(String(100), default="")


class Secret(Base):
    """Server secrets (the key that signs one-click links), created on first use."""

    __tablename__ = "notify_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SpentLink(Base):
    """A one-click link that acknowledged or resolved: it acts once, so a replay (after a reopen) is refused.

    Keyed by the SHA-256 of the token, never the token itself; the row may go once the link has expired."""

    __tablename__ = "notify_spent_links"
    __table_args__ = (Index("ix_notify_spent_links_expires_at", "expires_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedSecret(Base):
    """The random secret behind one calendar feed URL (a schedule's or a user's); replacing it revokes the URL.

    The URL's token is the HMAC of this nonce under the link-signing key, so the row alone does not open the feed.
    """

    __tablename__ = "notify_feed_secrets"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # schedules | users
    ident: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
