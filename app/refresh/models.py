import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RefreshMark(Base):
    """A customer whose verdict may have changed: written in the transaction of the change,
    removed by the refresh that accounts for it (``seq`` tells a later change from it)."""

    __tablename__ = "refresh_marks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
        Index("ix_refresh_marks_seq", "seq"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, server_default=text("nextval('refresh_mark_seq')"))
    # a refresher took it then; another may take it once this has passed (a crash)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
