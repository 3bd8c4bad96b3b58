"""statuspage: subscribers (email double opt-in, webhooks), their token digests, notices and deliveries

Revision ID: 0061_status_subscribers
Revises: 0002_engine
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0061_status_subscribers"
down_revision: str | Sequence[str] | None = "0002_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("component_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("kind", "address", name="uq_status_subscribers_kind_address"),
    )
    with op.batch_alter_table("status_subscribers", schema=None) as batch_op:
        batch_op.create_index("ix_status_subscribers_state_id", ["state", "id"], unique=False)
    op.create_table(
        "status_notices",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("webhook", sa.JSON(), nullable=False),
        sa.Column("component_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_notices")),
    )
    op.create_table(
        "status_subscriber_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["status_subscribers.id"],
            name=op.f("fk_status_subscriber_tokens_subscriber_id_status_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_status_subscriber_tokens")),
    )
    with op.batch_alter_table("status_subscriber_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_status_subscriber_tokens_subscriber_id", ["subscriber_id"], unique=False)
    op.create_table(
        "status_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.String(length=100), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["status_notices.id"],
            name=op.f("fk_status_deliveries_notice_id_status_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["status_subscribers.id"],
            name=op.f("fk_status_deliveries_subscriber_id_status_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_deliveries")),
        sa.UniqueConstraint("notice_id", "subscriber_id", name="uq_status_deliveries_notice_id_subscriber_id"),
    )
    with op.batch_alter_table("status_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_status_deliveries_subscriber_id", ["subscriber_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_status_deliveries_subscriber_id")
    op.drop_table("status_deliveries")
    with op.batch_alter_table("status_subscriber_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_status_subscriber_tokens_subscriber_id")
    op.drop_table("status_subscriber_tokens")
    op.drop_table("status_notices")
    with op.batch_alter_table("status_subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_status_subscribers_state_id")
    op.drop_table("status_subscribers")
