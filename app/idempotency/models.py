import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class IdempotencyRecord(Base):
    """The first response to a POST carrying an ``Idempotency-Key``, kept to answer repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (CheckConstraint("state IN ('running', 'done')", name="state"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(Text)
    response_status: Mapped[int | None]
    response_content_type: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Which run holds the claim, so a run whose lease lapsed cannot settle its successor's.
    # Null for claims taken before runs had ids.
    run_id: Mapped[uuid.UUID | None]
