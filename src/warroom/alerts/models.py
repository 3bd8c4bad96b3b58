"""Tables of the alerts domain: integrations, alerts, alert groups, silences and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Integration(Base):
    """A sender of alerts with its secret key (stored as SHA-256 only) and the format of its payloads."""

    __tablename__ = "alert_integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    # The first characters of the key, to find the row; the whole key is compared as a hash in constant time.
    key_lookup: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    service: Mapped[str | None] = mapped_column(String(100), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(10), default="api")  # api | config | builtin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Alert(Base):
    """One alert of one integration, identified by its fingerprint; repeats update it, never duplicate it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("fingerprint", "integration_id", name="uq_alerts_fingerprint"),
        Index("ix_alerts_status_id", "status", "id"),
        Index("ix_alerts_incident_id_status", "incident_id", "status", "suppressed_by", "severity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("alert_integrations.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))  # firing | resolved
    summary: Mapped[str] = mapped_column(String(300), default="")
    severity: Mapped[str] = mapped_column(String(10))
    service: Mapped[str | None] = mapped_column(String(100), nullable=True)
    route: Mapped[str] = mapped_column(String(100))
    group_key: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True)
    # Why the alert opened no incident: "silence:3", "maintenance:2", "inhibit:db-down"; None when it did.
    suppressed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    generator_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When its own sender acknowledged it while firing (PagerDuty's acknowledge); cleared when it fires again.
    # An incident is acknowledged by senders only once every firing alert in it is.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    received: Mapped[int] = mapped_column(Integer, default=1)
    # The payload piece this alert came in last (the original sender's words, kept verbatim).
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlertGroup(Base):
    """A group key (route + group-by values) and the open incident its alerts attach to.

    The row is also the lock that keeps two alerts of a new group from opening two incidents."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_key: Mapped[str] = mapped_column(String(255), unique=True)
    route: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Silence(Base):
    """Alerts matching every matcher between starts_at and ends_at are stored but open no incident."""

    __tablename__ = "alert_silences"
    __table_args__ = (Index("ix_alert_silences_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MaintenanceWindow(Base):
    """A service's planned work: its alerts behave as silenced during the window (and each week, if weekly)."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_service", "service"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
