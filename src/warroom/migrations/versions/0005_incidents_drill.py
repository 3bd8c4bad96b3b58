"""incidents: the drill flag, and the drills table (scenario runs and contact drills)

Revision ID: 0005_incidents_drill
Revises: 0003_auth_unique_token_names
Create Date: 2026-12-02 03:20:00

A drill is an incident flagged `drill` (false for every incident so far). `drills` keeps each run: its
scenario, its state, the incident it opened and its report; a contact drill keeps its report only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warroom.db

revision: str = "0005_incidents_drill"
down_revision: str | Sequence[str] | None = "0003_auth_unique_token_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("scenario", sa.JSON(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("started_at", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", warroom.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", warroom.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_drills_incident_id_incidents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
    )
    with op.batch_alter_table("drills") as batch:
        batch.create_index("ix_drills_state_deadline", ["state", "deadline"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drills") as batch:
        batch.drop_index("ix_drills_state_deadline")
    op.drop_table("drills")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("drill")
