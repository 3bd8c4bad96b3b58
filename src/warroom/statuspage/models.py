"""Tables of the status page: components and groups, published incidents, public updates, announced
maintenance and the page's version counter. Nothing internal is stored here but the link to the incident."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class StatusGroup(Base):
    """A group of components on the page, shown in `position` order."""

    __tablename__ = "status_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10), default="api")  # config | api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusComponent(Base):
    """A part of the product as users know it, standing for one or more services; may carry an override."""

    __tablename__ = "status_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("status_groups.id", ondelete="SET NULL"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="api")  # config | api
    # A person's override wins over the derived status until they clear it.
    override_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    override_reason: Mapped[str] = mapped_column(Text, default="")
    override_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusIncident(Base):
    """The public face of one internal incident: its public title, status, impact and components."""

    __tablename__ = "status_incidents"
    __table_args__ = (Index("ix_status_incidents_resolved_at", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # investigating | identified | monitoring | resolved
    impact: Mapped[str] = mapped_column(String(20))  # none | minor | major | critical
    # True when a person chose the impact; else it follows the incident's severity.
    impact_chosen: Mapped[bool] = mapped_column(default=False)
    published_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    monitoring_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StatusIncidentComponent(Base):
    """A published incident affects a component."""

    __tablename__ = "status_incident_components"
    __table_args__ = (Index("ix_status_incident_components_component_id", "component_id"),)

    status_incident_id: Mapped[int] = mapped_column(
        ForeignKey("status_incidents.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"), primary_key=True)


class StatusMaintenance(Base):
    """Announced maintenance: the public face of the alert maintenance windows it owns (one per service)."""

    __tablename__ = "status_maintenances"
    __table_args__ = (Index("ix_status_maintenances_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # scheduled | in_progress | completed
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusMaintenanceComponent(Base):
    """Announced maintenance covers a component."""

    __tablename__ = "status_maintenance_components"

    maintenance_id: Mapped[int] = mapped_column(
        ForeignKey("status_maintenances.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"), primary_key=True)


class StatusMaintenanceWindow(Base):
    """The alert maintenance window (one per service) that suppresses paging while the announced work runs."""

    __tablename__ = "status_maintenance_windows"

    maintenance_id: Mapped[int] = mapped_column(
        ForeignKey("status_maintenances.id", ondelete="CASCADE"), primary_key=True
    )
    window_id: Mapped[int] = mapped_column(ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True)


class StatusUpdate(Base):
    """One public update of a published incident or of announced maintenance: text a person chose to publish."""

    __tablename__ = "status_updates"
    __table_args__ = (
        Index("ix_status_updates_incident_id", "incident_id", "id"),
        Index("ix_status_updates_maintenance_id", "maintenance_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_incidents.id", ondelete="CASCADE"), nullable=True
    )
    maintenance_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_maintenances.id", ondelete="CASCADE"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    display_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusPageVersion(Base):
    """One row: a counter bumped in the transaction of every change the page shows (cheap cache validation)."""

    __tablename__ = "status_page_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
