"""Tables of the monitors domain: definitions with their up/down state, results, rollups, engines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime

# BIGINT on PostgreSQL (results grow by the billion); INTEGER on SQLite so that it stays the rowid alias.
ResultId = BigInteger().with_variant(Integer(), "sqlite")


class Monitor(Base):
    """A health check and its current state. `spec` is the definition as written (MonitorConfig)."""

    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    service: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))  # config | api
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval_s: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(10))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on every change of the definition or pause: engines reload a monitor whose version moved.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # State, written by the engine that owns the monitor (column by column, never the whole row).
    state: Mapped[str] = mapped_column(String(10), default="unknown")  # unknown | up | down
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    alert_open: Mapped[bool] = mapped_column(Boolean, default=False)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    last_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)

    # Heartbeats: only the SHA-256 of the ping token is kept.
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MonitorResult(Base):
    """One check: every result is kept for the raw retention (7 days by default)."""

    __tablename__ = "monitor_results"
    __table_args__ = (
        Index("ix_monitor_results_monitor_id_at", "monitor_id", "at"),
        Index("ix_monitor_results_at", "at"),
    )

    id: Mapped[int] = mapped_column(ResultId, primary_key=True, autoincrement=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10))  # up | warn | down
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class MonitorRollup(Base):
    """Counts per monitor per minute (`m`) or per day (`d`): uptime and mean latency over long windows."""

    __tablename__ = "monitor_rollups"
    __table_args__ = (Index("ix_monitor_rollups_resolution_bucket", "resolution", "bucket"),)

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    up: Mapped[int] = mapped_column(Integer, default=0)
    latency_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    latency_max_ms: Mapped[float] = mapped_column(Float, default=0.0)


class MonitorEngine(Base):
    """An engine running checks; engines that stop heartbeating lose their monitors to the live ones."""

    __tablename__ = "monitor_engines"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    monitors: Mapped[int] = mapped_column(Integer, default=0)
