"""reports: an index on timeline_events (kind, at)

Reports read a few kinds of events over a period (alert_resolved and alert_refired for flapping, acknowledged
for each person's time to acknowledge); on a timeline of 1,000,000 events each was a scan of the table.

Revision ID: 0070_reports_indexes
Revises: 0040_runbooks
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0070_reports_indexes"
down_revision: str | Sequence[str] | None = "0040_runbooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_timeline_events_kind_at", "timeline_events", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_timeline_events_kind_at", table_name="timeline_events")
