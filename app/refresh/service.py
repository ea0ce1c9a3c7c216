"""Asking for fresh verdicts: writers mark what they changed, in their own transaction."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.refresh import repository


async def customers_changed(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str]
) -> None:
    """Something a verdict depends on changed for these customers in the caller's
    transaction (touches, a profile, a reservation, a lock): the stored verdicts no longer
    hold, and reads judge them live until the refresher has stored new ones."""
    await repository.mark(session, tenant_id, customer_ids)


async def contacts_changed(
    session: AsyncSession, tenant_id: uuid.UUID, since: Mapping[str, datetime]
) -> None:
    """As ``customers_changed``, for changes to stored contacts (customer id -> the earliest
    instant changed): their contact facts are counted again from there too."""
    await repository.mark_facts(session, tenant_id, since)


async def tenant_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Every customer's verdict may change (a new policy)."""
    await repository.mark_tenant(session, tenant_id)


async def history_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Touches were written behind the service's back (a bulk copy): every verdict and
    every contact fact of the tenant is counted again."""
    await repository.mark_tenant(session, tenant_id, history=True)
