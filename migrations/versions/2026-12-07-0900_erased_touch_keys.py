"""erased touch keys

What is left of an erased customer's touches: the SHA-256 digest of each one's (source,
external_id), so that a provider's redelivery of an erased touch can be told from a new one
without keeping anything personal.

Revision ID: b7d2e4f61c08
Revises: 9a4f2c6e8b13
Create Date: 2026-12-07 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2e4f61c08"
down_revision: str | None = "9a4f2c6e8b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_touch_keys",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("key_digest", sa.LargeBinary(), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_touch_keys")
