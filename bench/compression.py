"""What gzip costs a status read: ``python -m bench.compression [--requests N]``.

In one process, with httpx over ASGI (no network, so only the service's own work differs), it
reads ``GET /v1/customers/{id}/status`` of a customer with a few dozen touches on several
channels, alternating rounds with and without ``Accept-Encoding: gzip``, and prints the bytes
on the wire and the CPU time per request of each; then what each zlib level does to that body.
It makes its own database on the configured server (as ``make bench``) and drops it.
"""

import argparse
import asyncio
import statistics
import time
import zlib
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app import migrations
from app.browser import GZip
from app.config import Settings
from app.main import create_app
from app.tenants import service
from app.tenants.schemas import ApiKeyCreate, Role
from bench.database import fresh_database, reachable, server_url

CHANNELS = ("email", "phone", "sms", "visit", "meeting", "im")
STATUS = "/v1/customers/c-1/status"
ROUNDS = 6
GZIP_WRAPPER = 12  # gzip's header and trailer less zlib's


async def _admin_key(app: object) -> str:
    state = app.state  # type: ignore[attr-defined]
    async with state.sessionmaker() as session:
        created = await service.create_key_for_tenant_name(
            session, "compression", ApiKeyCreate(role=Role.admin), datetime.now(UTC)
        )
    return created.key


async def _seed(client: httpx.AsyncClient) -> None:
    profile = {
        "segment": "strategic",
        "stage": "negotiation",
        "owner": {"rep_id": "rep-7", "team": "north-sales"},
        "preferences": {"max_contacts_per_30d": 12, "opted_out_channels": ["sms"]},
    }
    (await client.put("/v1/customers/c-1", json=profile)).raise_for_status()
    now = datetime.now(UTC)
    touches = [
        {
            "customer_id": "c-1",
            "channel": CHANNELS[n % len(CHANNELS)],
            "occurred_at": (now - timedelta(days=n * 2, hours=3)).isoformat(),
            "source": "bench",
            "external_id": f"t-{n}",
        }
        for n in range(40)
    ]
    (await client.post("/v1/touches/batch", json={"touches": touches})).raise_for_status()


async def _round(client: httpx.AsyncClient, encoding: str, requests: int) -> tuple[float, int]:
    """CPU seconds per request, and the body size on the wire (not decompressed)."""
    size = 0
    started = time.process_time()
    for _ in range(requests):
        async with client.stream("GET", STATUS, headers={"Accept-Encoding": encoding}) as reply:
            size = sum([len(chunk) async for chunk in reply.aiter_raw()])
    return (time.process_time() - started) / requests, size


async def _measure(url: str, requests: int) -> tuple[bytes, bytes]:
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    async with LifespanManager(app):
        key = await _admin_key(app)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            await _seed(client)
            await _round(client, "gzip", requests // 4)  # warm up
            cpu: dict[str, list[float]] = {"identity": [], "gzip": []}
            sizes: dict[str, int] = {}
            for _ in range(ROUNDS):
                for encoding in cpu:
                    per_request, sizes[encoding] = await _round(client, encoding, requests)
                    cpu[encoding].append(per_request)
            _report(cpu, sizes)
            plain = {"Accept-Encoding": "identity"}
            status = await client.get(STATUS, headers=plain)
            document = await client.get("/openapi.json", headers=plain)
    return status.content, document.content


def _report(cpu: dict[str, list[float]], sizes: dict[str, int]) -> None:
    plain, packed = statistics.median(cpu["identity"]), statistics.median(cpu["gzip"])
    print(f"GET {STATUS}, median of {ROUNDS} rounds")
    print(f"  identity: {sizes['identity']:6d} bytes  {plain * 1e6:7.0f} us CPU/request")
    print(f"  gzip:     {sizes['gzip']:6d} bytes  {packed * 1e6:7.0f} us CPU/request")
    print(f"  gzip costs {(packed - plain) * 1e6:+.0f} us ({(packed / plain - 1) * 100:+.1f} %)")


def _levels(name: str, body: bytes) -> None:
    """The gzip middleware alone around a body: its time per response, by level."""
    print(f"the gzip middleware alone around {name} ({len(body)} bytes), best of {ROUNDS}")
    plain = _best(body, 5, b"identity")
    print(f"  not asked: {len(body):6d} bytes  {plain * 1e6:7.1f} us")
    for level in (1, 3, 5, 6, 9):
        took = _best(body, level, b"gzip")
        size = len(zlib.compress(body, level)) + GZIP_WRAPPER
        extra = (took - plain) * 1e6
        print(f"  level {level}:   {size:6d} bytes  {took * 1e6:7.1f} us  (+{extra:.1f})")


def _best(body: bytes, level: int, accept: bytes) -> float:
    times = max(20, 5_000_000 // len(body))
    return min(asyncio.run(_middleware_time(body, level, accept, times)) for _ in range(ROUNDS))


async def _middleware_time(body: bytes, level: int, accept: bytes, times: int) -> float:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(body, media_type="application/json")(scope, receive, send)

    async def drop(message: Message) -> None:
        pass

    middleware = GZip(endpoint, minimum_size=1024, compresslevel=level)
    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", accept)]}
    started = time.perf_counter()
    for _ in range(times):
        await middleware(dict(scope), _nothing, drop)
    return (time.perf_counter() - started) / times


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per round")
    args = parser.parse_args()
    server = server_url()
    reachable(server)
    with fresh_database(server) as url:
        migrations.upgrade(url)
        status, document = asyncio.run(_measure(url, args.requests))
    _levels("the status", status)
    _levels("/openapi.json", document)


if __name__ == "__main__":
    main()
