"""statuspage: components and groups, published incidents, public updates, announced maintenance

The page version is one row, bumped with every change the page shows (the public face's cache key).

Revision ID: 0060_statuspage
Revises: 0014_alerts_acknowledged_at
Create Date: 2026-12-02 03:04:47.593126
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0060_statuspage"
down_revision: str | Sequence[str] | None = "0014_alerts_acknowledged_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_status_groups_name")),
        sa.UniqueConstraint("public_id", name=op.f("uq_status_groups_public_id")),
    )
    op.create_table(
        "status_maintenances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starts_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenances")),
        sa.UniqueConstraint("public_id", name=op.f("uq_status_maintenances_public_id")),
    )
    with op.batch_alter_table("status_maintenances", schema=None) as batch_op:
        batch_op.create_index("ix_status_maintenances_ends_at", ["ends_at"], unique=False)

    op.create_table(
        "status_page_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("changed_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_page_version")),
    )
    op.create_table(
        "status_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("override_status", sa.String(length=30), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("override_by", sa.String(length=100), nullable=True),
        sa.Column("override_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["status_groups.id"],
            name=op.f("fk_status_components_group_id_status_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_components")),
        sa.UniqueConstraint("name", name=op.f("uq_status_components_name")),
        sa.UniqueConstraint("public_id", name=op.f("uq_status_components_public_id")),
    )
    op.create_table(
        "status_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("impact", sa.String(length=20), nullable=False),
        sa.Column("impact_chosen", sa.Boolean(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitoring_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_status_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incidents")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_status_incidents_incident_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_status_incidents_public_id")),
    )
    with op.batch_alter_table("status_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_status_incidents_resolved_at", ["resolved_at"], unique=False)

    op.create_table(
        "status_maintenance_windows",
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f("fk_status_maintenance_windows_maintenance_id_status_maintenances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["maintenance_windows.id"],
            name=op.f("fk_status_maintenance_windows_window_id_maintenance_windows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("maintenance_id", "window_id", name=op.f("pk_status_maintenance_windows")),
    )
    op.create_table(
        "status_incident_components",
        sa.Column("status_incident_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f("fk_status_incident_components_component_id_status_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_incident_components_status_incident_id_status_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_incident_id", "component_id", name=op.f("pk_status_incident_components")),
    )
    with op.batch_alter_table("status_incident_components", schema=None) as batch_op:
        batch_op.create_index("ix_status_incident_components_component_id", ["component_id"], unique=False)

    op.create_table(
        "status_maintenance_components",
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f("fk_status_maintenance_components_component_id_status_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f("fk_status_maintenance_components_maintenance_id_status_maintenances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("maintenance_id", "component_id", name=op.f("pk_status_maintenance_components")),
    )
    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("maintenance_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("display_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_updates_incident_id_status_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f("fk_status_updates_maintenance_id_status_maintenances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_updates")),
        sa.UniqueConstraint("public_id", name=op.f("uq_status_updates_public_id")),
    )
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.create_index("ix_status_updates_incident_id", ["incident_id", "id"], unique=False)
        batch_op.create_index("ix_status_updates_maintenance_id", ["maintenance_id", "id"], unique=False)

    op.bulk_insert(
        sa.table("status_page_version", sa.column("id", sa.Integer()), sa.column("counter", sa.Integer())),
        [{"id": 1, "counter": 0}],
    )


def downgrade() -> None:
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_status_updates_maintenance_id")
        batch_op.drop_index("ix_status_updates_incident_id")

    op.drop_table("status_updates")
    op.drop_table("status_maintenance_components")
    with op.batch_alter_table("status_incident_components", schema=None) as batch_op:
        batch_op.drop_index("ix_status_incident_components_component_id")

    op.drop_table("status_incident_components")
    op.drop_table("status_maintenance_windows")
    with op.batch_alter_table("status_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_status_incidents_resolved_at")

    op.drop_table("status_incidents")
    op.drop_table("status_components")
    op.drop_table("status_page_version")
    with op.batch_alter_table("status_maintenances", schema=None) as batch_op:
        batch_op.drop_index("ix_status_maintenances_ends_at")

    op.drop_table("status_maintenances")
    op.drop_table("status_groups")
