"""create foundation tables

Revision ID: 187bc1265b61
Revises:
Create Date: 2026-11-23 19:22:39.342685+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "187bc1265b61"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_content_type", sa.Text(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('running', 'done')", name=op.f("idempotency_keys_state_check")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "api_key_id", "key", name=op.f("idempotency_keys_pkey")
        ),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"),
        "idempotency_keys",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("tenants_pkey")),
        sa.UniqueConstraint("name", name=op.f("tenants_name_key")),
    )
    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("NULL"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(role = 'partner') = (partner_id IS NOT NULL)",
            name=op.f("api_keys_partner_id_check"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'ingest', 'read', 'partner')",
            name=op.f("api_keys_role_check"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("api_keys_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("api_keys_pkey")),
        sa.UniqueConstraint("tenant_id", "key_hash", name=op.f("api_keys_tenant_id_key_hash_key")),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("market", sa.Text(), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("owner_rep", sa.Text(), nullable=True),
        sa.Column("owner_team", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("preferences", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("customers_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("customers_pkey")),
    )
    op.create_index(
        "ix_customers_tenant_id_lower_email",
        "customers",
        ["tenant_id", sa.literal_column("lower(email)")],
        unique=False,
    )
    op.create_index(
        "ix_customers_tenant_id_owner_rep",
        "customers",
        ["tenant_id", "owner_rep"],
        unique=False,
    )
    op.create_index(
        "ix_customers_tenant_id_owner_team",
        "customers",
        ["tenant_id", "owner_team"],
        unique=False,
    )
    op.create_table(
        "sources",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("verification_public_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'generic') = (secret IS NOT NULL)"
            " AND (kind = 'sendgrid') = (verification_public_key IS NOT NULL)",
            name=op.f("sources_credentials_check"),
        ),
        sa.CheckConstraint("kind IN ('generic', 'sendgrid')", name=op.f("sources_kind_check")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("sources_tenant_id_fkey")),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("sources_pkey")),
        sa.UniqueConstraint("name", name=op.f("sources_name_key")),
    )
    op.create_table(
        "touches",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("actor_rep_id", sa.Text(), nullable=True),
        sa.Column("actor_team", sa.Text(), nullable=True),
        sa.Column("actor_partner_id", sa.Text(), nullable=True),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("depth", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("ref_external_id", sa.Text(), nullable=True),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('marketing', 'sales', 'service', 'partner')",
            name=op.f("touches_category_check"),
        ),
        sa.CheckConstraint(
            "depth IS NULL OR depth IN ('light', 'value', 'deep')",
            name=op.f("touches_depth_check"),
        ),
        sa.CheckConstraint(
            "direction IN ('outbound', 'inbound')", name=op.f("touches_direction_check")
        ),
        sa.CheckConstraint(
            "kind IN ('contact', 'engagement', 'purchase')",
            name=op.f("touches_kind_check"),
        ),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name=op.f("touches_amount_check")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name=op.f("touches_tenant_id_customer_id_fkey"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("touches_pkey")),
        sa.UniqueConstraint(
            "tenant_id",
            "source",
            "external_id",
            name=op.f("touches_tenant_id_source_external_id_key"),
        ),
    )
    op.create_index(
        "ix_touches_customer_history",
        "touches",
        [
            "tenant_id",
            "customer_id",
            sa.literal_column("occurred_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_index(
        "ix_touches_engagement_ref",
        "touches",
        ["tenant_id", "source", "ref_external_id"],
        unique=False,
        postgresql_where=sa.text("ref_external_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_touches_engagement_ref",
        table_name="touches",
        postgresql_where=sa.text("ref_external_id IS NOT NULL"),
    )
    op.drop_index("ix_touches_customer_history", table_name="touches")
    op.drop_table("touches")
    op.drop_table("sources")
    op.drop_index("ix_customers_tenant_id_owner_team", table_name="customers")
    op.drop_index("ix_customers_tenant_id_owner_rep", table_name="customers")
    op.drop_index("ix_customers_tenant_id_lower_email", table_name="customers")
    op.drop_table("customers")
    op.drop_table("api_keys")
    op.drop_table("tenants")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
