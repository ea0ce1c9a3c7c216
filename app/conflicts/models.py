import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

OPEN_STATUSES = ("pending", "approved")


class ContactPlan(Base):
    """A contact announced in advance: a filed (visit) plan, or a conflict check's reservation.

    Open while ``pending`` or ``approved`` and before ``expires_at``; ``expired`` is never
    stored, it is read off the clock. Reservations count against caps while open.
    """

    __tablename__ = "contact_plans"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.customer_id"]
        ),
        CheckConstraint("kind IN ('filed', 'reservation')", name="kind"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'done')", name="status"),
        CheckConstraint("kind = 'filed' OR status IN ('approved', 'done')", name="reservation"),
        CheckConstraint("expires_at > planned_at", name="expiry"),
        Index(
            "ix_contact_plans_open",
            "tenant_id", "customer_id", "planned_at",
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_contact_plans_customer", "tenant_id", "customer_id", text("created_at DESC")),
        Index("ix_contact_plans_created", "tenant_id", text("created_at DESC"), text("id DESC")),
    )  # fmt: skip

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    actor_rep_id: Mapped[str | None] = mapped_column(Text)
    actor_team: Mapped[str | None] = mapped_column(Text)
    actor_partner_id: Mapped[str | None] = mapped_column(Text)
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_key: Mapped[uuid.UUID]
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_key: Mapped[uuid.UUID | None]
    touch_id: Mapped[uuid.UUID | None]
