"""SQL for contact locks. Whether a lock is active is read off its period and the clock."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, RowMapping, Table, and_, func, select, tuple_
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Fetch, erase_customer_rows
from app.locks.models import ContactLock

locks = cast(Table, ContactLock.__table__)
COLUMNS = [c for c in locks.c if c.name not in ("customer_key", "period")]


def active_at(at: datetime) -> ColumnElement[bool]:
    c = locks.c
    return and_(c.starts_at <= at, func.coalesce(c.released_at, c.expires_at) > at)


def status_is(status: str, now: datetime) -> ColumnElement[bool]:
    c = locks.c
    if status == "released":
        return c.released_at.is_not(None)
    if status == "expired":
        return and_(c.released_at.is_(None), c.expires_at <= now)
    return active_at(now)


async def not_ended(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, now: datetime
) -> list[RowMapping]:
    """A customer's locks that have not ended by ``now`` (that a claim now would overlap)."""
    c = locks.c
    stmt = (
        select(*COLUMNS)
        .where(c.tenant_id == tenant_id, c.customer_id == customer_id)
        .where(func.coalesce(c.released_at, c.expires_at) > now)
        .order_by(c.starts_at)
    )
    return list((await session.execute(stmt)).mappings())


async def insert_unless_overlapping(
    session: AsyncSession, row: dict[str, Any]
) -> RowMapping | None:
    """Insert a claim; None when the exclusion constraint finds another active lock."""
    stmt = insert(locks).values(**row).on_conflict_do_nothing().returning(*COLUMNS)
    return (await session.execute(stmt)).mappings().one_or_none()


async def get(
    session: AsyncSession, tenant_id: uuid.UUID, lock_id: uuid.UUID, *, for_update: bool = False
) -> RowMapping | None:
    stmt = select(*COLUMNS).where(locks.c.tenant_id == tenant_id, locks.c.id == lock_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().one_or_none()


async def set_end(
    session: AsyncSession, tenant_id: uuid.UUID, lock_id: uuid.UUID, **values: datetime
) -> RowMapping:
    """Move a lock's ``expires_at`` (renewal) or set its ``released_at`` (release)."""
    stmt = (
        sa_update(locks)
        .where(locks.c.tenant_id == tenant_id, locks.c.id == lock_id)
        .values(**values)
        .returning(*COLUMNS)
    )
    return (await session.execute(stmt)).mappings().one()


async def for_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, limit: int
) -> list[RowMapping]:
    stmt = (
        select(*COLUMNS)
        .where(locks.c.tenant_id == tenant_id, locks.c.customer_id == customer_id)
        .order_by(locks.c.starts_at.desc(), locks.c.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).mappings())


async def list_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    partner_id: str | None,
    status: str | None,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    c = locks.c
    stmt = select(*COLUMNS).where(c.tenant_id == tenant_id)
    if partner_id is not None:
        stmt = stmt.where(c.holder_partner_id == partner_id)
    if status is not None:
        stmt = stmt.where(status_is(status, now))
    if before is not None:
        stmt = stmt.where(tuple_(c.starts_at, c.id) < before)
    stmt = stmt.order_by(c.starts_at.desc(), c.id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def ending_between(session: AsyncSession, start: datetime, end: datetime) -> list[RowMapping]:
    """Every tenant's unreleased locks expiring in (start, end], by the expiry index."""
    c = locks.c
    stmt = (
        select(*COLUMNS)
        .where(c.released_at.is_(None), c.expires_at > start, c.expires_at <= end)
        .order_by(c.expires_at)
    )
    return list((await session.execute(stmt)).mappings())


ERASE_CONTACT_LOCKS = erase_customer_rows("contact_locks")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's locks."""
    await fetch(ERASE_CONTACT_LOCKS, tenant_id, customer_id)
