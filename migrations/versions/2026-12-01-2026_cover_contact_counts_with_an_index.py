"""cover contact counts with an index

Revision ID: 9bc920f2f8ca
Revises: f0a5d56b3f8b
Create Date: 2026-12-01 20:26:09.073082+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9bc920f2f8ca"
down_revision: str | None = "f0a5d56b3f8b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # touches is the big table: build the index without blocking writes
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_touches_contact_counts",
            "touches",
            ["tenant_id", "customer_id", "occurred_at"],
            unique=False,
            postgresql_include=["channel", "direction", "automated", "depth", "engaged"],
            postgresql_where=sa.text("kind = 'contact'"),
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    op.drop_index(
        "ix_touches_contact_counts",
        table_name="touches",
        postgresql_include=["channel", "direction", "automated", "depth", "engaged"],
        postgresql_where=sa.text("kind = 'contact'"),
    )
