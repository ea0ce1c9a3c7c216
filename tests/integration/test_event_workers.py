"""Delivery workers side by side: two processes' workers claiming the same due deliveries
send each attempt once, and a receiver that hangs holds up no other endpoint's deliveries."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.events.delivery import Deliverer
from app.locks.events import notice_expiry
from tests.conftest import Tenant
from tests.integration.helpers import put_customer, remove_event_endpoints
from tests.receiver import Receiver, running_receiver

CUSTOMERS = 24


@pytest.fixture(autouse=True)
async def _endpoints_removed(app: FastAPI, tenant: Tenant) -> AsyncIterator[None]:
    yield
    await remove_event_endpoints(app, tenant.name)


async def subscribe(
    admin: httpx.AsyncClient, receiver: Receiver, event_type: str = "lock.claimed"
) -> None:
    body = {"url": receiver.url, "events": [event_type]}
    assert (await admin.post("/v1/event-endpoints", json=body)).status_code == 201


async def claim_customers(admin: httpx.AsyncClient, count: int) -> None:
    for n in range(count):
        await put_customer(admin, f"c-{n}")
        claim = {"customer_id": f"c-{n}", "holder": {"team": "north"}, "days": 30}
        assert (await admin.post("/v1/locks", json=claim)).status_code == 201


async def test_two_workers_send_each_attempt_once(app: FastAPI, admin: httpx.AsyncClient) -> None:
    """Two workers (as in two serving processes) claim at once: every event arrives once,
    each delivery succeeded at its first attempt."""
    second = Deliverer(
        app.state.database, app.state.clock, allow_private=True, tickers=(notice_expiry,)
    )
    with running_receiver() as receiver:
        await subscribe(admin, receiver)
        await claim_customers(admin, CUSTOMERS)
        made = await asyncio.gather(app.state.deliverer.run_once(), second.run_once())
        await second.stop()
    assert sum(made) == CUSTOMERS
    arrivals = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(arrivals) == CUSTOMERS
    assert set(arrivals.values()) == {1}
    listed = (await admin.get("/v1/event-endpoints")).json()["items"]
    deliveries = await admin.get(f"/v1/event-endpoints/{listed[0]['id']}/deliveries")
    items = deliveries.json()["items"]
    assert {(d["status"], d["attempts"]) for d in items} == {("succeeded", 1)}


async def test_a_hanging_receiver_delays_no_other_endpoint(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    """A running worker, one endpoint's receiver holding every request (more of them due
    than the worker sends to one endpoint at once): another endpoint's event, recorded
    meanwhile, is delivered by the same worker (woken by the commit's notification)."""
    worker = Deliverer(app.state.database, app.state.clock, allow_private=True)
    with running_receiver() as slow, running_receiver() as fast:
        await subscribe(admin, slow, "lock.claimed")
        await subscribe(admin, fast, "lock.released")
        await claim_customers(admin, 12)
        slow.open.clear()
        worker.start()
        try:
            assert await asyncio.to_thread(slow.arrived.wait, 10)
            lock = (await admin.get("/v1/locks")).json()["items"][0]
            assert (await admin.delete(f"/v1/locks/{lock['id']}")).status_code == 204
            assert await asyncio.to_thread(fast.arrived.wait, 10), "the fast one waited"
            assert len(slow.received) < 12  # the slow endpoint still holds its requests
        finally:
            slow.open.set()
            await worker.stop()
    [released] = fast.received
    assert released.headers["webhook-id"].startswith("evt_")
