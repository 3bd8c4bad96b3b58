"""reports: indexes a whole-period report reads without touching the tables' rows

The acknowledgements, the pages and the incidents' phase times were each read from wide table rows (messages,
bodies, descriptions, JSON); these indexes hold every column those reads need, in the order they group by
(issue 17: a report over 100,000 incidents under 2 s); one more finds the drills, which alert noise leaves
out. The timeline's (kind, at) index becomes the wider one.

Revision ID: 0071_reports_covering_indexes
Revises: 0070_reports_indexes
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0071_reports_covering_indexes"
down_revision: str | Sequence[str] | None = "0070_reports_indexes"
branch_labels: str | Sequence[str] | None = None
# The incidents' drill column and the notifications table come from these branches.
depends_on: str | Sequence[str] | None = ("0005_incidents_drill", "0021_links_spent_feeds")

PAGES = ["kind", "incident_id", "user_id", "generation", "cycle", "level", "created_at"]
PHASES = ["detected_at", "drill", "severity", "started_at", "acknowledged_at", "mitigated_at", "resolved_at"]


def upgrade() -> None:
    op.create_index(
        "ix_timeline_events_kind_at_incident_actor_id", "timeline_events", ["kind", "at", "incident_id", "actor", "id"]
    )
    op.drop_index("ix_timeline_events_kind_at", table_name="timeline_events")
    op.create_index("ix_notify_notifications_pages", "notify_notifications", PAGES)
    op.create_index("ix_incidents_report_phases", "incidents", PHASES)
    op.create_index("ix_incidents_drill_id", "incidents", ["drill", "id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_drill_id", table_name="incidents")
    op.drop_index("ix_incidents_report_phases", table_name="incidents")
    op.drop_index("ix_notify_notifications_pages", table_name="notify_notifications")
    op.create_index("ix_timeline_events_kind_at", "timeline_events", ["kind", "at"])
    op.drop_index("ix_timeline_events_kind_at_incident_actor_id", table_name="timeline_events")
