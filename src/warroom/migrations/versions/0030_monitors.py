"""monitors: definitions with their state, results, per-minute and per-day rollups, engines

Revision ID: 0030_monitors
Revises: 0002_engine
Create Date: 2026-11-23 12:36:02.681083
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0030_monitors"
down_revision: str | Sequence[str] | None = "0002_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_engines",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("started_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_engines")),
    )
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("state_since", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failing_since", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alert_open", sa.Boolean(), nullable=False),
        sa.Column("last_checked_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=10), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=True),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("last_ping_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("name", name=op.f("uq_monitors_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_monitors_token_hash")),
    )
    op.create_table(
        "monitor_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_results_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_results")),
    )
    op.create_index("ix_monitor_results_at", "monitor_results", ["at"], unique=False)
    op.create_index("ix_monitor_results_monitor_id_at", "monitor_results", ["monitor_id", "at"], unique=False)

    op.create_table(
        "monitor_rollups",
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(length=1), nullable=False),
        sa.Column("bucket", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_max_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_rollups_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("monitor_id", "resolution", "bucket", name=op.f("pk_monitor_rollups")),
    )
    op.create_index("ix_monitor_rollups_resolution_bucket", "monitor_rollups", ["resolution", "bucket"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_monitor_rollups_resolution_bucket", table_name="monitor_rollups")

    op.drop_table("monitor_rollups")
    op.drop_index("ix_monitor_results_monitor_id_at", table_name="monitor_results")
    op.drop_index("ix_monitor_results_at", table_name="monitor_results")

    op.drop_table("monitor_results")
    op.drop_table("monitors")
    op.drop_table("monitor_engines")
