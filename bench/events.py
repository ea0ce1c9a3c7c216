"""Outbound event delivery: ``python -m bench.events [--events N] [--claims N]``.

A ``touchbase serve`` (one worker, delivering) and a receiver on 127.0.0.1 (uvicorn, in a
thread of this process, answering 204 and noting when each ``webhook-id`` arrived):
1. throughput: N events recorded in one transaction (the outbox, as a refresh round that
   notices many customers becoming overdue would) and the time until the last arrives;
2. delay from commit to delivery: lock claims over HTTP, one at a time at about 20 a
   second; each delay from the claim's 201 to its event's arrival, at p50 and p99.
It makes its own database on the configured server (as ``make bench``) and drops it.
"""

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvicorn

from app import migrations
from app.events import outbox
from bench.database import fresh_database, reachable, server_url
from bench.procs import Server
from bench.service import TOUCHBASE, create_key
from tests.database import asyncpg_dsn

CLAIM_INTERVAL = 0.05


class Receiver:
    """An ASGI app that notes the arrival of each webhook-id (the first time it comes)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.requests += 1
        headers = dict(scope["headers"])
        self.arrived.setdefault(headers.get(b"webhook-id", b"").decode(), time.time())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def serve_receiver(receiver: Receiver, port: int) -> uvicorn.Server:
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def wait_for(receiver: Receiver, ids: set[str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not ids <= receiver.arrived.keys():
        if time.monotonic() > deadline:
            missing = len(ids - receiver.arrived.keys())
            raise RuntimeError(f"{missing} of {len(ids)} events not delivered in {timeout} s")
        time.sleep(0.01)
    return max(receiver.arrived[i] for i in ids)


async def record_events(url: str, tenant: uuid.UUID, count: int) -> set[str]:
    """Record ``count`` lock.claimed-typed events in one transaction; their ids."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        now = datetime.now(UTC)
        data = orjson.dumps({"bench": True}).decode()
        events = [
            outbox.NewEvent(tenant, "lock.claimed", now, data, f"c-{n}") for n in range(count)
        ]
        async with connection.transaction():
            await outbox.record(connection.fetch, events, now)
        rows = await connection.fetch(
            "SELECT id FROM events WHERE tenant_id = $1 AND created_at = $2", tenant, now
        )
        return {row["id"] for row in rows}
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000, help="events for the throughput")
    parser.add_argument("--claims", type=int, default=200, help="lock claims for the delay")
    args = parser.parse_args()
    server = server_url()
    reachable(server)
    with fresh_database(server) as url, tempfile.TemporaryDirectory() as logs:
        migrations.upgrade(url)
        run(url, Path(logs), args.events, args.claims)


def run(url: str, logs: Path, events: int, claims: int) -> None:
    receiver = Receiver()
    receiver_port, service_port = 18391, 18392
    serve_receiver(receiver, receiver_port)
    key = create_key(url, "events-bench")
    tenant = uuid.UUID(hex=key[3:35])
    argv = [TOUCHBASE, "serve", "--host", "127.0.0.1", "--port", str(service_port)]
    env = {"DATABASE_URL": url, "TOUCHBASE_EVENTS_ALLOW_PRIVATE_URLS": "true",
           "TOUCHBASE_LOG_LEVEL": "WARNING"}  # fmt: skip
    base = f"http://127.0.0.1:{service_port}"
    with Server("touchbase serve", argv, env, logs / "serve.log") as service:
        service.wait_ready(f"{base}/healthz")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers) as api:
            endpoint = {"url": f"http://127.0.0.1:{receiver_port}/hook", "events": ["lock.claimed"]}
            api.post("/v1/event-endpoints", json=endpoint).raise_for_status()
            started = time.time()
            ids = asyncio.run(record_events(url, tenant, events))
            last = wait_for(receiver, ids, timeout=600)
            rate = len(ids) / (last - started)
            print(f"throughput: {len(ids)} events delivered in {last - started:.2f} s:"
                  f" {rate:,.0f} events/s ({receiver.requests} requests)")  # fmt: skip
            delays = measure_delays(api, receiver, claims)
    cut = statistics.quantiles(delays, n=100)
    print(f"commit to delivery over {len(delays)} lock claims: p50 {cut[49] * 1000:.0f} ms,"
          f" p99 {cut[98] * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms")  # fmt: skip


def measure_delays(api: httpx.Client, receiver: Receiver, claims: int) -> list[float]:
    """Claim customers one at a time; the delay from each 201 to its event's arrival."""
    answered: dict[str, float] = {}
    for _ in range(claims):
        customer = f"c-{uuid.uuid4().hex[:10]}"
        api.put(f"/v1/customers/{customer}", json={}).raise_for_status()
        before = set(receiver.arrived)
        claim = {"customer_id": customer, "holder": {"team": "bench"}, "days": 30}
        response = api.post("/v1/locks", json=claim)
        response.raise_for_status()
        answered_at = time.time()
        deadline = time.monotonic() + 30
        while set(receiver.arrived) == before and time.monotonic() < deadline:
            time.sleep(0.001)
        new = set(receiver.arrived) - before
        if new:
            answered[response.json()["id"]] = max(0.0, receiver.arrived[new.pop()] - answered_at)
        time.sleep(CLAIM_INTERVAL)
    return list(answered.values())


if __name__ == "__main__":
    main()
