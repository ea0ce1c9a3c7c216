import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Source(Base):
    """A partner system allowed to post signed webhooks."""

    __tablename__ = "sources"
    __table_args__ = (
        # The webhook path names no tenant, so a name is unique across the whole service:
        # the one key here without tenant_id (a reference table when distributed).
        UniqueConstraint("name"),
        CheckConstraint("kind IN ('generic', 'sendgrid')", name="kind"),
        CheckConstraint(
            "(kind = 'generic') = (secret IS NOT NULL)"
            " AND (kind = 'sendgrid') = (verification_public_key IS NOT NULL)",
            name="credentials",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    # The HMAC key must be kept to verify signatures; it is shown to the admin only once.
    secret: Mapped[str | None] = mapped_column(Text)
    verification_public_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
