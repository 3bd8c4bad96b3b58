"""alerts: the unique key leads with the fingerprint

The intake looks its alerts up by `integration_id = ? AND fingerprint = ANY(?)`. With the unique key on
(integration_id, fingerprint), PostgreSQL's planner, whenever its statistics were older than the rows (a new
database, a new integration that starts sending a lot), searched the key by integration_id alone and filtered
every alert of that integration: 11 ms per batch instead of 0.5 ms. Led by the fingerprint, the key can only be
searched by fingerprint, whatever the statistics say. SQLite searches it the same way (fingerprint, then
integration). ON CONFLICT (integration_id, fingerprint) still finds the key: the order of its columns does not
matter there.

Revision ID: 0012_alerts_fingerprint_first
Revises: 0011_alerts_incident_index
Create Date: 2026-11-23 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_alerts_fingerprint_first"
down_revision: str | Sequence[str] | None = "0011_alerts_incident_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_integration_id", type_="unique")
        batch.create_unique_constraint("uq_alerts_fingerprint", ["fingerprint", "integration_id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_fingerprint", type_="unique")
        batch.create_unique_constraint("uq_alerts_integration_id", ["integration_id", "fingerprint"])
