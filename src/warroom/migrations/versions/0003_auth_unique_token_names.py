"""auth: token names are unique (later duplicates renamed)

Revision ID: 0003_auth_unique_token_names
Revises: 0002_engine
Create Date: 2026-12-02 00:35:00

Revoking by name revoked one of two tokens that shared it and left the other working. Existing duplicates
keep the oldest token's name; each later one becomes NAME-ID (NAME-ID-2, ... if that is taken as well), so
the upgrade never fails on a database that has them. The downgrade drops the index and keeps the names.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_auth_unique_token_names"
down_revision: str | Sequence[str] | None = "0002_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tokens = sa.table("api_tokens", sa.column("id", sa.Integer()), sa.column("name", sa.String(100)))


def upgrade() -> None:
    conn = op.get_bind()
    rows: list[tuple[int, str]] = [
        (int(r[0]), str(r[1])) for r in conn.execute(sa.select(tokens.c.id, tokens.c.name).order_by(tokens.c.id))
    ]
    taken = {name for _id, name in rows}
    kept: set[str] = set()
    for token_id, name in rows:
        if name not in kept:
            kept.add(name)
            continue
        candidate, suffix = f"{name}-{token_id}"[:100], 2
        while candidate in taken:
            candidate, suffix = f"{name}-{token_id}-{suffix}"[:100], suffix + 1
        conn.execute(sa.update(tokens).where(tokens.c.id == token_id).values(name=candidate))
        taken.add(candidate)
        kept.add(candidate)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("uq_api_tokens_name", ["name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_api_tokens_name")
