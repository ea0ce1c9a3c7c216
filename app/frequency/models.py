import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Index, LargeBinary, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


def _owned_by_customer() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "customer_id"],
        ["customers.tenant_id", "customers.customer_id"],
        ondelete="CASCADE",
    )


class CustomerDayCount(Base):
    """Contacts of one customer on one UTC day and channel: windows read these, not history.
    No foreign key: they are written only with the touches they count, whose key holds."""

    __tablename__ = "customer_day_counts"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    outbound: Mapped[int] = mapped_column(server_default="0")
    outbound_automated: Mapped[int] = mapped_column(server_default="0")
    inbound: Mapped[int] = mapped_column(server_default="0")
    light: Mapped[int] = mapped_column(server_default="0")
    value: Mapped[int] = mapped_column(server_default="0")
    deep: Mapped[int] = mapped_column(server_default="0")
    engaged: Mapped[int] = mapped_column(server_default="0")


class CustomerSchedule(Base):
    """The engine's verdict for a customer, kept so queues and lists are index scans.

    Valid until ``recheck_at``; before then only time crossing ``due_at`` or ``overdue_at``
    changes the status, which SQL compares with now.
    """

    __tablename__ = "customer_schedules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_customer_schedules_rep_queue",
            "tenant_id", "owner_rep", text("weight DESC"), "due_at", "customer_id",
        ),
        Index(
            "ix_customer_schedules_team_queue",
            "tenant_id", "owner_team", text("weight DESC"), "due_at", "customer_id",
        ),
        Index("ix_customer_schedules_recheck", "tenant_id", "recheck_at"),
        # after a policy change, the schedules of the old version (versions only grow)
        Index("ix_customer_schedules_policy_version", "tenant_id", "policy_version"),
    )  # fmt: skip

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    policy_version: Mapped[int]
    rule: Mapped[str] = mapped_column(Text)
    # the status at ``refreshed_at``: a refresh that changes it is a customer.* event
    status: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    never_contacted: Mapped[bool]
    suppressed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    over_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recheck_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    weight: Mapped[float]
    owner_rep: Mapped[str | None] = mapped_column(Text)
    owner_team: Mapped[str | None] = mapped_column(Text)
    segment: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the refresh mark this verdict accounts for: an older computation never overwrites it
    computed_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")


class StatusDocument(Base):
    """A customer's whole status (as ``GET /status`` answers it, without ``as_of``), judged at
    ``computed_at`` and true until ``valid_until`` unless something is written."""

    __tablename__ = "status_documents"
    __table_args__ = (
        _owned_by_customer(),
        Index("ix_status_documents_valid_until", "valid_until"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    # what a conflict check reads besides the document (last outbound contacts, unsubscribes
    # and complaints, locks): facts, true at any instant until something is written
    facts: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    computed_seq: Mapped[int] = mapped_column(BigInteger)
