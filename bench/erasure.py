"""Erasure and retention under load: ``python -m bench.erasure [--giant N] [--customers N]``.

A ``touchbase serve`` (one worker) holds a giant customer of N touches (default 100,000)
and ordinary customers with a dozen touches each over two years. While 8 clients read
ordinary customers' statuses, it times
1. ``DELETE /v1/customers/{giant}`` (the erasure, one transaction), and
2. a retention sweep of the tenant under ``retention_days: 400`` (run by this process with
   the service's own code, as the hourly task would),
and prints the p99 of the status reads before and during each.
It makes its own database on the configured server (as ``make bench``) and drops it.
"""

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app import migrations
from app.clock import SystemClock
from app.config import Settings
from app.db import Database, make_engine
from app.touches import retention
from bench.afterload import wait_drained
from bench.database import fresh_database, reachable, server_url
from bench.procs import Server
from bench.service import TOUCHBASE, create_key
from tests.database import asyncpg_dsn

PORT = 18393
READERS = 8
BATCH = 1000
GIANT = "giant"
CHANNELS = ("email", "phone", "visit", "sms")


def touches_of(customer: str, count: int, days: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "customer_id": customer, "channel": rng.choice(CHANNELS),
            "occurred_at": (now - timedelta(seconds=rng.randint(60, days * 86400))).isoformat(),
            "direction": "inbound" if rng.random() < 0.2 else "outbound",
            "source": "bench", "external_id": f"{customer}-{n}",
        }
        for n in range(count)
    ]  # fmt: skip


async def load(api: httpx.AsyncClient, customers: int, giant: int) -> None:
    rng = random.Random(7)
    touches = touches_of(GIANT, giant, 89, rng)
    for n in range(customers):
        touches += touches_of(f"c-{n}", 12, 730, rng)
    batches = [touches[i : i + BATCH] for i in range(0, len(touches), BATCH)]
    gate = asyncio.Semaphore(4)

    async def post(batch: list[dict[str, Any]]) -> None:
        async with gate:
            for _ in range(10):  # a 503 asks to come again (the batch is idempotent)
                response = await api.post("/v1/touches/batch", json={"touches": batch}, timeout=120)
                if response.status_code != 503:
                    break
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            response.raise_for_status()

    await asyncio.gather(*(post(b) for b in batches))


async def analyze(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def read_statuses(
    api: httpx.AsyncClient,
    customers: int,
    stop: asyncio.Event,
    latencies: list[tuple[float, float]],
) -> None:
    rng = random.Random()
    while not stop.is_set():
        started = time.perf_counter()
        response = await api.get(f"/v1/customers/c-{rng.randrange(customers)}/status")
        response.raise_for_status()
        latencies.append((started, time.perf_counter() - started))


def p99(latencies: list[tuple[float, float]], since: float, until: float) -> str:
    window = [seconds for at, seconds in latencies if since <= at < until]
    if len(window) < 2:
        return f"{len(window)} reads"
    cut = statistics.quantiles(window, n=100)
    return f"p99 {cut[98] * 1000:.1f} ms over {len(window)} reads"


async def under_reads(
    api: httpx.AsyncClient, customers: int, work: Callable[[], Awaitable[str]]
) -> None:
    latencies: list[tuple[float, float]] = []
    stop = asyncio.Event()
    readers = [
        asyncio.create_task(read_statuses(api, customers, stop, latencies)) for _ in range(READERS)
    ]
    await asyncio.sleep(3)
    began = time.perf_counter()
    what = await work()
    ended = time.perf_counter()
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*readers)
    before, during = p99(latencies, began - 3, began), p99(latencies, began, ended)
    print(f"{what} in {ended - began:.2f} s; status reads before: {before}; during: {during}")


async def scenario(url: str, base: str, key: str, customers: int, giant: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as api:
        started = time.perf_counter()
        await load(api, customers, giant)
        print(f"loaded {giant + 12 * customers:,} touches in {time.perf_counter() - started:.0f} s")
        await analyze(url)  # as autovacuum would soon: plans for the tables' real sizes
        drained = await asyncio.to_thread(wait_drained, asyncpg_dsn(url), 900)
        print(f"the refresher drained {drained.marks_at_start:,} marks in {drained.seconds:.0f} s")

        async def erase() -> str:
            response = await api.delete(f"/v1/customers/{GIANT}", timeout=600)
            response.raise_for_status()
            return f"erased a customer of {giant:,} touches"

        await under_reads(api, customers, erase)
        policy = {"retention_days": 400, "rules": [{"name": "all", "match": {},
                  "follow_up_days": 14, "overdue_after_days": 30}]}  # fmt: skip
        (await api.put("/v1/policy", json=policy)).raise_for_status()
        database = Database(make_engine(Settings(database_url=url), url))

        async def sweep() -> str:
            deleted = await retention.sweep(database, SystemClock())
            return f"a retention sweep deleted {deleted:,} touches"

        await under_reads(api, customers, sweep)
        await database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--giant", type=int, default=100_000, help="touches of the erased one")
    parser.add_argument("--customers", type=int, default=5_000, help="ordinary customers")
    args = parser.parse_args()
    server = server_url()
    reachable(server)
    with fresh_database(server) as url, tempfile.TemporaryDirectory() as logs:
        migrations.upgrade(url)
        key = create_key(url, "erasure-bench")
        argv = [TOUCHBASE, "serve", "--host", "127.0.0.1", "--port", str(PORT)]
        env = {"DATABASE_URL": url, "TOUCHBASE_LOG_LEVEL": "WARNING"}
        with Server("touchbase serve", argv, env, Path(logs) / "serve.log") as service:
            service.wait_ready(f"http://127.0.0.1:{PORT}/healthz")
            asyncio.run(scenario(url, f"http://127.0.0.1:{PORT}", key, args.customers, args.giant))


if __name__ == "__main__":
    main()
