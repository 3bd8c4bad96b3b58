"""notify: spent one-click links and random calendar feed secrets

Revision ID: 0021_links_spent_feeds
Revises: 0020_oncall
Create Date: 2026-12-02 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0021_links_spent_feeds"
down_revision: str | Sequence[str] | None = "0020_oncall"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_spent_links",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("spent_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_notify_spent_links")),
    )
    with op.batch_alter_table("notify_spent_links", schema=None) as batch_op:
        batch_op.create_index("ix_notify_spent_links_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "notify_feed_secrets",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ident", sa.String(length=100), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("created_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ident", name=op.f("pk_notify_feed_secrets")),
    )


def downgrade() -> None:
    op.drop_table("notify_feed_secrets")
    with op.batch_alter_table("notify_spent_links", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_spent_links_expires_at")
    op.drop_table("notify_spent_links")
