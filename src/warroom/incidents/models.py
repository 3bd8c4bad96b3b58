"""Tables of the incidents domain: incidents, their services, and the append-only timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warroom.db import Base, UTCDateTime


class Status(StrEnum):
    """Where an incident is in its life."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


OPEN_STATUSES = tuple(s.value for s in Status if s is not Status.RESOLVED)


class Incident(Base):
    """An incident; `id` is its public number (#1, #2 ...)."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_id", "status", "id"),
        Index("ix_incidents_severity_id", "severity", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    commander: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    impact: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A rehearsal (`warroom drill`): paged like any incident but every message says DRILL, and it never
    # reaches the public status page nor the reports unless asked (`is_drill`, `without_drills`).
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    service_links: Mapped[list[IncidentService]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", lazy="selectin", order_by="IncidentService.service"
    )

    @property
    def number(self) -> int:
        """The public id."""
        return self.id

    @property
    def services(self) -> list[str]:
        """Names of the services affected."""
        return [link.service for link in self.service_links]

    @property
    def is_open(self) -> bool:
        """True until resolved."""
        return self.status != Status.RESOLVED


class IncidentService(Base):
    """An incident affects a service (many per incident)."""

    __tablename__ = "incident_services"
    __table_args__ = (Index("ix_incident_services_service", "service", "incident_id"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    incident: Mapped[Incident] = relationship(back_populates="service_links")


class TimelineEvent(Base):
    """Something that happened to an incident. Appended in the same transaction as the change; never edited."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_incident_id_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100))
    actor_kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
