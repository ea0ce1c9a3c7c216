"""refresh marks and status documents

Writes no longer run the cadence engine: they mark the customers whose verdict may have
changed, and a background refresher drains the marks in bulk. Each refresh stores the whole
status document with the instant until which it holds, so a status read is one lookup.

Revision ID: 7a4f0c2d9e13
Revises: 5d1c7e0a9b21
Create Date: 2026-12-07 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a4f0c2d9e13"
down_revision: str | None = "5d1c7e0a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _customer_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "customer_id"],
        ["customers.tenant_id", "customers.customer_id"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.execute("CREATE SEQUENCE refresh_mark_seq")
    op.create_table(
        "refresh_marks",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column(
            "seq", sa.BigInteger(), server_default=sa.text("nextval('refresh_mark_seq')"),
            nullable=False,
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        _customer_fk(),
    )  # fmt: skip
    op.create_table(
        "status_documents",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("facts", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True)),
        sa.Column("computed_seq", sa.BigInteger(), nullable=False),
        _customer_fk(),
    )
    op.create_index("ix_status_documents_valid_until", "status_documents", ["valid_until"])
    op.add_column(
        "customer_schedules",
        sa.Column("computed_seq", sa.BigInteger(), server_default="0", nullable=False),
    )
    # every verdict stored so far was made without a document: refresh them all
    op.execute(
        "INSERT INTO refresh_marks (tenant_id, customer_id)"
        " SELECT tenant_id, customer_id FROM customers"
    )


def downgrade() -> None:
    op.drop_column("customer_schedules", "computed_seq")
    op.drop_index("ix_status_documents_valid_until", table_name="status_documents")
    op.drop_table("status_documents")
    op.drop_table("refresh_marks")
    op.execute("DROP SEQUENCE refresh_mark_seq")
