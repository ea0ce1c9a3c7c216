"""SQL for RFM: scoring a tenant's buyers with window functions over the population, and
reading the snapshot back."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.cadence.rfm import SEGMENTS
from app.db import Fetch, erase_customer_rows
from app.refresh.repository import mark_from


def _segment_case() -> str:
    """The segment table as SQL: the first row whose inclusive ranges hold."""
    whens = " ".join(
        f"WHEN r BETWEEN {s.r[0]} AND {s.r[1]} AND f BETWEEN {s.f[0]} AND {s.f[1]}"
        f" AND m BETWEEN {s.m[0]} AND {s.m[1]} THEN '{s.name}'"
        for s in SEGMENTS[:-1]
    )
    return f"CASE {whens} ELSE '{SEGMENTS[-1].name}' END"


# $1 tenant, $2 as_of, $3 window_days. A metric's score counts the buyers strictly worse
# on it: rank() - 1 in the order from worst to best, so ties score alike. A customer whose
# segment changed is marked (rules match it); the rows of buyers gone from the window go.
# Both writes run in customer order, as every writer of customers and marks does.
RECOMPUTE = f"""
WITH bought AS (
    SELECT customer_id, max(occurred_at) AS last_at, count(*) AS frequency,
        coalesce(sum(amount), 0) AS monetary
    FROM touches
    WHERE tenant_id = $1 AND kind = 'purchase'
        AND occurred_at > $2::timestamptz - make_interval(days => $3::int)
        AND occurred_at <= $2::timestamptz
    GROUP BY customer_id
), ranked AS (
    SELECT customer_id, frequency, monetary, recency_days, count(*) OVER () AS n,
        rank() OVER (ORDER BY recency_days DESC) - 1 AS r_worse,
        rank() OVER (ORDER BY frequency) - 1 AS f_worse,
        rank() OVER (ORDER BY monetary) - 1 AS m_worse
    FROM (SELECT *,
              floor(extract(epoch FROM $2::timestamptz - last_at) / 86400)::int AS recency_days
          FROM bought) AS b
), scored AS (
    SELECT customer_id, recency_days, frequency, monetary, r, f, m, {_segment_case()} AS segment
    FROM (SELECT *, least(5, 1 + 5 * r_worse / n) AS r, least(5, 1 + 5 * f_worse / n) AS f,
              least(5, 1 + 5 * m_worse / n) AS m
          FROM ranked) AS s
), stored AS (
    INSERT INTO rfm_scores AS s
        (tenant_id, customer_id, recency_days, frequency, monetary, r, f, m, segment)
    SELECT $1, customer_id, recency_days, frequency, monetary, r, f, m, segment
    FROM scored ORDER BY customer_id
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET recency_days = excluded.recency_days,
        frequency = excluded.frequency, monetary = excluded.monetary, r = excluded.r,
        f = excluded.f, m = excluded.m, segment = excluded.segment
    RETURNING 1
), gone AS (
    DELETE FROM rfm_scores s WHERE s.tenant_id = $1
        AND NOT EXISTS (SELECT 1 FROM scored WHERE scored.customer_id = s.customer_id)
    RETURNING 1
), moved AS (
    SELECT c.customer_id, scored.segment
    FROM customers c LEFT JOIN scored ON scored.customer_id = c.customer_id
    WHERE c.tenant_id = $1 AND c.rfm_segment IS DISTINCT FROM scored.segment
    ORDER BY c.customer_id
    FOR UPDATE OF c
), changed AS (
    UPDATE customers c SET rfm_segment = moved.segment FROM moved
    WHERE c.tenant_id = $1 AND c.customer_id = moved.customer_id
    RETURNING c.customer_id
), marked AS ({mark_from("changed", "$1::uuid")}
), snapshot AS (
    INSERT INTO rfm_snapshots AS s (tenant_id, as_of, window_days, population, outside)
    SELECT $1, $2, $3, p.n, (SELECT count(*) FROM customers WHERE tenant_id = $1) - p.n
    FROM (SELECT count(*) AS n FROM scored) AS p
    ON CONFLICT (tenant_id) DO UPDATE SET as_of = excluded.as_of,
        window_days = excluded.window_days, population = excluded.population,
        outside = excluded.outside
    RETURNING population
)
SELECT (SELECT population FROM snapshot) AS population,
    (SELECT count(*) FROM changed) AS changed,
    (SELECT count(*) FROM stored) + (SELECT count(*) FROM gone) AS written
