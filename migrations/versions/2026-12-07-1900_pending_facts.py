"""pending facts

Customers whose contact facts a list left to the background refresher: it refreshed their
verdicts at once (a list answers from fresh verdicts) and handed the facts on.

Revision ID: f2b8c4d6e913
Revises: e4a9c2d7b151
Create Date: 2026-12-07 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b8c4d6e913"
down_revision: str | None = "e4a9c2d7b151"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_facts",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("facts_from", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name="pending_facts_tenant_id_customer_id_fkey",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("pending_facts")
