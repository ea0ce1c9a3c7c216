"""add cadence state

Revision ID: 91003bcf6359
Revises: 187bc1265b61
Create Date: 2026-11-23 19:33:23.226920+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "91003bcf6359"
down_revision: str | None = "187bc1265b61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "policy_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("policy_versions_version_check")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("policy_versions_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "version", name=op.f("policy_versions_pkey")),
    )
    op.create_table(
        "customer_day_counts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("outbound", sa.Integer(), server_default="0", nullable=False),
        sa.Column("outbound_automated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inbound", sa.Integer(), server_default="0", nullable=False),
        sa.Column("light", sa.Integer(), server_default="0", nullable=False),
        sa.Column("value", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deep", sa.Integer(), server_default="0", nullable=False),
        sa.Column("engaged", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name=op.f("customer_day_counts_tenant_id_customer_id_fkey"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "customer_id", "day", "channel", name=op.f("customer_day_counts_pkey")
        ),
    )
    op.create_table(
        "customer_schedules",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("never_contacted", sa.Boolean(), nullable=False),
        sa.Column("suppressed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("over_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recheck_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("owner_rep", sa.Text(), nullable=True),
        sa.Column("owner_team", sa.Text(), nullable=True),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name=op.f("customer_schedules_tenant_id_customer_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("customer_schedules_pkey")),
    )
    op.create_index(
        "ix_customer_schedules_recheck",
        "customer_schedules",
        ["tenant_id", "recheck_at"],
        unique=False,
    )
    op.create_index(
        "ix_customer_schedules_rep_queue",
        "customer_schedules",
        ["tenant_id", "owner_rep", sa.literal_column("weight DESC"), "due_at", "customer_id"],
        unique=False,
    )
    op.create_index(
        "ix_customer_schedules_team_queue",
        "customer_schedules",
        ["tenant_id", "owner_team", sa.literal_column("weight DESC"), "due_at", "customer_id"],
        unique=False,
    )
    op.add_column(
        "touches",
        sa.Column("engaged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ix_touches_last_inbound",
        "touches",
        ["tenant_id", "customer_id", sa.literal_column("occurred_at DESC")],
        unique=False,
        postgresql_where=sa.text("kind = 'contact' AND direction = 'inbound'"),
    )
    op.create_index(
        "ix_touches_last_outbound",
        "touches",
        ["tenant_id", "customer_id", sa.literal_column("occurred_at DESC")],
        unique=False,
        postgresql_where=sa.text("kind = 'contact' AND direction = 'outbound'"),
    )
    op.create_index(
        "ix_touches_responses",
        "touches",
        ["tenant_id", "customer_id", sa.literal_column("occurred_at DESC")],
        unique=False,
        postgresql_include=["channel"],
        postgresql_where=sa.text(
            "(kind = 'contact' AND direction = 'inbound') OR (kind = 'engagement'"
            " AND outcome IN ('opened', 'clicked', 'replied', 'meeting_booked', 'converted'))"
        ),
    )
    op.create_index(
        "ix_touches_signals",
        "touches",
        ["tenant_id", "customer_id", sa.literal_column("occurred_at DESC")],
        unique=False,
        postgresql_include=["outcome", "channel"],
        postgresql_where=sa.text(
            "kind = 'engagement' AND outcome IN ('unsubscribed', 'complained')"
        ),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_touches_signals",
        table_name="touches",
        postgresql_include=["outcome", "channel"],
        postgresql_where=sa.text(
            "kind = 'engagement' AND outcome IN ('unsubscribed', 'complained')"
        ),
    )
    op.drop_index(
        "ix_touches_responses",
        table_name="touches",
        postgresql_include=["channel"],
        postgresql_where=sa.text(
            "(kind = 'contact' AND direction = 'inbound') OR (kind = 'engagement'"
            " AND outcome IN ('opened', 'clicked', 'replied', 'meeting_booked', 'converted'))"
        ),
    )
    op.drop_index(
        "ix_touches_last_outbound",
        table_name="touches",
        postgresql_where=sa.text("kind = 'contact' AND direction = 'outbound'"),
    )
    op.drop_index(
        "ix_touches_last_inbound",
        table_name="touches",
        postgresql_where=sa.text("kind = 'contact' AND direction = 'inbound'"),
    )
    op.drop_column("touches", "engaged")
    op.drop_index("ix_customer_schedules_team_queue", table_name="customer_schedules")
    op.drop_index("ix_customer_schedules_rep_queue", table_name="customer_schedules")
    op.drop_index("ix_customer_schedules_recheck", table_name="customer_schedules")
    op.drop_table("customer_schedules")
    op.drop_table("customer_day_counts")
    op.drop_table("policy_versions")
