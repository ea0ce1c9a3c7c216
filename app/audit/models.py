import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class AuditEvent(Base):
    """Append-only: who did what to which customer's locks and plans, when, and the outcome."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "tenant_id", text("at DESC"), text("id DESC")),
        Index(
            "ix_audit_events_customer", "tenant_id", "customer_id", text("at DESC"), text("id DESC")
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[uuid.UUID]
    actor_rep_id: Mapped[str | None] = mapped_column(Text)
    actor_team: Mapped[str | None] = mapped_column(Text)
    actor_partner_id: Mapped[str | None] = mapped_column(Text)
    lock_id: Mapped[uuid.UUID | None]
    plan_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
