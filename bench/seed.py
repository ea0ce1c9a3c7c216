"""Generate a realistic data set for benchmarks: customers, a year of touches, a few giants.

    python -m bench.seed --customers 50000 --touches 1000000 --giants 2 --giant-touches 100000

Touches go in with COPY, then day counts and schedules are built the way ingestion builds
them. Prints the tenant's admin key on the last line.
"""

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from app.clock import FixedClock
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.embedded import database_url
from app.frequency.service import recompute_tenant
from app.tenants.schemas import ApiKeyCreate, Role
from app.tenants.service import create_key_for_tenant_name

CHANNELS = ["email", "phone", "im", "meeting", "visit", "sms", "webinar", "chat"]
WEIGHTS = [40, 20, 15, 8, 5, 5, 4, 3]
SEGMENTS = ["strategic", "high_value", "standard", "standard", "standard"]
STAGES = ["lead", "opportunity", "negotiation", "customer", "loyal", "nurturing"]
TEAMS = ["north-sales", "south-sales", "key-accounts", "marketing"]
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def customer_ids(n: int) -> list[str]:
    return [f"c-{i:06d}" for i in range(n)]


def customer_rows(
    tenant_id: uuid.UUID, ids: list[str], rng: random.Random
) -> Iterator[tuple[object, ...]]:
    for i, cid in enumerate(ids):
        created = NOW - YEAR - timedelta(days=rng.randint(0, 30))
        # rep-small owns 50 customers; team "everyone" holds all of them (the huge queue).
        rep = "rep-small" if i < 50 else f"rep-{i % 200:03d}"
        stage_entered = created - timedelta(days=rng.randint(0, 90))
        yield (
            tenant_id, cid, rng.choice(SEGMENTS), rng.choice(STAGES), rng.choice(["b2b", "b2c"]),
            rep, "everyone", "{}", "{}", created, created, stage_entered,
        )  # fmt: skip


def touch_rows(
    tenant_id: uuid.UUID,
    ids: list[str],
    total: int,
    giants: int,
    giant_touches: int,
    rng: random.Random,
) -> Iterator[tuple[object, ...]]:
    received = NOW
    plan = [(ids[g], giant_touches) for g in range(giants)]
    rest = max(0, total - giants * giant_touches)
    for n, (cid, count) in enumerate([*plan, (None, rest)]):
        for k in range(count):
            customer = cid or ids[giants + rng.randrange(len(ids) - giants)]
            occurred = NOW - timedelta(seconds=rng.randint(60, int(YEAR.total_seconds())))
            kind = "contact" if rng.random() < 0.85 else "engagement"
            inbound = kind == "contact" and rng.random() < 0.2
            channel = rng.choices(CHANNELS, WEIGHTS)[0]
            depth = rng.choice([None, "light", "value", "deep"])
            yield (
                tenant_id, uuid.uuid4(), customer, channel, occurred, kind,
                "inbound" if inbound else "outbound", None, "sales", None, rng.choice(TEAMS), None,
                rng.random() < 0.3, depth, None, "bench", f"b{n}-{k}", None, None, "{}", received,
                False,
            )  # fmt: skip


TOUCH_COLUMNS = [
    "tenant_id", "id", "customer_id", "channel", "occurred_at", "kind", "direction", "outcome",
    "category", "actor_rep_id", "actor_team", "actor_partner_id", "automated", "depth", "amount",
    "source", "external_id", "ref_external_id", "campaign_id", "metadata", "received_at", "engaged",
]  # fmt: skip
CUSTOMER_COLUMNS = [
    "tenant_id", "customer_id", "segment", "stage", "market", "owner_rep", "owner_team",
    "preferences", "attributes", "created_at", "updated_at", "stage_entered_at",
]  # fmt: skip

DAY_COUNTS = """
INSERT INTO customer_day_counts (tenant_id, customer_id, day, channel, outbound,
  outbound_automated, inbound, light, value, deep, engaged)
SELECT tenant_id, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, channel,
  count(*) FILTER (WHERE direction = 'outbound'),
  count(*) FILTER (WHERE direction = 'outbound' AND automated),
  count(*) FILTER (WHERE direction = 'inbound'),
  count(*) FILTER (WHERE depth = 'light'), count(*) FILTER (WHERE depth = 'value'),
  count(*) FILTER (WHERE depth = 'deep'), count(*) FILTER (WHERE engaged)
FROM touches WHERE tenant_id = $1 AND kind = 'contact'
GROUP BY 1, 2, 3, 4
"""


async def seed(args: argparse.Namespace, settings: Settings) -> str:
    url = database_url(settings)
    engine = make_engine(settings, url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        key = await create_key_for_tenant_name(
            session, args.tenant, ApiKeyCreate(role=Role.admin), NOW
        )
        tenant_id = uuid.UUID(key.key[3:35])
    rng = random.Random(args.seed)
    ids = customer_ids(args.customers)
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1].replace("+asyncpg", ""))
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "customers", records=customer_rows(tenant_id, ids, rng), columns=CUSTOMER_COLUMNS
        )
        rows = touch_rows(tenant_id, ids, args.touches, args.giants, args.giant_touches, rng)
        await conn.copy_records_to_table("touches", records=rows, columns=TOUCH_COLUMNS)
        await conn.execute(DAY_COUNTS, tenant_id)
        await conn.execute("ANALYZE")
        print(f"copied in {time.perf_counter() - started:.1f}s", flush=True)
    finally:
        await conn.close()
    started = time.perf_counter()
    await recompute_tenant(sessionmaker, tenant_id, FixedClock(NOW))
    print(f"schedules of {len(ids)} customers in {time.perf_counter() - started:.1f}s", flush=True)
    await engine.dispose()
    return key.key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default=f"bench-{uuid.uuid4().hex[:6]}")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--giants", type=int, default=2)
    parser.add_argument("--giant-touches", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(asyncio.run(seed(args, get_settings())))


if __name__ == "__main__":
    main()
