"""SQL for webhook sources."""

import uuid
from typing import Any, cast

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.webhooks.models import Source

sources = cast(Table, Source.__table__)


async def insert_new(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the source unless its name is taken (by any tenant); whether it was inserted."""
    stmt = pg_insert(sources).values(**values).on_conflict_do_nothing().returning(sources.c.name)
    return (await session.execute(stmt)).first() is not None


async def find_by_name(session: AsyncSession, name: str) -> RowMapping | None:
    """The source of a webhook path, whatever its tenant: the path names no tenant."""
    stmt = select(sources).where(sources.c.name == name)
    return (await session.execute(stmt)).mappings().one_or_none()


async def list_page(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: str | None, limit: int
) -> list[RowMapping]:
    stmt = select(sources).where(sources.c.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(sources.c.name > after)
    stmt = stmt.order_by(sources.c.name).limit(limit)
    return list((await session.execute(stmt)).mappings())
