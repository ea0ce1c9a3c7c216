"""SQL for refresh marks: set-based marking, claiming in rounds, settling after a refresh."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Fetch, Positional
from app.refresh.models import RefreshMark

marks = cast(Table, RefreshMark.__table__)

# In customer order, so concurrent writers lock marks in one order. A change to a customer
# whose mark a refresh has claimed takes a new seq and frees the claim: that refresh does not
# account for it. A mark no refresh has claimed yet stands for the change as it is (the
# refresh that claims it later reads it), so it is left unwritten, unless the change reaches
# further back into the customer's contact facts than the mark said.
REMARK = (
    " ON CONFLICT (tenant_id, customer_id) DO UPDATE SET seq = CASE WHEN"
    " refresh_marks.claimed_until IS NULL THEN refresh_marks.seq"
    " ELSE nextval('refresh_mark_seq') END, claimed_until = NULL,"
    " facts_from = least(refresh_marks.facts_from, excluded.facts_from)"
    " WHERE refresh_marks.claimed_until IS NOT NULL OR excluded.facts_from"
    " < coalesce(refresh_marks.facts_from, 'infinity')"
)


def mark_from(source: str, tenant: str, facts_from: str | None = None) -> str:
    """A statement marking every ``customer_id`` of ``source`` (for a data-modifying WITH);
    ``facts_from``: an expression over its rows, the instants from which each customer's
    contact facts may have changed (the earliest counts; null: none)."""
    since = f"min({facts_from})" if facts_from else "CAST(NULL AS timestamptz)"
    return (
        f"INSERT INTO refresh_marks (tenant_id, customer_id, facts_from) SELECT {tenant},"
        f" customer_id, {since} FROM {source} GROUP BY customer_id ORDER BY 2" + REMARK
    )


MARK = text(mark_from("unnest(CAST(:ids AS text[])) AS u(customer_id)", "CAST(:tenant_id AS uuid)"))
MARK_FACTS = text(
    mark_from(
        "unnest(CAST(:ids AS text[]), CAST(:since AS timestamptz[])) AS u(customer_id, since)",
        "CAST(:tenant_id AS uuid)",
        facts_from="since",
    )
)
MARK_TENANT = text(mark_from("customers WHERE tenant_id = :tenant_id", "CAST(:tenant_id AS uuid)"))
MARK_TENANT_HISTORY = text(
    mark_from(
        "customers WHERE tenant_id = :tenant_id",
        "CAST(:tenant_id AS uuid)",
        facts_from="CAST('-infinity' AS timestamptz)",
    )
)


async def mark(session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str]) -> None:
    if customer_ids:
        ids = sorted(set(customer_ids))
        await session.execute(MARK, {"tenant_id": tenant_id, "ids": ids})


async def mark_facts(
    session: AsyncSession, tenant_id: uuid.UUID, since: Mapping[str, datetime]
) -> None:
    if since:
        ids = sorted(since)
        params = {"tenant_id": tenant_id, "ids": ids, "since": [since[i] for i in ids]}
        await session.execute(MARK_FACTS, params)


async def mark_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, *, history: bool = False
) -> None:
    statement = MARK_TENANT_HISTORY if history else MARK_TENANT
    await session.execute(statement, {"tenant_id": tenant_id})


@dataclass(frozen=True, slots=True)
class Claimed:
    tenant_id: uuid.UUID
    customer_id: str
    seq: int
    facts_from: datetime | None = None


# The oldest marks nobody holds; SKIP LOCKED lets refreshers in several processes take
# different ones at once.
CLAIM = text(
    "UPDATE refresh_marks m SET claimed_until = :until FROM ("
    " SELECT tenant_id, customer_id FROM refresh_marks"
    " WHERE claimed_until IS NULL OR claimed_until <= :now"
    " ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED) AS c"
    " WHERE m.tenant_id = c.tenant_id AND m.customer_id = c.customer_id"
    " RETURNING m.tenant_id, m.customer_id, m.seq, m.facts_from"
)


async def claim(session: AsyncSession, now: datetime, until: datetime, limit: int) -> list[Claimed]:
    rows = await session.execute(CLAIM, {"now": now, "until": until, "limit": limit})
    return [Claimed(r.tenant_id, r.customer_id, r.seq, r.facts_from) for r in rows]


CLAIM_THESE = text(
    "UPDATE refresh_marks m SET claimed_until = :until FROM unnest(CAST(:ids AS text[])) AS u(id)"
    " WHERE m.tenant_id = :tenant_id AND m.customer_id = u.id"
    " RETURNING m.tenant_id, m.customer_id, m.seq, m.facts_from"
)


async def claim_these(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str], until: datetime
) -> list[Claimed]:
    """Claim the marks of these customers (a list about to refresh them itself), waiting for
    writers still at them."""
    params = {"tenant_id": tenant_id, "ids": sorted(set(customer_ids)), "until": until}
    rows = await session.execute(CLAIM_THESE, params)
    return [Claimed(r.tenant_id, r.customer_id, r.seq, r.facts_from) for r in rows]


# A mark goes only if no change came after the seq the refresh accounted for; one that did
# is handed back at once for the next round.
SETTLE = Positional.of(
    "WITH done AS (DELETE FROM refresh_marks m USING unnest(CAST(:ids AS text[]),"
    " CAST(:seqs AS bigint[])) AS u(id, seq) WHERE m.tenant_id = :tenant_id"
    " AND m.customer_id = u.id AND m.seq = u.seq RETURNING m.customer_id)"
    " UPDATE refresh_marks m SET claimed_until = NULL WHERE m.tenant_id = :tenant_id"
    " AND m.customer_id = ANY(CAST(:ids AS text[]))"
    " AND m.customer_id NOT IN (SELECT customer_id FROM done)"
)


LOCK_MARKS = (
    "SELECT customer_id FROM refresh_marks WHERE tenant_id = $1 AND customer_id = ANY($2::text[])"
    " ORDER BY customer_id FOR UPDATE"
)


async def settle(fetch: Fetch, tenant_id: uuid.UUID, seqs: Mapping[str, int]) -> None:
    """Remove the marks a refresh accounted for (customer id -> the seq it saw); they are
    locked in customer order first, the order writers mark in."""
    if seqs:
        ids = sorted(seqs)
        await fetch(LOCK_MARKS, tenant_id, ids)
        params = {"tenant_id": tenant_id, "ids": ids, "seqs": [seqs[i] for i in ids]}
        await fetch(SETTLE.sql, *SETTLE.args(params))
