"""SQL for the audit log: append, and read newest first."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, Table, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.db import Fetch

events = cast(Table, AuditEvent.__table__)


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(events).values(**row))


async def list_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    customer_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    c = events.c
    stmt = select(events).where(c.tenant_id == tenant_id)
    if customer_id is not None:
        stmt = stmt.where(c.customer_id == customer_id)
    if since is not None:
        stmt = stmt.where(c.at >= since)
    if until is not None:
        stmt = stmt.where(c.at <= until)
    if before is not None:
        stmt = stmt.where(tuple_(c.at, c.id) < before)
    stmt = stmt.order_by(c.at.desc(), c.id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


PSEUDONYMISE = "UPDATE audit_events SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2"


async def pseudonymise_customer(
    fetch: Fetch, tenant_id: uuid.UUID, customer_id: str, pseudonym: str
) -> None:
    """An erased customer's audit rows keep the decisions, under the pseudonym."""
    await fetch(PSEUDONYMISE, tenant_id, customer_id, pseudonym)
