"""What the database holds after a load, compared with what the clients were told."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tests.database import asyncpg_dsn
from tests.reliability.load import Key, Report

# customer_day_counts against a recount of the contacts in touches (bench/seed.py's DAY_COUNTS).
COUNT_MISMATCHES = """
WITH recount AS (
  SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, channel,
    count(*) FILTER (WHERE direction = 'outbound') AS outbound,
    count(*) FILTER (WHERE direction = 'outbound' AND automated) AS outbound_automated,
    count(*) FILTER (WHERE direction = 'inbound') AS inbound,
    count(*) FILTER (WHERE depth = 'light') AS light,
    count(*) FILTER (WHERE depth = 'value') AS value,
    count(*) FILTER (WHERE depth = 'deep') AS deep
  FROM touches WHERE tenant_id = $1 AND kind = 'contact' GROUP BY 1, 2, 3
), kept AS (
  SELECT customer_id, day, channel, outbound, outbound_automated, inbound, light, value, deep
  FROM customer_day_counts WHERE tenant_id = $1
)
SELECT coalesce(r.customer_id, k.customer_id) AS customer_id, coalesce(r.day, k.day) AS day,
  coalesce(r.channel, k.channel) AS channel,
  ARRAY[r.outbound, r.outbound_automated, r.inbound, r.light, r.value, r.deep]::bigint[]
    AS recounted,
  ARRAY[k.outbound, k.outbound_automated, k.inbound, k.light, k.value, k.deep]::bigint[] AS kept
FROM recount r FULL JOIN kept k
  ON r.customer_id = k.customer_id AND r.day = k.day AND r.channel = k.channel
WHERE ARRAY[coalesce(r.outbound, 0), coalesce(r.outbound_automated, 0), coalesce(r.inbound, 0),
            coalesce(r.light, 0), coalesce(r.value, 0), coalesce(r.deep, 0)]::bigint[]
   IS DISTINCT FROM
      ARRAY[coalesce(k.outbound, 0), coalesce(k.outbound_automated, 0), coalesce(k.inbound, 0),
            coalesce(k.light, 0), coalesce(k.value, 0), coalesce(k.deep, 0)]::bigint[]
ORDER BY 1, 2, 3
"""

TOUCHES = """
SELECT id, source, external_id, customer_id, channel, occurred_at, kind, direction, automated,
  depth
FROM touches WHERE tenant_id = $1
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """The tenant's touches by key, how many rows there are, and counter rows that disagree."""

    touches: dict[Key, dict[str, Any]]
    rows: int
    count_mismatches: list[dict[str, Any]]


async def snapshot(database_url: str, tenant: str) -> Stored:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        tenant_id: uuid.UUID | None = await conn.fetchval(
            "SELECT id FROM tenants WHERE name = $1", tenant
        )
        assert tenant_id is not None, f"no tenant {tenant!r}"
        rows = [dict(row) for row in await conn.fetch(TOUCHES, tenant_id)]
        mismatches = [dict(row) for row in await conn.fetch(COUNT_MISMATCHES, tenant_id)]
    finally:
        await conn.close()
    touches = {(row["source"], row["external_id"]): row for row in rows}
    return Stored(touches, len(rows), mismatches)


def _same_instant(sent: str, stored: datetime) -> bool:
    return datetime.fromisoformat(sent) == stored


def lost_or_changed(report: Report, stored: Stored) -> list[str]:
    """Acknowledged touches that are missing, stored under another id, or stored otherwise."""
    problems = []
    sent = report.sent
    for key, answered_id in sorted(report.acked.items()):
        row = stored.touches.get(key)
        if row is None:
            problems.append(f"{key}: acknowledged with id {answered_id} but not stored")
            continue
        if str(row["id"]) != answered_id:
            problems.append(f"{key}: acknowledged with id {answered_id}, stored as {row['id']}")
        touch = sent[key]
        for name in ("customer_id", "channel", "kind", "direction", "automated", "depth"):
            if row[name] != touch.get(name):
                problems.append(f"{key}: {name} sent {touch.get(name)!r}, stored {row[name]!r}")
        if not _same_instant(touch["occurred_at"], row["occurred_at"]):
            problems.append(
                f"{key}: occurred_at {touch['occurred_at']} stored {row['occurred_at']}"
            )
    return problems


def unexpected_rows(report: Report, stored: Stored, allowed: set[Key] | None = None) -> list[Key]:
    """Stored touches no client ever sent (a doubled touch under a key of its own)."""
    known = set(report.sent) | (allowed or set())
    return sorted(key for key in stored.touches if key not in known)
