import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

UNJUDGED = text("direction = 'outbound' AND NOT automated AND late IS NULL")


class ContactFact(Base):
    """What a contact's history made of it, for analytics (see ``app.facts``): its
    own attributes copied beside the facts, so that a report reads this table alone."""

    __tablename__ = "contact_facts"
    __table_args__ = (
        # Reports read a tenant's range; a refresh reads a customer's recent facts.
        Index("ix_contact_facts_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index(
            "ix_contact_facts_tenant_id_customer_id_occurred_at",
            "tenant_id", "customer_id", "occurred_at",
        ),
        # Follow-ups whose lateness is still to be judged (app.analytics.lateness), by instant
        # (the background judge, reports) and by customer (retention).
        Index(
            "ix_contact_facts_unjudged", "tenant_id", "occurred_at", postgresql_where=UNJUDGED,
        ),
        Index(
            "ix_contact_facts_unjudged_by_customer", "tenant_id", "customer_id",
            postgresql_where=UNJUDGED,
        ),
    )  # fmt: skip

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    touch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    automated: Mapped[bool] = mapped_column(Boolean)
    actor_team: Mapped[str | None] = mapped_column(Text)
    actor_rep_id: Mapped[str | None] = mapped_column(Text)
    actor_partner_id: Mapped[str | None] = mapped_column(Text)
    # the follow-up number of an outbound contact, 1..10 ("10 or more"); null for inbound
    n: Mapped[int | None] = mapped_column(SmallInteger)
    effective: Mapped[bool] = mapped_column(Boolean)
    responded: Mapped[bool] = mapped_column(Boolean)
    opened: Mapped[bool] = mapped_column(Boolean)
    clicked: Mapped[bool] = mapped_column(Boolean)
    replied: Mapped[bool] = mapped_column(Boolean)
    meeting_booked: Mapped[bool] = mapped_column(Boolean)
    converted: Mapped[bool] = mapped_column(Boolean)
    completed: Mapped[bool] = mapped_column(Boolean)
    # a personal follow-up at or after the overdue_at just before it; null: not judged yet
    late: Mapped[bool | None] = mapped_column(Boolean)


class PendingFacts(Base):
    """A customer whose contact facts are still to be counted again from ``facts_from``: a
    list refreshed its verdict at once and left the facts (analytics, a few seconds behind)
    to the background refresher, which deletes the row in the transaction that counts them."""

    __tablename__ = "pending_facts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    facts_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutcomeCounts:
    """The touch-outcomes report's counts of the outbound contacts of one UTC day under one
    key (follow-up number, channel, category, automated, the actor's team)."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    day: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    automated: Mapped[bool] = mapped_column(Boolean)
    actor_team: Mapped[str | None] = mapped_column(Text)
    contacts: Mapped[int]
    opened: Mapped[int]
    clicked: Mapped[int]
    replied: Mapped[int]
    meeting_booked: Mapped[int]
    converted: Mapped[int]
    completed: Mapped[int]


class OutcomeRollup(OutcomeCounts, Base):
    """Folded counts, one row a key, of a UTC day or a UTC month (``span``; ``day`` is its
    first day): a report reads whole months, then whole days, then the facts of the hours
    at either end (``app.analytics.repository``)."""

    __tablename__ = "outcome_rollups"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "span", "day", "n", "channel", "category", "automated", "actor_team",
            name="uq_outcome_rollups_key", postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint(
            "span = 'day' OR (span = 'month' AND extract(day FROM day) = 1)",
            name="ck_outcome_rollups_span",
        ),
    )  # fmt: skip

    span: Mapped[str] = mapped_column(Text)


class OutcomeRollupDelta(OutcomeCounts, Base):
    """A statement's change to the contact facts, signed, appended by a trigger on them in
    the writer's transaction and folded into ``outcome_rollups`` by the refresher."""

    __tablename__ = "outcome_rollup_deltas"
    __table_args__ = (Index("ix_outcome_rollup_deltas_tenant_id_day", "tenant_id", "day"),)
