"""Helpers the integration tests share: instants as the service writes them, problem documents,
policies, profiles and their status, touches, and lists read page after page.

Each asserts that the service accepted what it was sent (or, for the ``assert_*`` helpers, that
it refused it as a problem document), so a test reads as the story it tells."""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.analytics import lateness
from app.clock import Clock
from app.frequency.refresher import drain_marks
from app.frequency.refreshing import count_pending_facts

# Instants


def z(at: datetime) -> str:
    """An instant as the service writes it: UTC, with a ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc(text: str) -> datetime:
    """An instant the service wrote, read back in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


# Problem documents

PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "errors"})


def assert_problem(response: httpx.Response, status_code: int) -> dict[str, Any]:
    """That the response is a problem document (application/problem+json) with this status
    code, in the header and in the body; returns the body."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status_code
    return body


def assert_full_problem(response: httpx.Response, status_code: int) -> dict[str, Any]:
    """``assert_problem``, and that the body has every member of a problem document
    (``PROBLEM_MEMBERS``, perhaps with more); returns the body."""
    body = assert_problem(response, status_code)
    assert set(body) >= PROBLEM_MEMBERS
    return body


# Policies


def rule(**changes: Any) -> dict[str, Any]:
    """A catch-all rule named main: follow up after 7 days, overdue after 14, unless changed."""
    return {"name": "main", "match": {}, "follow_up_days": 7, "overdue_after_days": 14, **changes}


async def put_policy(client: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, Any]:
    """PUT a whole policy document; returns the policy as stored (with its version)."""
    response = await client.put("/v1/policy", json=document)
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


async def set_policy(client: httpx.AsyncClient, *rules: dict[str, Any], **top: Any) -> int:
    """A policy of these rules (else one ``rule()``) and these top-level settings; returns its
    version."""
    stored = await put_policy(client, {**top, "rules": list(rules or [rule()])})
    version: int = stored["version"]
    return version


# Customers and their status


async def put_customer(client: httpx.AsyncClient, customer_id: str = "c-1", **fields: Any) -> None:
    """PUT a profile with these fields, created or replaced."""
    response = await client.put(f"/v1/customers/{customer_id}", json=fields)
    assert response.status_code in (200, 201), response.text


async def status(
    client: httpx.AsyncClient, customer_id: str = "c-1", as_of: datetime | None = None
) -> dict[str, Any]:
    """GET a customer's frequency status, now or (``as_of``) at another instant."""
    params = {"as_of": z(as_of)} if as_of is not None else {}
    response = await client.get(f"/v1/customers/{customer_id}/status", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(judged: dict[str, Any]) -> list[str]:
    """The codes of the reasons of a status, a conflict check or a contact plan, in order."""
    return [reason["code"] for reason in judged["reasons"]]


# Touches

TOUCHED_AT = "2026-11-20T02:00:00Z"  # an hour before the tests' NOW


def touch_body(
    at: datetime | None = None, channel: str = "email", customer_id: str = "c-1", **fields: Any
) -> dict[str, Any]:
    """A touch to POST: an email to c-1 at ``TOUCHED_AT`` (unless ``at``) from the source crm,
    with a fresh external_id. ``fields`` add to it or replace; a field given as ``...`` is left
    out."""
    body = {
        "customer_id": customer_id,
        "channel": channel,
        "occurred_at": TOUCHED_AT if at is None else z(at),
        "source": "crm",
        "external_id": uuid.uuid4().hex,
        **fields,
    }
    return {key: value for key, value in body.items() if value is not ...}


def touch_body_without_external_id(**fields: Any) -> dict[str, Any]:
    """``touch_body`` with no external_id (unless given one): the service cannot tell a repeat
    of it from a new touch, only an Idempotency-Key can."""
    return touch_body(**{"external_id": ..., **fields})


async def touch(
    client: httpx.AsyncClient,
    at: datetime,
    channel: str = "email",
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    """POST a ``touch_body`` (an email to c-1 unless told otherwise) occurring ``at``; returns
    the touch as stored."""
    response = await client.post("/v1/touches", json=touch_body(at, channel, customer_id, **fields))
    assert response.status_code == 201, response.text
    stored: dict[str, Any] = response.json()
    return stored


# Lists


async def listing(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item a list endpoint returns for these parameters, following the cursor page
    after page (each page exactly ``items`` and ``next_cursor``)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        response = await client.get(
            path, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


async def tenant_id_of(app: FastAPI, tenant_name: str) -> uuid.UUID:
    """The id of the tenant of this name."""
    async with app.state.database.driver() as driver:
        found = await driver.fetchval("SELECT id FROM tenants WHERE name = $1", tenant_name)
    assert isinstance(found, uuid.UUID), tenant_name
    return found


async def judge_lateness(app: FastAPI, tenant_name: str) -> None:
    """Judge every follow-up of the tenant not judged yet, as the background judge would."""
    tenant_id = await tenant_id_of(app, tenant_name)
    while await lateness.judge_tenant(app.state.database, tenant_id):
        pass


async def drain_refresh_marks(app: FastAPI, clock: Clock) -> None:
    """Refresh every marked customer now and count the facts lists left pending, as the
    background refresher would: rounds until none is left, waiting for a round the refresher
    itself has under way."""
    for _ in range(100):
        while await drain_marks(app.state.database, clock, 500):
            pass
        while await count_pending_facts(app.state.database, 500):
            pass
        await app.state.refresher.round_ended()
        async with app.state.sessionmaker() as session:
            left = (
                "SELECT (SELECT count(*) FROM refresh_marks) + (SELECT count(*) FROM pending_facts)"
            )
            if not await session.scalar(text(left)):
                return
    raise AssertionError("refresh marks are left however often they are drained")


async def remove_event_endpoints(app: FastAPI, tenant_name: str) -> None:
    """Delete a tenant's event endpoints (and so their deliveries): a later test's delivery
    round sends nothing of this test's."""
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "DELETE FROM event_endpoints WHERE tenant_id IN"
                " (SELECT id FROM tenants WHERE name = :name)"
            ),
            {"name": tenant_name},
        )
        await session.commit()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, 0 when absent."""
    for line in metrics.splitlines():
        matched = re.fullmatch(re.escape(name) + r"\{(.*)\} (\S+)", line)
        if matched is None:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', matched.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(matched.group(2))
    return 0.0