"""

# One recompute of a tenant at a time (in any process): the second waits, then scores anew.
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('touchbase.rfm:' || $1::uuid, 0))"


async def recompute(
    fetch: Fetch, tenant_id: uuid.UUID, as_of: datetime, window_days: int
) -> Mapping[str, Any]:
    """Score the tenant's buyers at ``as_of`` and store the snapshot (in the caller's
    transaction); how many buyers there are and how many segments changed."""
    await fetch(LOCK, tenant_id)
    (row,) = await fetch(RECOMPUTE, tenant_id, as_of, window_days)
    return row


SNAPSHOT = "SELECT as_of, population, outside FROM rfm_snapshots WHERE tenant_id = $1"


async def snapshot(fetch: Fetch, tenant_id: uuid.UUID) -> Mapping[str, Any] | None:
    rows = await fetch(SNAPSHOT, tenant_id)
    return rows[0] if rows else None


CUSTOMER = """
SELECT c.customer_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m,
    coalesce(s.segment, 'none') AS segment
FROM customers c LEFT JOIN rfm_scores s
    ON s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id
WHERE c.tenant_id = $1 AND c.customer_id = $2
"""


async def customer_scores(
    fetch: Fetch, tenant_id: uuid.UUID, customer_id: str
) -> Mapping[str, Any] | None:
    rows = await fetch(CUSTOMER, tenant_id, customer_id)
    return rows[0] if rows else None


SCORES_COLUMNS = "customer_id, recency_days, frequency, monetary, r, f, m, segment"
POPULATION_PAGE = f"""
SELECT {SCORES_COLUMNS} FROM rfm_scores
WHERE tenant_id = $1 AND ($2::text IS NULL OR segment = $2)
    AND ($3::text IS NULL OR customer_id > $3)
ORDER BY customer_id LIMIT $4
"""
OUTSIDE_PAGE = """
SELECT c.customer_id, NULL::int AS recency_days, NULL::int AS frequency,
    NULL::numeric AS monetary, NULL::smallint AS r, NULL::smallint AS f, NULL::smallint AS m,
    'none' AS segment
FROM customers c
WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.customer_id > $2)
    AND NOT EXISTS (SELECT 1 FROM rfm_scores s
                    WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id)
ORDER BY c.customer_id LIMIT $3
"""


async def page(
    fetch: Fetch, tenant_id: uuid.UUID, segment: str | None, after: str | None, limit: int
) -> list[Mapping[str, Any]]:
    """Customers in id order after ``after``: the population, one segment of it, or (``none``)
    the customers outside it."""
    if segment == "none":
        return list(await fetch(OUTSIDE_PAGE, tenant_id, after, limit))
    return list(await fetch(POPULATION_PAGE, tenant_id, segment, after, limit))


SUMMARY = """
SELECT segment, count(*) AS customers, sum(monetary) AS monetary
FROM rfm_scores WHERE tenant_id = $1 GROUP BY segment
"""


async def segment_totals(fetch: Fetch, tenant_id: uuid.UUID) -> list[Mapping[str, Any]]:
    return list(await fetch(SUMMARY, tenant_id))


# Tenants whose snapshot is older than $1 and something it scores came since: a purchase
# stored, or a policy activated. A tenant with none yet is due an hour after its first
# purchase (a read scores it at once).
DUE = """
SELECT t.id AS tenant_id FROM tenants t LEFT JOIN rfm_snapshots s ON s.tenant_id = t.id
WHERE CASE WHEN s.as_of IS NULL
    THEN EXISTS (SELECT 1 FROM touches p WHERE p.tenant_id = t.id AND p.kind = 'purchase'
                 AND p.received_at <= $1)
    ELSE s.as_of <= $1
        AND (EXISTS (SELECT 1 FROM touches p WHERE p.tenant_id = t.id AND p.kind = 'purchase'
                     AND p.received_at > s.as_of)
             OR EXISTS (SELECT 1 FROM policy_versions v WHERE v.tenant_id = t.id
                        AND v.created_at > s.as_of))
    END
ORDER BY s.as_of NULLS FIRST LIMIT $2
"""


async def due_tenants(fetch: Fetch, older_than: datetime, limit: int) -> list[uuid.UUID]:
    return [row["tenant_id"] for row in await fetch(DUE, older_than, limit)]


ERASE_RFM_SCORES = erase_customer_rows("rfm_scores")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's RFM scores."""
    await fetch(ERASE_RFM_SCORES, tenant_id, customer_id)
