"""What the outbound-event tests share: endpoints, sending, what arrived, locks."""

from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from tests.receiver import Receiver


async def create_endpoint(
    client: httpx.AsyncClient, url: str, events: list[str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/event-endpoints", json={"url": url, "events": events, **fields}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def send(app: FastAPI) -> int:
    """Every delivery due at the clock's instant, sent and answered; how many attempts."""
    made: int = await app.state.deliverer.run_once()
    return made


def bodies(rx: Receiver) -> list[dict[str, Any]]:
    return [orjson.loads(got.body) for got in rx.received]


async def claim(
    client: httpx.AsyncClient,
    customer_id: str = "c-1",
    holder: dict[str, str] | None = None,
    days: int = 30,
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "holder": holder or {"team": "north"}, "days": days}
    response = await client.post("/v1/locks", json=body)
    assert response.status_code == 201, response.text
    lock: dict[str, Any] = response.json()
    return lock


async def read_lock(client: httpx.AsyncClient, lock_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/locks/{lock_id}")
    assert response.status_code == 200, response.text
    lock: dict[str, Any] = response.json()
    return lock
