"""alerts: one index on (incident_id, status, suppressed_by, severity)

The intake asks, after each batch with resolves, which alerts of the touched incidents still fire and how
severe they are. With an index on incident_id alone SQLite's planner chose the status index and walked every
firing alert; this index answers the question from the index alone.

Revision ID: 0011_alerts_incident_index
Revises: 0010_alerts
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_alerts_incident_index"
down_revision: str | Sequence[str] | None = "0010_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_alerts_incident_id", table_name="alerts")
    op.create_index("ix_alerts_incident_id_status", "alerts", ["incident_id", "status", "suppressed_by", "severity"])


def downgrade() -> None:
    op.drop_index("ix_alerts_incident_id_status", table_name="alerts")
    op.create_index("ix_alerts_incident_id", "alerts", ["incident_id"])
