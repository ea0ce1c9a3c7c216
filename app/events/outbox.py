"""The outbox: events recorded in the transaction of the change that causes them, with a
pending delivery to every enabled endpoint of the tenant that takes their type. An event
no endpoint takes is not recorded at all, so a tenant without endpoints pays one index
probe per statement."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Fetch, Positional, driver_fetch


@dataclass(frozen=True, slots=True)
class NewEvent:
    tenant_id: uuid.UUID
    type: str
    occurred_at: datetime
    data: str  # JSON text: the customer's status, the plan or the lock, as an admin reads it
    customer_id: str | None = None


def takes(endpoint: str, event_type: str) -> str:
    """SQL: the endpoint (alias) is enabled and takes events of the type."""
    return (
        f"{endpoint}.status = 'enabled' AND ({event_type} = ANY({endpoint}.events)"
        f" OR '*' = ANY({endpoint}.events))"
    )


# An event id: ``evt_``, the instant it was recorded in microseconds (hex, so ids sort in
# the order they were recorded) and 16 random hex digits.
EVENT_ID = (
    "'evt_' || lpad(to_hex((extract(epoch FROM CAST(:now AS timestamptz)) * 1000000)::bigint),"
    " 14, '0') || substr(md5(gen_random_uuid()::text), 1, 16)"
)

RECORD = Positional.of(
    "WITH wanted AS (SELECT u.* FROM unnest(CAST(:tenant_ids AS uuid[]),"
    " CAST(:types AS text[]), CAST(:occurred AS timestamptz[]), CAST(:customers AS text[]),"
    " CAST(:data AS text[])) AS u(tenant_id, type, occurred_at, customer_id, data)"
    " WHERE EXISTS (SELECT 1 FROM event_endpoints e WHERE e.tenant_id = u.tenant_id AND "
    + takes("e", "u.type")
    + ")), recorded AS (INSERT INTO events"
    " (tenant_id, id, type, occurred_at, customer_id, data, created_at)"
    f" SELECT tenant_id, {EVENT_ID}, type, occurred_at, customer_id, CAST(data AS jsonb), :now"
    " FROM wanted RETURNING tenant_id, id, type)"
    " INSERT INTO event_deliveries"
    " (tenant_id, endpoint_id, event_id, status, attempts, next_attempt_at, updated_at)"
    " SELECT r.tenant_id, e.id, r.id, 'pending', 0, :now, :now FROM recorded r"
    " JOIN event_endpoints e ON e.tenant_id = r.tenant_id AND " + takes("e", "r.type")
)


async def record(fetch: Fetch, events: Sequence[NewEvent], now: datetime) -> None:
    """Record the events some endpoint takes, in the caller's transaction."""
    if not events:
        return
    params = {
        "tenant_ids": [e.tenant_id for e in events],
        "types": [e.type for e in events],
        "occurred": [e.occurred_at for e in events],
        "customers": [e.customer_id for e in events],
        "data": [e.data for e in events],
        "now": now,
    }
    await fetch(RECORD.sql, *RECORD.args(params))


SUBSCRIBED = (
    "SELECT EXISTS (SELECT 1 FROM event_endpoints e WHERE e.tenant_id = $1"
    " AND e.status = 'enabled' AND (e.events && $2::text[] OR '*' = ANY(e.events)))"
)


async def subscribed(fetch: Fetch, tenant_id: uuid.UUID, types: Sequence[str]) -> bool:
    """Whether an enabled endpoint of the tenant takes any of the types."""
    rows = await fetch(SUBSCRIBED, tenant_id, list(types))
    return bool(rows[0]["exists"])


async def record_in(session: AsyncSession, events: Sequence[NewEvent], now: datetime) -> None:
    """Record the events in the session's transaction."""
    if events:
        await record(await driver_fetch(session), events, now)


CURSOR_START = "INSERT INTO event_cursors (name, position) VALUES ($1, $2)" \
    " ON CONFLICT (name) DO NOTHING RETURNING position"  # fmt: skip
CURSOR_HOLD = "SELECT position FROM event_cursors WHERE name = $1 FOR UPDATE SKIP LOCKED"
CURSOR_MOVE = "UPDATE event_cursors SET position = $2 WHERE name = $1"


async def walk_from(fetch: Fetch, name: str, now: datetime) -> datetime | None:
    """Where the walk ``name`` got to, moved on to ``now`` in the caller's transaction (which
    holds it: a second process skips the walk meanwhile). None: nothing to walk (the first
    walk starts at now; another process walks; time has not moved on)."""
    if await fetch(CURSOR_START, name, now):
        return None
    rows = await fetch(CURSOR_HOLD, name)
    if not rows or rows[0]["position"] >= now:
        return None
    await fetch(CURSOR_MOVE, name, now)
    position: datetime = rows[0]["position"]
    return position
