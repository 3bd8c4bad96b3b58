"""Tables of status page subscribers: who subscribed, their tokens (hashes only), and what each was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Subscriber(Base):
    """An email address (double opt-in) or a webhook URL that receives public status updates.

    `address` is an email address or a URL: never shown on a public route. `component_ids` is a JSON list of
    public component ids; empty means every component."""

    __tablename__ = "status_subscribers"
    __table_args__ = (
        UniqueConstraint("kind", "address", name="uq_status_subscribers_kind_address"),
        Index("ix_status_subscribers_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # email | webhook
    address: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | confirmed
    component_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubscriberToken(Base):
    """A confirm or unsubscribe token, by its SHA-256 only: the plain token exists only in the message sent.

    Confirming deletes the confirm token; unsubscribing deletes the subscriber (and its tokens, by cascade):
    a token used once answers 404 after that."""

    __tablename__ = "status_subscriber_tokens"
    __table_args__ = (Index("ix_status_subscriber_tokens_subscriber_id", "subscriber_id"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("status_subscribers.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(12))  # confirm | unsubscribe
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notice(Base):
    """One public update as subscribers receive it, frozen when it was fanned out (public fields only)."""

    __tablename__ = "status_notices"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the public update id
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    webhook: Mapped[dict[str, Any]] = mapped_column(JSON)  # the Statuspage-shaped body, without `meta`
    component_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One notice to one subscriber. (subscriber, notice) is unique: the idempotency key of the fan-out."""

    __tablename__ = "status_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "subscriber_id", name="uq_status_deliveries_notice_id_subscriber_id"),
        Index("ix_status_deliveries_subscriber_id", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("status_notices.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("status_subscribers.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
