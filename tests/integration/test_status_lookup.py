"""POST /v1/statuses/lookup: many statuses in one call, each as GET .../status answers it."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    put_customer,
    rule,
    set_policy,
    status,
    touch,
    z,
)

DAY = timedelta(days=1)


async def lookup(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/statuses/lookup", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


class TestLookup:
    async def test_every_known_customer_in_the_order_asked(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1}]))
        for customer_id in ("a", "b", "c"):
            await put_customer(admin, customer_id)
        await touch(admin, NOW - DAY, customer_id="b")
        answer = await lookup(admin, customer_ids=["c", "nobody", "a", "b", "gone", "a"])
        assert [item["customer_id"] for item in answer["items"]] == ["c", "a", "b", "a"]
        assert answer["not_found"] == ["nobody", "gone"]
        for item in answer["items"]:
            assert item == await status(admin, item["customer_id"])

    async def test_a_customer_marked_since_is_judged_live(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "a")
        before = (await lookup(admin, customer_ids=["a"]))["items"][0]
        assert before["status"] == "due"
        await touch(admin, NOW - DAY, customer_id="a")
        after = (await lookup(admin, customer_ids=["a"]))["items"][0]
        assert after["last_contact_at"] == z(NOW - DAY)
        assert after == await status(admin, "a")

    async def test_as_of_is_judged_for_everyone(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "a")
        await touch(admin, NOW - 10 * DAY, customer_id="a")
        past = NOW - 5 * DAY
        [item] = (await lookup(admin, customer_ids=["a"], as_of=z(past)))["items"]
        assert item["as_of"] == z(past)
        assert item == await status(admin, "a", as_of=past)

    async def test_another_tenants_customer_is_not_found(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin, "mine")
        other = await other_tenant.client("admin")
        answer = await lookup(other, customer_ids=["mine"])
        assert answer == {"items": [], "not_found": ["mine"]}


class TestLookupRefusals:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"customer_ids": []}, ["body", "customer_ids"]),
            ({"customer_ids": [f"c-{i}" for i in range(501)]}, ["body", "customer_ids"]),
            ({"customer_ids": ["bad id!"]}, ["body", "customer_ids", 0]),
            ({}, ["body", "customer_ids"]),
            ({"customer_ids": ["a"], "as_of": "2026-11-20T03:00:00"}, ["body", "as_of"]),
            ({"customer_ids": ["a"], "extra": 1}, ["body", "extra"]),
        ],
    )
    async def test_a_bad_body_is_422(
        self, admin: httpx.AsyncClient, body: dict[str, Any], loc: list[Any]
    ) -> None:
        problem = assert_problem(await admin.post("/v1/statuses/lookup", json=body), 422)
        assert loc in [error["loc"] for error in problem["errors"]]

    async def test_a_partner_may_not(self, tenant: Tenant) -> None:
        partner = await tenant.client("partner", "dist-1")
        response = await partner.post("/v1/statuses/lookup", json={"customer_ids": ["a"]})
        assert_problem(response, 403)

    async def test_no_key_is_401_before_the_body(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.post("/v1/statuses/lookup", json={}), 401)

    async def test_500_ids_answer(self, admin: httpx.AsyncClient) -> None:
        ids = [f"c-{i}" for i in range(500)]
        for customer_id in ids[:20]:
            await put_customer(admin, customer_id)
        answer = await lookup(admin, customer_ids=ids)
        assert len(answer["items"]) == 20
        assert len(answer["not_found"]) == 480
