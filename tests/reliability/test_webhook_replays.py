"""Security probes: webhook deliveries replayed with old timestamps, and redeliveries."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from app.clock import FixedClock
from tests.conftest import NOW

STALE = timedelta(minutes=10)  # the tolerance is 5 minutes


class Partner:
    """A partner signing Standard Webhooks for one generic source."""

    def __init__(self, anonymous: httpx.AsyncClient, name: str, secret: str) -> None:
        self.anonymous = anonymous
        self.name = name
        self.secret = secret

    def headers(self, body: bytes, msg_id: str, at: datetime) -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(self.secret).sign(msg_id, at, body.decode()),
            "content-type": "application/json",
        }

    async def deliver(
        self, payload: Any, msg_id: str, at: datetime, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = orjson.dumps(payload)
        return await self.anonymous.post(
            f"/v1/webhooks/{self.name}",
            content=body,
            headers=headers or self.headers(body, msg_id, at),
        )


@pytest.fixture
async def partner(admin: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> Partner:
    name = f"shop-{uuid.uuid4().hex[:8]}"
    response = await admin.post("/v1/sources", json={"name": name, "kind": "generic"})
    assert response.status_code == 201, response.text
    return Partner(anonymous, name, response.json()["secret"])


def touch(customer_id: str, external_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "channel": "email",
        "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
    }
    if external_id:
        body["external_id"] = external_id
    return body


async def stored(admin: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    response = await admin.get(f"/v1/customers/{customer_id}/touches")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestWebhookReplays:
    async def test_a_delivery_signed_ten_minutes_ago_is_refused_with_401(
        self, partner: Partner, admin: httpx.AsyncClient
    ) -> None:
        response = await partner.deliver(touch("c-stale", "e-1"), "msg_stale", NOW - STALE)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert await stored(admin, "c-stale") == []

    async def test_an_accepted_delivery_replayed_ten_minutes_later_is_refused_with_401(
        self, partner: Partner, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        body = orjson.dumps(touch("c-replay"))
        headers = partner.headers(body, "msg_replay", NOW)
        first = await partner.deliver(touch("c-replay"), "msg_replay", NOW, headers)
        assert first.status_code == 200, first.text
        clock.set(NOW + STALE)
        replay = await partner.deliver(touch("c-replay"), "msg_replay", NOW, headers)
        assert replay.status_code == 401, replay.text
        assert len(await stored(admin, "c-replay")) == 1

    @pytest.mark.parametrize("external_id", ["e-keyed", None], ids=["external-id", "webhook-id"])
    async def test_a_redelivery_of_a_valid_delivery_stores_nothing_new(
        self, partner: Partner, admin: httpx.AsyncClient, external_id: str | None
    ) -> None:
        customer = f"c-{uuid.uuid4().hex[:8]}"
        payload = {"touches": [touch(customer, external_id), touch(customer, None)]}
        first = await partner.deliver(payload, "msg_redelivered", NOW)
        assert first.status_code == 200, first.text
        assert first.json()["created"] == 2, first.text
        again = await partner.deliver(payload, "msg_redelivered", NOW + timedelta(seconds=30))
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["duplicates"]) == (0, 2), again.text
        ids = [r["id"] for r in first.json()["results"]]
        assert [r["id"] for r in again.json()["results"]] == ids
        assert sorted(t["id"] for t in await stored(admin, customer)) == sorted(ids)

    async def test_a_tampered_body_under_a_valid_signature_is_refused_with_401(
        self, partner: Partner, admin: httpx.AsyncClient
    ) -> None:
        headers = partner.headers(orjson.dumps(touch("c-tamper", "e-1")), "msg_tamper", NOW)
        response = await partner.deliver(touch("c-tamper", "e-2"), "msg_tamper", NOW, headers)
        assert response.status_code == 401, response.text
        assert await stored(admin, "c-tamper") == []
