"""The drills table: one row per drill run (a scenario or a contact drill), with its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime

RUNNING = "running"
FINISHED = "finished"  # the incident was resolved (a scenario) or everybody answered (contacts)
TIMED_OUT = "timed_out"  # the deadline passed first


class Drill(Base):
    """A drill: while `running` and before its deadline, the first incident of its services is its incident."""

    __tablename__ = "drills"
    __table_args__ = (Index("ix_drills_state_deadline", "state", "deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # scenario | contacts
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default=RUNNING)
    started_by: Mapped[str] = mapped_column(String(100))
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True, default=None
    )
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
