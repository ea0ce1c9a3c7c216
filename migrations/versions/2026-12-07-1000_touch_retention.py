"""touch retention

How far retention has expired each tenant's touches: contact facts (what analytics count)
are never counted again before that instant, where touches may be gone.

Revision ID: c1e5a7b93d24
Revises: b7d2e4f61c08
Create Date: 2026-12-07 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c1e5a7b93d24"
down_revision: str | None = "b7d2e4f61c08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "touch_retention",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("expired_before", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("touch_retention")
