"""Tables of the on-call domain: people, teams, schedules, overrides, policies and paging state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class OncallUser(Base):
    """A person who can be paged. Contact methods live in the notify domain."""

    __tablename__ = "oncall_users"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="api")  # config | api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Team(Base):
    """A team: members, a channel, the default policy of its services."""

    __tablename__ = "oncall_teams"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy: Mapped[str | None] = mapped_column(String(100), nullable=True)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Schedule(Base):
    """A schedule: its definition (time zone, layers) as in warroom.yaml, and the imported calendar."""

    __tablename__ = "oncall_schedules"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    layers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ical_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    ical_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    ical_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    source: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Override(Base):
    """Someone covers a schedule from `starts_at` to `ends_at`, above every layer."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_schedule_id_ends_at", "schedule_id", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("oncall_users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Policy(Base):
    """An escalation policy as in warroom.yaml."""

    __tablename__ = "oncall_policies"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Escalation(Base):
    """An incident's paging: the policy frozen when paging started, and where it is.

    `generation` grows each time paging (re)starts, so a step job left from an earlier run is recognised
    and ignored; `level`/`cycle` are the next step to run.
    """

    __tablename__ = "oncall_escalations"
    __table_args__ = (Index("ix_oncall_escalations_state", "state"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(100))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"repeat": n, "levels": [...]} as frozen
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | exhausted | acknowledged | stopped
    last_paged: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
