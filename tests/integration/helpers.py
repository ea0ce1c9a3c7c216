"""Helpers the integration tests share: instants as the service writes them, profiles,
policies, touches and problem documents."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx


def z(at: datetime) -> str:
    """An instant as the service writes it."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rule(**changes: Any) -> dict[str, Any]:
    """A catch-all rule: follow up after 7 days, overdue after 14, unless changed."""
    return {"name": "all", "match": {}, "follow_up_days": 7, "overdue_after_days": 14, **changes}


async def set_policy(client: httpx.AsyncClient, *rules: dict[str, Any], **top: Any) -> None:
    response = await client.put("/v1/policy", json={**top, "rules": list(rules or [rule()])})
    assert response.status_code == 200, response.text


async def put_customer(client: httpx.AsyncClient, customer_id: str = "c-1", **fields: Any) -> None:
    response = await client.put(f"/v1/customers/{customer_id}", json=fields)
    assert response.status_code in (200, 201), response.text


def assert_problem(response: httpx.Response, status_code: int) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status_code
    return body


async def touch(
    client: httpx.AsyncClient,
    at: datetime,
    channel: str = "email",
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "channel": channel,
        "occurred_at": z(at),
        "source": "crm",
        "external_id": uuid.uuid4().hex,
        **fields,
    }
    response = await client.post("/v1/touches", json=body)
    assert response.status_code == 201, response.text
    stored: dict[str, Any] = response.json()
    return stored
