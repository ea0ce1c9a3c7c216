"""SQL for event endpoints, events and their deliveries."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Fetch, erase_customer_rows
from app.events.models import Event, EventDelivery, EventEndpoint

endpoints = cast(Table, EventEndpoint.__table__)
events = cast(Table, Event.__table__)
deliveries = cast(Table, EventDelivery.__table__)


async def add_endpoint(session: AsyncSession, row: Mapping[str, Any]) -> RowMapping:
    stmt = insert(endpoints).values(**row).returning(*endpoints.c)
    return (await session.execute(stmt)).mappings().one()


async def get_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> RowMapping | None:
    c = endpoints.c
    stmt = select(*endpoints.c).where(c.tenant_id == tenant_id, c.id == endpoint_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().one_or_none()


async def list_endpoints(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[RowMapping]:
    c = endpoints.c
    stmt = select(*endpoints.c).where(c.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(c.id > after)
    return list((await session.execute(stmt.order_by(c.id).limit(limit))).mappings())


async def update_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, changes: dict[str, Any]
) -> RowMapping:
    c = endpoints.c
    stmt = (
        update(endpoints)
        .where(c.tenant_id == tenant_id, c.id == endpoint_id)
        .values(**changes)
        .returning(*endpoints.c)
    )
    return (await session.execute(stmt)).mappings().one()


async def delete_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    c = endpoints.c
    stmt = delete(endpoints).where(c.tenant_id == tenant_id, c.id == endpoint_id)
    return bool((await session.execute(stmt.returning(c.id))).first())


async def fail_pending(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, why: str, now: datetime
) -> None:
    """End the pending deliveries of an endpoint that was disabled."""
    d = deliveries.c
    await session.execute(
        update(deliveries)
        .where(d.tenant_id == tenant_id, d.endpoint_id == endpoint_id, d.status == "pending")
        .values(status="failed", next_attempt_at=None, last_error=why, updated_at=now)
    )


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    status: str | None,
    before: str | None,
    limit: int,
) -> list[RowMapping]:
    """An endpoint's deliveries, newest event first."""
    d, e = deliveries.c, events.c
    stmt = (
        select(
            d.event_id, e.type, e.occurred_at, d.status, d.attempts, d.last_status, d.last_error,
            d.next_attempt_at,
        )
        .join_from(deliveries, events, (e.tenant_id == d.tenant_id) & (e.id == d.event_id))
        .where(d.tenant_id == tenant_id, d.endpoint_id == endpoint_id)
    )  # fmt: skip
    if status is not None:
        stmt = stmt.where(d.status == status)
    if before is not None:
        stmt = stmt.where(d.event_id < before)
    stmt = stmt.order_by(d.event_id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def replay_failed(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    since: datetime,
    now: datetime,
) -> int:
    """Send again, with a fresh retry schedule, the failed deliveries of events since then."""
    d, e = deliveries.c, events.c
    replayed = (
        select(e.id)
        .where(e.tenant_id == tenant_id, e.occurred_at >= since)
        .where(e.id == d.event_id)
        .exists()
    )
    stmt = (
        update(deliveries)
        .where(d.tenant_id == tenant_id, d.endpoint_id == endpoint_id, d.status == "failed")
        .where(replayed)
        .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
        .returning(d.event_id)
    )
    return len((await session.execute(stmt)).all())


# Take due deliveries for an attempt: each is leased (its next attempt moved past the
# attempt's longest time) and counted before it is sent, so a process that dies mid-way
# leaves it to be tried again once the lease ends, never twice at once.
CLAIM_DUE = (
    "WITH due AS (SELECT tenant_id, endpoint_id, event_id FROM event_deliveries"
    " WHERE status = 'pending' AND next_attempt_at <= $1 AND NOT (endpoint_id = ANY($3::uuid[]))"
    " ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
    " UPDATE event_deliveries d SET next_attempt_at = $2, attempts = d.attempts + 1,"
    " updated_at = $1"
    " FROM due, events e, event_endpoints p"
    " WHERE d.tenant_id = due.tenant_id AND d.endpoint_id = due.endpoint_id"
    " AND d.event_id = due.event_id AND e.tenant_id = d.tenant_id AND e.id = d.event_id"
    " AND p.tenant_id = d.tenant_id AND p.id = d.endpoint_id"
    " RETURNING d.tenant_id, d.endpoint_id, d.event_id, d.attempts, e.type, e.occurred_at,"
    " e.data::text AS data, p.url, p.secret"
)


async def claim_due(
    driver: Any, now: datetime, lease_until: datetime, busy: Sequence[uuid.UUID], limit: int
) -> list[Mapping[str, Any]]:
    """Up to ``limit`` due deliveries of endpoints not in ``busy``, leased until then.
    ``driver``: an asyncpg connection (the statement commits by itself)."""
    rows: list[Mapping[str, Any]] = await driver.fetch(
        CLAIM_DUE, now, lease_until, list(busy), limit
    )
    return rows


# An attempt's result, unless the delivery changed meanwhile (a replay, a disabling).
RECORD_ATTEMPT = (
    "UPDATE event_deliveries SET status = $5, last_status = $6, last_error = $7,"
    " next_attempt_at = $8, updated_at = $9"
    " WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id = $3 AND attempts = $4"
    " AND status = 'pending'"
)


async def record_attempt(driver: Any, key: Sequence[Any], result: Sequence[Any]) -> None:
    """``key``: tenant, endpoint, event and the attempt's number; ``result``: status,
    last_status, last_error, next_attempt_at and now."""
    await driver.execute(RECORD_ATTEMPT, *key, *result)


DISABLE_GONE = (
    "WITH gone AS (UPDATE event_endpoints SET status = 'disabled', updated_at = $3"
    " WHERE tenant_id = $1 AND id = $2 AND status = 'enabled' RETURNING tenant_id, id)"
    " UPDATE event_deliveries d SET status = 'failed', next_attempt_at = NULL,"
    " last_error = $4, updated_at = $3 FROM gone"
    " WHERE d.tenant_id = gone.tenant_id AND d.endpoint_id = gone.id AND d.status = 'pending'"
)


async def disable_gone(
    driver: Any, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, why: str, now: datetime
) -> None:
    """Disable an endpoint whose receiver answered 410, failing its pending deliveries."""
    await driver.execute(DISABLE_GONE, tenant_id, endpoint_id, now, why)


ERASE_EVENTS = erase_customer_rows("events")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's outbound events, sent or not (and so their
    deliveries)."""
    await fetch(ERASE_EVENTS, tenant_id, customer_id)


# The oldest events recorded before $1 whose deliveries have all ended (up to $2 of them),
# deleted with their deliveries.
PRUNE = (
    "DELETE FROM events WHERE (tenant_id, id) IN (SELECT e.tenant_id, e.id FROM events e"
    " WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM event_deliveries d"
    " WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id AND d.status = 'pending')"
    " ORDER BY e.created_at LIMIT $2) RETURNING 1"
)


async def prune(fetch: Fetch, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` ended events recorded before then; how many."""
    return len(await fetch(PRUNE, before, limit))
