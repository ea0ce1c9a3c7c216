"""Asking for fresh verdicts: writers mark what they changed, in their own transaction."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.refresh import repository


async def customers_changed(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str]
) -> None:
    """Something a verdict depends on changed for these customers in the caller's
    transaction (touches, a profile, a reservation, a lock): the stored verdicts no longer
    hold, and reads judge them live until the refresher has stored new ones."""
    await repository.mark(session, tenant_id, customer_ids)


async def tenant_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Every customer's verdict may change (a new policy)."""
    await repository.mark_tenant(session, tenant_id)
