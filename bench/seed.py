"""Generate a realistic data set for benchmarks: customers, a year of touches, a few giants.

    DATABASE_URL=postgresql://... python -m bench.seed --customers 60000 --touches 1000000

The bench policy (bench/dataset.py's POLICY: six rules with caps and targets) is made the
tenant's active version through the service's own policy service; customers and touches go in
with COPY (see bench/dataset.py for who is who), then day counts, opt-outs and schedules are
built the way ingestion builds them. Prints timings, and the tenant's admin key on the last
line.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from app.clock import SystemClock
from app.config import Settings, get_settings
from app.db import Database, make_engine, make_sessionmaker
from app.embedded import database_url
from app.frequency.refresher import drain_marks
from app.frequency.refreshing import fold_outcome_rollups
from app.policies import service as policies
from app.policies.schemas import PolicyDoc
from app.refresh import service as refresh
from app.tenants.schemas import ApiKeyCreate, Role
from app.tenants.service import create_key_for_tenant_name
from bench.dataset import (
    CUSTOMER_COLUMNS,
    POLICY,
    TOUCH_COLUMNS,
    Layout,
    customer_rows,
    touch_rows,
)

DAY_COUNTS = """
INSERT INTO customer_day_counts (tenant_id, customer_id, day, channel, outbound,
  outbound_automated, inbound, light, value, deep, engaged)
SELECT tenant_id, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, channel,
  count(*) FILTER (WHERE direction = 'outbound'),
  count(*) FILTER (WHERE direction = 'outbound' AND automated),
  count(*) FILTER (WHERE direction = 'inbound'),
  count(*) FILTER (WHERE depth = 'light'), count(*) FILTER (WHERE depth = 'value'),
  count(*) FILTER (WHERE depth = 'deep'),
  count(*) FILTER (WHERE direction = 'outbound' AND engaged_at IS NOT NULL)
FROM touches WHERE tenant_id = $1 AND kind = 'contact'
GROUP BY 1, 2, 3, 4
"""

# What an `unsubscribed` engagement does on ingestion: its channel joins the opted-out ones.
OPT_OUTS = """
UPDATE customers c SET preferences = jsonb_set(c.preferences, '{opted_out_channels}',
  to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(ARRAY(SELECT jsonb_array_elements_text(
  coalesce(c.preferences->'opted_out_channels', '[]'))) || u.channels) AS x ORDER BY x)))
FROM (SELECT customer_id, array_agg(DISTINCT channel) AS channels FROM touches
      WHERE tenant_id = $1 AND kind = 'engagement' AND outcome = 'unsubscribed'
      GROUP BY customer_id) AS u
WHERE c.tenant_id = $1 AND c.customer_id = u.customer_id
"""


def plain_dsn(url: str) -> str:
    """An asyncpg/libpq URL from a ``postgresql+asyncpg://`` or ``postgresql://`` one."""
    return "postgresql://" + url.split("://", 1)[1]


def _step(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {name}: {now - started:.1f}s", flush=True)
    return now


async def seed(args: argparse.Namespace, layout: Layout, settings: Settings) -> str:
    url = database_url(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(settings, url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        key = await create_key_for_tenant_name(
            session, args.tenant, ApiKeyCreate(role=Role.admin), now
        )
        tenant_id = uuid.UUID(key.key[3:35])
    async with sessionmaker() as session:
        policy = await policies.put_policy(
            session, tenant_id, PolicyDoc.model_validate(POLICY), now
        )
        print(f"  policy version {policy.version}: {len(policy.rules)} rules", flush=True)
    rng = random.Random(args.seed)
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        at = time.perf_counter()
        await conn.copy_records_to_table(
            "customers",
            records=customer_rows(tenant_id, layout, now, rng),
            columns=CUSTOMER_COLUMNS,
        )
        at = _step(f"copied {layout.customers} customers", at)
        rows = touch_rows(tenant_id, layout, now, rng)
        await conn.copy_records_to_table("touches", records=rows, columns=TOUCH_COLUMNS)
        at = _step(f"generated and copied {layout.touches} touches", at)
        await conn.execute(DAY_COUNTS, tenant_id)
        await conn.execute(OPT_OUTS, tenant_id)
        await conn.execute("VACUUM ANALYZE")
        at = _step("day counts, opt-outs, vacuum analyze", at)
    finally:
        await conn.close()
    async with sessionmaker() as session:
        await refresh.history_changed(session, tenant_id)
        await session.commit()
    while await drain_marks(Database(engine), SystemClock(), 2000):
        pass
    at = _step(f"schedules and contact facts of {layout.customers} customers", at)
    while await fold_outcome_rollups(Database(engine), 100_000):
        pass
    _step("outcome rollups folded", at)
    await engine.dispose()
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        # what autovacuum would do after a bulk load (it is off on the CI machines)
        for table in (
            "customer_schedules",
            "contact_facts",
            "outcome_rollups",
            "outcome_rollup_deltas",
        ):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return key.key


def add_layout_arguments(parser: argparse.ArgumentParser, defaults: Layout) -> None:
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--touches", type=int, default=defaults.touches, help="in all")
    parser.add_argument("--giants", type=int, default=defaults.giants)
    parser.add_argument("--giant-touches", type=int, default=defaults.giant_touches)
    parser.add_argument(
        "--giant-recent-touches", type=int, default=defaults.giant_recent_touches,
        help="of each giant's touches, how many in the last 90 days",
    )  # fmt: skip
    parser.add_argument("--probe-touches", type=int, default=defaults.probe_touches)
    parser.add_argument("--small-rep-customers", type=int, default=defaults.small_rep_customers)
    parser.add_argument("--team-customers", type=int, default=defaults.team_customers)
    parser.add_argument("--mid-rep-customers", type=int, default=defaults.mid_rep_customers)


def layout_of(args: argparse.Namespace) -> Layout:
    return Layout(
        customers=args.customers,
        touches=args.touches,
        giants=args.giants,
        giant_touches=args.giant_touches,
        giant_recent_touches=args.giant_recent_touches,
        probe_touches=args.probe_touches,
        small_rep_customers=args.small_rep_customers,
        team_customers=args.team_customers,
        mid_rep_customers=args.mid_rep_customers,
    )


def layout_argv(layout: Layout) -> list[str]:
    """Command-line arguments that rebuild this layout."""
    return [
        f"--customers={layout.customers}",
        f"--touches={layout.touches}",
        f"--giants={layout.giants}",
        f"--giant-touches={layout.giant_touches}",
        f"--giant-recent-touches={layout.giant_recent_touches}",
        f"--probe-touches={layout.probe_touches}",
        f"--small-rep-customers={layout.small_rep_customers}",
        f"--team-customers={layout.team_customers}",
        f"--mid-rep-customers={layout.mid_rep_customers}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default=f"bench-{uuid.uuid4().hex[:6]}")
    parser.add_argument("--seed", type=int, default=7)
    add_layout_arguments(parser, Layout())
    args = parser.parse_args()
    print(asyncio.run(seed(args, layout_of(args), get_settings())))


if __name__ == "__main__":
    main()
