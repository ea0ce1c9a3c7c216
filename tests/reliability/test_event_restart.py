"""Outbound events survive a process killed between commit and delivery: a first
``touchbase serve`` (delivering nothing) answers 201 to lock claims, is killed outright
(SIGKILL), and a second process delivers every event those claims recorded, signed, each
with its own id, to a real receiver on 127.0.0.1."""

import asyncio
import signal
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from tests.receiver import Receiver, running_receiver
from tests.reliability.scenarios import fresh_database
from tests.reliability.service import Service, create_key

CLAIMS = 40
DELIVERY_SECONDS = 30.0
PRIVATE_URLS = {"TOUCHBASE_EVENTS_ALLOW_PRIVATE_URLS": "true"}


def claim_locks(service: Service, key: str, receiver: Receiver) -> tuple[str, set[str]]:
    """An endpoint for lock.claimed, and CLAIMS customers claimed: the secret and lock ids."""
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"}) as api:
        created = api.post(
            "/v1/event-endpoints", json={"url": receiver.url, "events": ["lock.claimed"]}
        )
        assert created.status_code == 201, created.text
        locks = set()
        for _ in range(CLAIMS):
            customer = f"c-{uuid.uuid4().hex[:8]}"
            assert api.put(f"/v1/customers/{customer}", json={}).status_code == 201
            claim = {"customer_id": customer, "holder": {"team": "north"}, "days": 30}
            claimed = api.post("/v1/locks", json=claim)
            assert claimed.status_code == 201, claimed.text
            locks.add(claimed.json()["id"])
    return created.json()["secret"], locks


def wait_for(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + DELIVERY_SECONDS
    while len({r.headers["webhook-id"] for r in receiver.received}) < count:
        assert time.monotonic() < deadline, f"{len(receiver.received)} of {count} delivered"
        time.sleep(0.05)


def test_events_committed_before_a_kill_are_delivered_by_the_next_process() -> None:
    async def scenario() -> None:
        async with fresh_database() as url:
            await asyncio.to_thread(run, url)

    asyncio.run(scenario())


def run(url: str) -> None:
    key = create_key(url, "events")
    with tempfile.TemporaryDirectory() as logs, running_receiver() as receiver:
        silent = Service(
            url, Path(logs), settings={**PRIVATE_URLS, "TOUCHBASE_EVENTS_DELIVERY": "false"}
        )
        silent.start()
        try:
            secret, locks = claim_locks(silent, key, receiver)
            assert silent.process is not None
            silent.process.send_signal(signal.SIGKILL)
            silent.wait()
        finally:
            silent.stop()
        assert receiver.received == []
        delivering = Service(url, Path(logs), port=silent.port, settings=PRIVATE_URLS)
        delivering.start()
        try:
            wait_for(receiver, CLAIMS)
            time.sleep(0.5)  # a second delivery of any of them would come now
        finally:
            delivering.stop()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == CLAIMS, "each event once, none twice"
    bodies = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert {body["data"]["id"] for body in bodies} == locks
    assert {body["type"] for body in bodies} == {"lock.claimed"}
