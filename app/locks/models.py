import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint
from sqlalchemy.dialects.postgresql.ranges import Range
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from app.db import Base


class TextRange(UserDefinedType[str]):
    """``text_range``, a range type over text (C collation) that the migrations create."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "text_range"


class ContactLock(Base):
    """A claim on a customer (deal registration), active over ``period``.

    At most one active lock per customer is the exclusion constraint's job: two claims'
    periods may not overlap. ``customer_key`` is the customer as a one-point range, so the
    constraint needs only the built-in GiST range operators (no btree_gist extension, which
    the embedded PostgreSQL lacks).
    """

    __tablename__ = "contact_locks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.customer_id"]
        ),
        CheckConstraint(
            "num_nonnulls(holder_partner_id, holder_team, holder_rep_id) = 1", name="holder"
        ),
        CheckConstraint("expires_at > starts_at", name="expiry"),
        CheckConstraint(
            "released_at IS NULL OR (released_at >= starts_at AND released_at < expires_at)",
            name="release",
        ),
        ExcludeConstraint(
            ("customer_key", "&&"), ("period", "&&"), name="contact_locks_one_active_excl"
        ),
        Index("ix_contact_locks_customer", "tenant_id", "customer_id", text("starts_at DESC")),
        Index("ix_contact_locks_started", "tenant_id", text("starts_at DESC"), text("id DESC")),
        # the walk that notices locks expiring and expired (outbound events)
        Index(
            "ix_contact_locks_expiry", "expires_at", postgresql_where=text("released_at IS NULL")
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    holder_partner_id: Mapped[str | None] = mapped_column(Text)
    holder_team: Mapped[str | None] = mapped_column(Text)
    holder_rep_id: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_key: Mapped[uuid.UUID]
    customer_key: Mapped[str] = mapped_column(
        TextRange(),
        Computed(
            "text_range(tenant_id::text || '/' || customer_id,"
            " tenant_id::text || '/' || customer_id, '[]')",
            persisted=True,
        ),
    )
    period: Mapped[Range[datetime]] = mapped_column(
        TSTZRANGE,
        Computed("tstzrange(starts_at, LEAST(expires_at, released_at), '[)')", persisted=True),
    )
