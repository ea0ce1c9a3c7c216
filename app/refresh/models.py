import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RefreshMark(Base):
    """A customer whose verdict may have changed: written in the transaction of the change,
    removed by the refresh that accounts for it (``seq`` tells a later change from it).

    Every write of a customer updates its mark, so the table carries no index but its key:
    the update then stays on its page (HOT), and refreshers sort the few thousand marks
    waiting at most."""

    __tablename__ = "refresh_marks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.customer_id"],
            ondelete="CASCADE",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, server_default=text("nextval('refresh_mark_seq')"))
    # a refresher took it then; another may take it once this has passed (a crash)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the earliest instant whose contact facts (analytics) the changes may have changed
    facts_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
