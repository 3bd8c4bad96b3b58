"""alerts: no index on group_key

No query reads alerts by group key: grouping goes through alert_groups, whose unique key is the group key.
The index cost every alert inserted, and every change of an alert's group (a re-fire) an entry of up to
255 characters, and kept such an update from being a heap-only (HOT) update on PostgreSQL.

Revision ID: 0013_alerts_drop_group_key_index
Revises: 0012_alerts_fingerprint_first
Create Date: 2026-11-23 20:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_alerts_drop_group_key_index"
down_revision: str | Sequence[str] | None = "0012_alerts_fingerprint_first"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_alerts_group_key", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_group_key", "alerts", ["group_key"])
