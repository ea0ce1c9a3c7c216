"""add contact plans, contact locks and the audit log

Revision ID: 45c35e096a87
Revises: 91003bcf6359
Create Date: 2026-12-01 19:09:19.789464+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "45c35e096a87"
down_revision: str | None = "91003bcf6359"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "audit_events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("actor_rep_id", sa.Text(), nullable=True),
        sa.Column("actor_team", sa.Text(), nullable=True),
        sa.Column("actor_partner_id", sa.Text(), nullable=True),
        sa.Column("lock_id", sa.Uuid(), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("audit_events_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("audit_events_pkey")),
    )
    op.create_index(
        "ix_audit_events_at",
        "audit_events",
        ["tenant_id", sa.literal_column("at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_audit_events_customer",
        "audit_events",
        ["tenant_id", "customer_id", sa.literal_column("at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.execute('CREATE TYPE text_range AS RANGE (subtype = text, collation = "C")')
    op.create_table(
        "contact_locks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("holder_partner_id", sa.Text(), nullable=True),
        sa.Column("holder_team", sa.Text(), nullable=True),
        sa.Column("holder_rep_id", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by_key", sa.Uuid(), nullable=False),
        sa.Column(
            "period",
            postgresql.TSTZRANGE(),
            sa.Computed(
                "tstzrange(starts_at, LEAST(expires_at, released_at), '[)')", persisted=True
            ),
            nullable=False,
        ),
        sa.CheckConstraint("expires_at > starts_at", name=op.f("contact_locks_expiry_check")),
        sa.CheckConstraint(
            "num_nonnulls(holder_partner_id, holder_team, holder_rep_id) = 1",
            name=op.f("contact_locks_holder_check"),
        ),
        sa.CheckConstraint(
            "released_at IS NULL OR (released_at >= starts_at AND released_at < expires_at)",
            name=op.f("contact_locks_release_check"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name=op.f("contact_locks_tenant_id_customer_id_fkey"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("contact_locks_pkey")),
    )
    # The customer as a one-point text range: the exclusion constraint then needs only the
    # built-in GiST range operators, not btree_gist (which the embedded PostgreSQL lacks).
    op.execute(
        "ALTER TABLE contact_locks ADD COLUMN customer_key text_range GENERATED ALWAYS AS"
        " (text_range(tenant_id::text || '/' || customer_id,"
        " tenant_id::text || '/' || customer_id, '[]')) STORED NOT NULL"
    )
    op.execute(
        "ALTER TABLE contact_locks ADD CONSTRAINT contact_locks_one_active_excl"
        " EXCLUDE USING gist (customer_key WITH &&, period WITH &&)"
    )
    op.create_index(
        "ix_contact_locks_customer",
        "contact_locks",
        ["tenant_id", "customer_id", sa.literal_column("starts_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_contact_locks_started",
        "contact_locks",
        ["tenant_id", sa.literal_column("starts_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "contact_plans",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("actor_rep_id", sa.Text(), nullable=True),
        sa.Column("actor_team", sa.Text(), nullable=True),
        sa.Column("actor_partner_id", sa.Text(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_key", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_key", sa.Uuid(), nullable=True),
        sa.Column("touch_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "kind = 'filed' OR status IN ('approved', 'done')",
            name=op.f("contact_plans_reservation_check"),
        ),
        sa.CheckConstraint(
            "kind IN ('filed', 'reservation')", name=op.f("contact_plans_kind_check")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'done')",
            name=op.f("contact_plans_status_check"),
        ),
        sa.CheckConstraint("expires_at > planned_at", name=op.f("contact_plans_expiry_check")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            name=op.f("contact_plans_tenant_id_customer_id_fkey"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("contact_plans_pkey")),
    )
    op.create_index(
        "ix_contact_plans_created",
        "contact_plans",
        ["tenant_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_contact_plans_customer",
        "contact_plans",
        ["tenant_id", "customer_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_contact_plans_open",
        "contact_plans",
        ["tenant_id", "customer_id", "planned_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'approved')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_contact_plans_open",
        table_name="contact_plans",
        postgresql_where=sa.text("status IN ('pending', 'approved')"),
    )
    op.drop_index("ix_contact_plans_customer", table_name="contact_plans")
    op.drop_index("ix_contact_plans_created", table_name="contact_plans")
    op.drop_table("contact_plans")
    op.drop_index("ix_contact_locks_started", table_name="contact_locks")
    op.drop_index("ix_contact_locks_customer", table_name="contact_locks")
    op.drop_table("contact_locks")
    op.execute("DROP TYPE text_range")
    op.drop_index("ix_audit_events_customer", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
