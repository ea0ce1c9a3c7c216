"""rfm snapshots

A tenant's RFM snapshot: its instant and buyers' scores, and each customer's segment on its
profile so that rules match it as they match the stage. Two partial indexes on purchases
serve the scoring (a window of a tenant's purchases) and the question whether one came
since a snapshot; contacts skip them.

Revision ID: 3c6d2e8f1a57
Revises: 8b3e91d4c7a2
Create Date: 2026-12-07 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c6d2e8f1a57"
down_revision: str | None = "8b3e91d4c7a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENTS = (
    "champions", "cant_lose", "at_risk", "loyal", "new", "promising", "potential_loyalist",
    "need_attention", "about_to_sleep", "lost", "hibernating", "others",
)  # fmt: skip


def upgrade() -> None:
    op.add_column("customers", sa.Column("rfm_segment", sa.Text(), nullable=True))
    op.create_table(
        "rfm_snapshots",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("outside", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rfm_scores",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(24, 4), nullable=False),
        sa.Column("r", sa.SmallInteger(), nullable=False),
        sa.Column("f", sa.SmallInteger(), nullable=False),
        sa.Column("m", sa.SmallInteger(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5",
            name=op.f("rfm_scores_scores_check"),
        ),
        sa.CheckConstraint(
            "segment IN (" + ", ".join(f"'{s}'" for s in SEGMENTS) + ")",
            name=op.f("rfm_scores_segment_check"),
        ),
        sa.CheckConstraint(
            "recency_days >= 0 AND frequency >= 1 AND monetary >= 0",
            name=op.f("rfm_scores_metrics_check"),
        ),
    )
    op.create_index("ix_rfm_scores_segment", "rfm_scores", ["tenant_id", "segment", "customer_id"])
    op.create_index(
        "ix_touches_purchases",
        "touches",
        ["tenant_id", "occurred_at"],
        postgresql_include=["customer_id", "amount"],
        postgresql_where=sa.text("kind = 'purchase'"),
    )
    op.create_index(
        "ix_touches_purchases_received",
        "touches",
        ["tenant_id", "received_at"],
        postgresql_where=sa.text("kind = 'purchase'"),
    )


def downgrade() -> None:
    op.drop_index("ix_touches_purchases_received", table_name="touches")
    op.drop_index("ix_touches_purchases", table_name="touches")
    op.drop_table("rfm_scores")
    op.drop_table("rfm_snapshots")
    op.drop_column("customers", "rfm_segment")
