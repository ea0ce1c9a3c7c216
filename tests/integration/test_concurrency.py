"""Concurrent writers: the database keeps one copy of each touch and nobody deadlocks."""

import asyncio
import random
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.integration.helpers import touch_body


async def stored(client: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(f"/v1/customers/{customer_id}/touches", params=params)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


class TestConcurrentSameTouch:
    @pytest.mark.parametrize("count", [20, 50])
    async def test_concurrent_posts_of_one_touch_store_one_row(
        self, admin: httpx.AsyncClient, count: int
    ) -> None:
        responses = await asyncio.gather(
            *(admin.post("/v1/touches", json=touch_body(external_id="evt-1")) for _ in range(count))
        )
        statuses = [response.status_code for response in responses]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(200) == count - 1, statuses
        ids = {response.json()["id"] for response in responses}
        assert len(ids) == 1
        for response in responses:
            assert response.json()["duplicate"] is (response.status_code == 200)
        assert len(await stored(admin, "c-1")) == 1

    async def test_concurrent_posts_from_several_keys_store_one_row(self, tenant: Tenant) -> None:
        clients = [await tenant.client("admin"), await tenant.client("ingest")]
        responses = await asyncio.gather(
            *(
                clients[i % 2].post("/v1/touches", json=touch_body(external_id="evt-1"))
                for i in range(30)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 29 + [201]
        assert len(await stored(clients[0], "c-1")) == 1

    async def test_concurrent_touches_of_a_new_customer_create_one_profile(
        self, admin: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(
            *(
                admin.post(
                    "/v1/touches", json=touch_body(customer_id="c-new", external_id=f"e-{i}")
                )
                for i in range(30)
            )
        )
        assert all(response.status_code == 201 for response in responses)
        listed = (await admin.get("/v1/customers")).json()["items"]
        assert [item["customer_id"] for item in listed] == ["c-new"]
        assert len(await stored(admin, "c-new")) == 30

    async def test_concurrent_puts_of_one_new_profile_create_it_once(
        self, admin: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(
            *(admin.put("/v1/customers/c-1", json={"name": f"n{i}"}) for i in range(20))
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 19 + [201]

    async def test_concurrent_patches_all_apply(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        responses = await asyncio.gather(
            *(
                admin.patch("/v1/customers/c-1", json={"attributes": {f"k{i}": i}})
                for i in range(20)
            )
        )
        assert all(response.status_code == 200 for response in responses)
        attributes = (await admin.get("/v1/customers/c-1")).json()["attributes"]
        assert attributes == {f"k{i}": i for i in range(20)}


class TestConcurrentBatches:
    async def test_batches_sharing_keys_in_different_orders_do_not_deadlock(
        self, admin: httpx.AsyncClient
    ) -> None:
        customers = [f"c-{i}" for i in range(10)]
        items = [
            touch_body(customer_id=customers[i % 10], external_id=f"e-{i}", channel="phone")
            for i in range(200)
        ]
        rng = random.Random(7)
        batches = []
        for _ in range(12):
            shuffled = items[:]
            rng.shuffle(shuffled)
            batches.append(shuffled)
        responses = await asyncio.gather(
            *(admin.post("/v1/touches/batch", json={"touches": b}) for b in batches)
        )
        assert [response.status_code for response in responses] == [200] * 12, [
            response.text[:200] for response in responses if response.status_code != 200
        ]
        created = sum(response.json()["created"] for response in responses)
        duplicates = sum(response.json()["duplicates"] for response in responses)
        assert created == 200
        assert duplicates == 12 * 200 - 200
        ids: dict[str, str] = {}
        for batch, response in zip(batches, responses, strict=True):
            for item, result in zip(batch, response.json()["results"], strict=True):
                assert ids.setdefault(item["external_id"], result["id"]) == result["id"]
        total = sum([len(await stored(admin, customer)) for customer in customers])
        assert total == 200

    async def test_reversed_batches_do_not_deadlock(self, admin: httpx.AsyncClient) -> None:
        items = [touch_body(customer_id=f"c-{i}", external_id=f"e-{i}") for i in range(100)]
        for _ in range(5):
            responses = await asyncio.gather(
                admin.post("/v1/touches/batch", json={"touches": items}),
                admin.post("/v1/touches/batch", json={"touches": items[::-1]}),
                admin.post("/v1/touches/batch", json={"touches": items[50:] + items[:50]}),
            )
            assert [response.status_code for response in responses] == [200, 200, 200]
        listed = (await admin.get("/v1/customers", params={"limit": 500})).json()["items"]
        assert len(listed) == 100

    async def test_batches_and_single_posts_mixed_store_each_touch_once(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [touch_body(customer_id=f"c-{i % 5}", external_id=f"e-{i}") for i in range(50)]
        calls = [admin.post("/v1/touches/batch", json={"touches": items[::-1]})]
        calls += [admin.post("/v1/touches", json=item) for item in items[::3]]
        calls += [admin.post("/v1/touches/batch", json={"touches": items})]
        responses = await asyncio.gather(*calls)
        assert all(response.status_code in (200, 201) for response in responses), [
            (response.status_code, response.text[:300])
            for response in responses
            if response.status_code not in (200, 201)
        ]
        total = sum([len(await stored(admin, f"c-{i}")) for i in range(5)])
        assert total == 50

    async def test_concurrent_batches_with_a_profile_write_do_not_deadlock(
        self, admin: httpx.AsyncClient
    ) -> None:
        customers = [f"c-{i}" for i in range(5)]
        for customer in customers:
            await admin.put(f"/v1/customers/{customer}", json={"stage": "lead"})
        items = [touch_body(customer_id=customers[i % 5], external_id=f"e-{i}") for i in range(50)]
        calls = [admin.post("/v1/touches/batch", json={"touches": items[::-1]})]
        calls += [admin.patch(f"/v1/customers/{c}", json={"stage": "customer"}) for c in customers]
        calls += [admin.post("/v1/touches/batch", json={"touches": items})]
        calls += [admin.put(f"/v1/customers/{c}", json={"stage": "loyal"}) for c in customers]
        responses = await asyncio.gather(*calls)
        assert all(response.status_code < 300 for response in responses), [
            response.text[:200] for response in responses if response.status_code >= 300
        ]
