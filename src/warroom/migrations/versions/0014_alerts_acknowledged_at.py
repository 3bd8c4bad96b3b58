"""alerts: when the sender acknowledged a firing alert

An integration's acknowledge acts on its own alert; the incident is acknowledged by senders only when every
firing alert in it is. The column records the alert's acknowledgement (cleared when it fires again).

Revision ID: 0014_alerts_acknowledged_at
Revises: 0013_alerts_drop_group_key_index
Create Date: 2026-12-02 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0014_alerts_acknowledged_at"
down_revision: str | Sequence[str] | None = "0013_alerts_drop_group_key_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acknowledged_at", warroom.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("acknowledged_at")
