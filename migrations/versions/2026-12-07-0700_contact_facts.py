"""contact facts

Analytics count facts kept per contact (its follow-up number, whether it was effective,
answered, opened...), so reports never walk histories or scan touches. Writes mark the
earliest instant whose facts they may have changed; the refresher counts them again from
there. Existing customers are marked from the beginning, so the refresher fills the table
in the background after this migration.

Revision ID: 5e1b7c9d2f30
Revises: 3c6d2e8f1a57
Create Date: 2026-12-07 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7c9d2f30"
down_revision: str | None = "3c6d2e8f1a57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = (
    "effective", "responded", "opened", "clicked", "replied", "meeting_booked", "converted",
    "completed",
)  # fmt: skip


def upgrade() -> None:
    op.add_column(
        "refresh_marks", sa.Column("facts_from", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "contact_facts",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("touch_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("actor_team", sa.Text(), nullable=True),
        sa.Column("actor_rep_id", sa.Text(), nullable=True),
        sa.Column("actor_partner_id", sa.Text(), nullable=True),
        sa.Column("n", sa.SmallInteger(), nullable=True),
        *(sa.Column(flag, sa.Boolean(), nullable=False) for flag in FLAGS),
        sa.Column("late", sa.Boolean(), nullable=True),
    )
    op.create_index(
        "ix_contact_facts_tenant_id_occurred_at", "contact_facts", ["tenant_id", "occurred_at"]
    )
    op.create_index(
        "ix_contact_facts_tenant_id_customer_id_occurred_at",
        "contact_facts",
        ["tenant_id", "customer_id", "occurred_at"],
    )
    op.execute(
        "INSERT INTO refresh_marks (tenant_id, customer_id, facts_from)"
        " SELECT tenant_id, customer_id, '-infinity' FROM customers"
        " ON CONFLICT (tenant_id, customer_id) DO UPDATE SET facts_from = '-infinity'"
    )


def downgrade() -> None:
    op.drop_table("contact_facts")
    op.drop_column("refresh_marks", "facts_from")
