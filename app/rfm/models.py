import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.cadence.rfm import SEGMENTS
from app.db import Base

SCORE_RANGE = "BETWEEN 1 AND 5"
SEGMENT_LIST = ", ".join(f"'{s.name}'" for s in SEGMENTS)


class RfmSnapshot(Base):
    """When a tenant's RFM scores were last computed, and over how many buyers."""

    __tablename__ = "rfm_snapshots"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_days: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    outside: Mapped[int] = mapped_column(Integer)  # the tenant's other customers then


class RfmScore(Base):
    """A customer of the tenant's last RFM population (one with a purchase in the window);
    a customer with no row is outside it (segment ``none``)."""

    __tablename__ = "rfm_scores"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(f"r {SCORE_RANGE} AND f {SCORE_RANGE} AND m {SCORE_RANGE}", name="scores"),
        CheckConstraint(f"segment IN ({SEGMENT_LIST})", name="segment"),
        CheckConstraint("recency_days >= 0 AND frequency >= 1 AND monetary >= 0", name="metrics"),
        Index("ix_rfm_scores_segment", "tenant_id", "segment", "customer_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[Decimal] = mapped_column(Numeric(24, 4))
    r: Mapped[int] = mapped_column(SmallInteger)
    f: Mapped[int] = mapped_column(SmallInteger)
    m: Mapped[int] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(Text)
