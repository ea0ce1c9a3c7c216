"""lighter touch writes

Each index and trigger on the write path of a touch costs every ingest. The last outbound
contact is found by a backward walk of the contact-counts index (most contacts are outbound),
so its own index goes. Day counts are written only in the statement that stores their
touches, whose foreign key already guarantees the customer: their own foreign key, checked
for every row, goes too.

Revision ID: 8b3e91d4c7a2
Revises: 7a4f0c2d9e13
Create Date: 2026-12-07 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3e91d4c7a2"
down_revision: str | None = "7a4f0c2d9e13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_touches_last_outbound", table_name="touches")
    op.drop_constraint(
        "customer_day_counts_tenant_id_customer_id_fkey", "customer_day_counts", type_="foreignkey"
    )


def downgrade() -> None:
    op.create_foreign_key(
        "customer_day_counts_tenant_id_customer_id_fkey",
        "customer_day_counts",
        "customers",
        ["tenant_id", "customer_id"],
        ["tenant_id", "customer_id"],
    )
    op.create_index(
        "ix_touches_last_outbound",
        "touches",
        ["tenant_id", "customer_id", sa.text("occurred_at DESC")],
        postgresql_where=sa.text("kind = 'contact' AND direction = 'outbound'"),
    )
