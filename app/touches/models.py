import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

RESPONSE_CONDITION = (
    "(kind = 'contact' AND direction = 'inbound') OR (kind = 'engagement' AND outcome IN"
    " ('opened', 'clicked', 'replied', 'meeting_booked', 'converted'))"
)
SIGNAL_CONDITION = "kind = 'engagement' AND outcome IN ('unsubscribed', 'complained')"
MANUAL_OUTBOUND_CONDITION = "kind = 'contact' AND direction = 'outbound' AND NOT automated"


class Touch(Base):
    """Append-only record of every interaction with a customer."""

    __tablename__ = "touches"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.customer_id"]
        ),
        # Deduplication is the database's job: concurrent retries store one row.
        UniqueConstraint("tenant_id", "source", "external_id"),
        CheckConstraint("kind IN ('contact', 'engagement', 'purchase')", name="kind"),
        CheckConstraint("direction IN ('outbound', 'inbound')", name="direction"),
        CheckConstraint(
            "category IS NULL OR category IN ('marketing', 'sales', 'service', 'partner')",
            name="category",
        ),
        CheckConstraint("depth IS NULL OR depth IN ('light', 'value', 'deep')", name="depth"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        Index(
            "ix_touches_customer_history",
            "tenant_id", "customer_id", text("occurred_at DESC"), text("id DESC"),
        ),
        Index(
            "ix_touches_engagement_ref",
            "tenant_id", "source", "ref_external_id",
            postgresql_where=text("ref_external_id IS NOT NULL"),
        ),
        # Counting a stretch of a customer's contacts reads this index alone (index-only).
        Index(
            "ix_touches_contact_counts",
            "tenant_id", "customer_id", "occurred_at",
            postgresql_include=["channel", "direction", "automated", "depth", "engaged_at"],
            postgresql_where=text("kind = 'contact'"),
        ),
        # Rules that do not count automated contacts run their clock from the last personal
        # one, and count them since the stage began.
        Index(
            "ix_touches_last_manual_outbound",
            "tenant_id", "customer_id", text("occurred_at DESC"),
            postgresql_where=text(MANUAL_OUTBOUND_CONDITION),
        ),
        # Emails opened only after a past instant judged: open rates leave them out.
        Index(
            "ix_touches_late_engagement",
            "tenant_id", "customer_id", "engaged_at",
            postgresql_include=["occurred_at"],
            postgresql_where=text(
                "kind = 'contact' AND direction = 'outbound' AND channel = 'email'"
                " AND engaged_at IS NOT NULL"
            ),
        ),
        # "The last inbound contact at or before an instant" is one index probe, whatever the
        # history (the last outbound one walks ix_touches_contact_counts back: most are).
        Index(
            "ix_touches_last_inbound",
            "tenant_id", "customer_id", text("occurred_at DESC"),
            postgresql_where=text("kind = 'contact' AND direction = 'inbound'"),
        ),
        Index(
            "ix_touches_responses",
            "tenant_id", "customer_id", text("occurred_at DESC"),
            postgresql_include=["channel"],
            postgresql_where=text(RESPONSE_CONDITION),
        ),
        Index(
            "ix_touches_signals",
            "tenant_id", "customer_id", text("occurred_at DESC"),
            postgresql_include=["outcome", "channel"],
            postgresql_where=text(SIGNAL_CONDITION),
        ),
        # RFM reads a tenant's purchases in a window, and asks whether one came since a
        # snapshot; purchases are few, so these cost contacts nothing but a predicate.
        Index(
            "ix_touches_purchases",
            "tenant_id", "occurred_at",
            postgresql_include=["customer_id", "amount"],
            postgresql_where=text("kind = 'purchase'"),
        ),
        Index(
            "ix_touches_purchases_received",
            "tenant_id", "received_at",
            postgresql_where=text("kind = 'purchase'"),
        ),
    )  # fmt: skip

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    actor_rep_id: Mapped[str | None] = mapped_column(Text)
    actor_team: Mapped[str | None] = mapped_column(Text)
    actor_partner_id: Mapped[str | None] = mapped_column(Text)
    automated: Mapped[bool]
    depth: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    ref_external_id: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the first opened or clicked engagement pointing at this contact occurred.
    engaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ErasedTouchKey(Base):
    """The digest of an erased touch's (source, external_id): a redelivery of it is known
    for a duplicate, and nothing personal is kept."""

    __tablename__ = "erased_touch_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key_digest: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TouchRetention(Base):
    """How far retention has expired a tenant's touches (only ever forward)."""

    __tablename__ = "touch_retention"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    expired_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
