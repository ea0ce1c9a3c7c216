"""give idempotency runs an id

Revision ID: 5d2e8c41a7b3
Revises: 9bc920f2f8ca
Create Date: 2026-12-07 02:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2e8c41a7b3"
down_revision: str | None = "9bc920f2f8ca"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # nullable and without a default: no table rewrite
    op.add_column("idempotency_keys", sa.Column("run_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "run_id")
