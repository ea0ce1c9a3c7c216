"""outbound events

The outbox of outbound events (recorded in the transaction of the change that causes them),
the endpoints that take them, each event's delivery to each endpoint, and the cursors of the
walks that notice time-driven events. Schedules keep their status, so the refresher tells
a customer entering a status from one staying in it; expiring locks are found by an index.

Revision ID: 9a4f2c6e8b13
Revises: 5e1b7c9d2f30
Create Date: 2026-12-07 08:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9a4f2c6e8b13"
down_revision: str | None = "5e1b7c9d2f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "event_endpoints",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
        sa.CheckConstraint(
            "status IN ('enabled', 'disabled')", name=op.f("event_endpoints_status_check")
        ),
        sa.CheckConstraint(
            "cardinality(events) BETWEEN 1 AND 64", name=op.f("event_endpoints_events_check")
        ),
    )
    op.create_table(
        "events",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("type", sa.Text(), nullable=False),
        _instant("occurred_at"),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        _instant("created_at"),
    )
    op.create_index("ix_events_customer", "events", ["tenant_id", "customer_id"])
    op.create_table(
        "event_deliveries",
        sa.Column("tenant_id", sa.Uuid(), primary_key=True),
        sa.Column("endpoint_id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("last_status", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("next_attempt_at", nullable=True),
        _instant("updated_at"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["event_endpoints.tenant_id", "event_endpoints.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("event_deliveries_status_check"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (next_attempt_at IS NOT NULL)",
            name=op.f("event_deliveries_schedule_check"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("event_deliveries_attempts_check")),
    )
    op.create_index(
        "ix_event_deliveries_due",
        "event_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_event_deliveries_event", "event_deliveries", ["tenant_id", "event_id"])
    # Delivery workers LISTEN: a commit that adds deliveries wakes them at once.
    op.execute(
        "CREATE FUNCTION event_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF EXISTS (SELECT 1 FROM added) THEN"
        " PERFORM pg_notify('touchbase_event_deliveries', ''); END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER event_deliveries_notify AFTER INSERT ON event_deliveries"
        " REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION event_deliveries_notify()"
    )
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.Text(), primary_key=True),
        _instant("position"),
    )
    op.create_index(
        "ix_contact_locks_expiry",
        "contact_locks",
        ["expires_at"],
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.add_column("customer_schedules", sa.Column("status", sa.Text(), nullable=True))
    op.execute(
        "UPDATE customer_schedules s SET status = convert_from(d.document, 'UTF8')::jsonb"
        " ->> 'status' FROM status_documents d"
        " WHERE d.tenant_id = s.tenant_id AND d.customer_id = s.customer_id"
    )


def downgrade() -> None:
    op.drop_column("customer_schedules", "status")
    op.drop_index("ix_contact_locks_expiry", table_name="contact_locks")
    op.drop_table("event_cursors")
    op.drop_table("event_deliveries")
    op.execute("DROP FUNCTION event_deliveries_notify()")
    op.drop_table("events")
    op.drop_table("event_endpoints")
