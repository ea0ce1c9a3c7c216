"""SQL for the lists (work queues and statuses by status): the key, whether a list must
refresh verdicts before it answers, and its page, in one statement on the driver.

Each variant of a list (which scope columns, which status, where a cursor stands) is its own
statement text, built once: the planner then sees plain equalities and seeks the queue
indexes, and asyncpg prepares each text once per connection."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from app.tenants import repository as tenants_repo

KEY = tenants_repo.live_key()
# A stored schedule's status at $3: what the engine would say, compared in SQL (the same
# order as app.cadence.status).
STATUS = (
    "CASE WHEN s.suppressed_until > $3 THEN 'suppressed'"
    " WHEN s.over_until > $3 THEN 'over_contacted' WHEN s.overdue_at <= $3 THEN 'overdue'"
    " WHEN s.never_contacted OR s.due_at <= $3 THEN 'due' ELSE 'on_track' END"
)
ITEM = (
    "s.customer_id, s.due_at, s.overdue_at, s.segment, s.owner_rep, s.owner_team, s.rule,"
    f" s.weight, {STATUS} AS status"
)


@dataclass(frozen=True, slots=True)
class ListScope:
    """The scope columns a list filters on, in a fixed order, and their values."""

    columns: tuple[str, ...]
    values: tuple[str, ...]

    @classmethod
    def of(cls, **filters: str | None) -> "ListScope":
        named = [(c, v) for c, v in filters.items() if v is not None]
        return cls(tuple(c for c, _ in named), tuple(v for _, v in named))


def _equal(alias: str, columns: Sequence[str], first: int) -> str:
    return "".join(f" AND {alias}.{c} = ${first + i}" for i, c in enumerate(columns))


def _stale(columns: Sequence[str], first: int, recheck: str) -> str:
    """Some customer of the scope is marked (scoped by its profile now or its schedule when
    last judged), or its schedule's recheck time has passed."""
    now_in, was_in = _equal("c", columns, first)[5:], _equal("v", columns, first)[5:]
    marked_scope = f" AND (({now_in}) OR ({was_in}))" if columns else ""
    return (
        "(EXISTS (SELECT 1 FROM refresh_marks m JOIN customers c ON c.tenant_id = m.tenant_id"
        " AND c.customer_id = m.customer_id LEFT JOIN customer_schedules v"
        " ON v.tenant_id = m.tenant_id AND v.customer_id = m.customer_id"
        f" WHERE m.tenant_id = $1{marked_scope})"
        " OR EXISTS (SELECT 1 FROM customer_schedules v WHERE v.tenant_id = $1"
        f"{_equal('v', columns, first)} AND v.recheck_at <= {recheck}))"
    )


# Whether anything of a tenant waits to be refreshed (a mark, a schedule past its recheck time,
# facts a list left pending): $1 the tenant, $2 now. A report refreshes only when it does. The
# earliest recheck time is read off the index whatever the plan: under a generic plan, an
# EXISTS of the schedules past $2 is planned as a scan of them all.
TENANT_STALE = """
SELECT EXISTS (SELECT 1 FROM refresh_marks m WHERE m.tenant_id = $1)
    OR coalesce((SELECT min(v.recheck_at) FROM customer_schedules v WHERE v.tenant_id = $1) <= $2,
                false)
    OR EXISTS (SELECT 1 FROM pending_facts p WHERE p.tenant_id = $1)
"""


@cache
def queue_sql(columns: tuple[str, ...], status: str | None, cursor: bool | None) -> str:
    """A work-queue page. $3 the instant the queue is read at, $4 the due cutoff, $5 the page
    size, $6 now (for staleness), $7.. the cursor (weight, due_at, customer_id) when
    ``cursor`` is set (True: it stands in the overdue part), then the scope values."""
    first = 10 if cursor is not None else 7
    scope = _equal("s", columns, first)
    seek = " AND s.weight <= $7 AND (s.weight < $7 OR (s.due_at, s.customer_id) > ($8, $9))"
    parts = []
    for late in (True, False):
        if (status == "overdue" and not late) or (status == "due" and late):
            continue
        if cursor is False and late:
            continue  # the cursor is past the overdue part
        overdue = "s.overdue_at <= $3" if late else "(s.overdue_at IS NULL OR s.overdue_at > $3)"
        filters = f" AND {STATUS} = '{status}'" if status else ""
        after = seek if cursor is late else ""
        parts.append(
            f"(SELECT {ITEM}, {str(late).lower()} AS late FROM customer_schedules s"
            f" WHERE s.tenant_id = $1{scope} AND s.due_at <= $4 AND {overdue}"
            f" AND NOT coalesce(s.suppressed_until > $3, false){filters}{after}"
            " ORDER BY s.weight DESC, s.due_at, s.customer_id LIMIT $5)"
        )
    page = " UNION ALL ".join(parts)
    return (
        f"WITH {KEY} SELECT key.id, key.role, key.partner_id, {_stale(columns, first, '$6')}"
        f" AS stale, q.* FROM key LEFT JOIN LATERAL (SELECT * FROM ({page}) AS p"
        " ORDER BY p.late DESC, p.weight DESC, p.due_at, p.customer_id LIMIT $5) AS q ON true"
    )


@dataclass(frozen=True, slots=True)
class QueueCursor:
    late: bool
    weight: float
    due_at: datetime
    customer_id: str


async def queue_page(
    driver: Any,
    tenant_id: uuid.UUID,
    key_hash: bytes,
    scope: ListScope,
    *,
    as_of: datetime,
    cutoff: datetime,
    now: datetime,
    status: str | None,
    after: QueueCursor | None,
    limit: int,
) -> list[Mapping[str, Any]]:
    """The key's row (no rows: no live key), with ``stale`` and the page's items (none: the
    columns of the one row are null)."""
    cursor = (after.weight, after.due_at, after.customer_id) if after else ()
    sql = queue_sql(scope.columns, status, after.late if after else None)
    rows: list[Mapping[str, Any]] = await driver.fetch(
        sql, tenant_id, key_hash, as_of, cutoff, limit, now, *cursor, *scope.values
    )
    return rows


@cache
def statuses_sql(columns: tuple[str, ...], status: str | None, cursor: bool) -> str:
    """A page of customers by status, in id order. $3 now, $4 the page size, $5 the id the
    cursor stands at (with ``cursor``), then the scope values."""
    first = 6 if cursor else 5
    filters = _equal("s", columns, first)
    filters += f" AND {STATUS} = '{status}'" if status else ""
    filters += " AND s.customer_id > $5" if cursor else ""
    page = (
        f"SELECT {ITEM} FROM customer_schedules s WHERE s.tenant_id = $1{filters}"
        " ORDER BY s.customer_id LIMIT $4"
    )
    return (
        f"WITH {KEY} SELECT key.id, key.role, key.partner_id, {_stale(columns, first, '$3')}"
        f" AS stale, q.* FROM key LEFT JOIN LATERAL ({page}) AS q ON true"
    )


async def status_page(
    driver: Any,
    tenant_id: uuid.UUID,
    key_hash: bytes,
    scope: ListScope,
    *,
    now: datetime,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[Mapping[str, Any]]:
    """As ``queue_page``, for the statuses list."""
    sql = statuses_sql(scope.columns, status, after is not None)
    cursor = (after,) if after is not None else ()
    rows: list[Mapping[str, Any]] = await driver.fetch(
        sql, tenant_id, key_hash, now, limit, *cursor, *scope.values
    )
    return rows
