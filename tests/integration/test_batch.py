"""POST /v1/touches/batch: up to 1,000 touches, one result per item in input order."""

from typing import Any

import httpx
import pytest

from tests.integration.helpers import assert_problem, touch_body

RESULT_FIELDS = {"index", "status", "id", "errors"}


async def batch(client: httpx.AsyncClient, items: list[Any]) -> dict[str, Any]:
    response = await client.post("/v1/touches/batch", json={"touches": items})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"created", "duplicates", "rejected", "results"}
    assert [result["index"] for result in body["results"]] == list(range(len(items)))
    for result in body["results"]:
        assert set(result) == RESULT_FIELDS
    return body


async def stored(client: httpx.AsyncClient, customer_id: str = "c-1") -> list[dict[str, Any]]:
    response = await client.get(f"/v1/customers/{customer_id}/touches", params={"limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestBatchSize:
    async def test_an_empty_batch_is_422(self, admin: httpx.AsyncClient) -> None:
        body = assert_problem(await admin.post("/v1/touches/batch", json={"touches": []}), 422)
        assert ["body", "touches"] in [error["loc"] for error in body["errors"]]

    async def test_a_batch_of_1001_is_422(self, admin: httpx.AsyncClient) -> None:
        items = [touch_body() for _ in range(1001)]
        response = await admin.post("/v1/touches/batch", json={"touches": items})
        body = assert_problem(response, 422)
        assert ["body", "touches"] in [error["loc"] for error in body["errors"]]
        assert_problem(await admin.get("/v1/customers/c-1"), 404)

    async def test_a_batch_of_1000_is_stored(self, admin: httpx.AsyncClient) -> None:
        items = [touch_body(customer_id=f"c-{i % 7}") for i in range(1000)]
        body = await batch(admin, items)
        assert body["created"] == 1000
        assert body["duplicates"] == body["rejected"] == 0
        assert len({result["id"] for result in body["results"]}) == 1000

    async def test_a_batch_of_one_is_stored(self, admin: httpx.AsyncClient) -> None:
        body = await batch(admin, [touch_body()])
        assert body["created"] == 1
        assert body["results"][0]["status"] == "created"
        assert body["results"][0]["errors"] is None

    @pytest.mark.parametrize("payload", [{}, {"touches": "x"}, {"touches": None}, [touch_body()]])
    async def test_a_body_without_a_touches_list_is_422(
        self, admin: httpx.AsyncClient, payload: Any
    ) -> None:
        assert_problem(await admin.post("/v1/touches/batch", json=payload), 422)

    async def test_unknown_top_level_keys_are_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches/batch", json={"touches": [touch_body()], "x": 1})
        assert_problem(response, 422)


class TestBatchResults:
    async def test_results_follow_input_order_with_ids(self, admin: httpx.AsyncClient) -> None:
        items = [touch_body(external_id=f"e-{i}") for i in range(5)]
        body = await batch(admin, items)
        ids = [result["id"] for result in body["results"]]
        for external_id, touch_id in zip([f"e-{i}" for i in range(5)], ids, strict=True):
            read = (await admin.get(f"/v1/touches/{touch_id}")).json()
            assert read["external_id"] == external_id

    async def test_valid_items_are_stored_while_invalid_ones_are_rejected(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [
            touch_body(external_id="ok-0"),
            touch_body(channel="Not A Slug"),
            touch_body(external_id="ok-2"),
            touch_body(occurred_at="2026-11-20T09:30:00"),
            touch_body(occurred_at="2027-01-01T00:00:00Z"),
            touch_body(external_id="ok-5", kind="purchase", amount=10),
        ]
        body = await batch(admin, items)
        assert (body["created"], body["duplicates"], body["rejected"]) == (3, 0, 3)
        statuses = [result["status"] for result in body["results"]]
        assert statuses == ["created", "rejected", "created", "rejected", "rejected", "created"]
        for result in body["results"]:
            if result["status"] == "rejected":
                assert result["id"] is None
                assert result["errors"]
            else:
                assert result["errors"] is None
        assert {t["external_id"] for t in await stored(admin)} == {"ok-0", "ok-2", "ok-5"}

    async def test_rejections_name_the_bad_field_within_the_batch(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [
            touch_body(),
            touch_body(channel="BAD"),
            touch_body(occurred_at="2027-01-01T00:00:00Z"),
        ]
        body = await batch(admin, items)
        first = [error["loc"] for error in body["results"][1]["errors"]]
        second = [error["loc"] for error in body["results"][2]["errors"]]
        assert any(loc[-1] == "channel" for loc in first), first
        assert any(loc[-1] == "occurred_at" for loc in second), second
        for errors in (body["results"][1]["errors"], body["results"][2]["errors"]):
            for error in errors:
                assert set(error) == {"loc", "msg"}

    @pytest.mark.parametrize("item", [None, 5, "text", [1, 2], True, {}])
    async def test_items_that_are_not_touch_objects_are_rejected(
        self, admin: httpx.AsyncClient, item: Any
    ) -> None:
        body = await batch(admin, [touch_body(external_id="ok"), item])
        assert [result["status"] for result in body["results"]] == ["created", "rejected"]
        assert body["results"][1]["errors"]
        assert body["rejected"] == 1

    async def test_every_item_rejected_still_answers_200(self, admin: httpx.AsyncClient) -> None:
        body = await batch(admin, [{"x": 1}, 7])
        assert (body["created"], body["duplicates"], body["rejected"]) == (0, 0, 2)

    async def test_a_repeat_within_the_batch_is_a_duplicate_of_the_first(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [
            touch_body(external_id="e-1"),
            touch_body(external_id="e-2"),
            touch_body(external_id="e-1", channel="sms"),
            touch_body(external_id="e-1"),
        ]
        body = await batch(admin, items)
        results = body["results"]
        assert [r["status"] for r in results] == ["created", "created", "duplicate", "duplicate"]
        assert results[2]["id"] == results[0]["id"]
        assert results[3]["id"] == results[0]["id"]
        assert (body["created"], body["duplicates"], body["rejected"]) == (2, 2, 0)
        assert len(await stored(admin)) == 2
        read = (await admin.get(f"/v1/touches/{results[0]['id']}")).json()
        assert read["channel"] == "email"

    async def test_a_repeat_of_a_rejected_item_is_judged_on_its_own(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [touch_body(external_id="e-1", channel="BAD"), touch_body(external_id="e-1")]
        body = await batch(admin, items)
        assert [r["status"] for r in body["results"]] == ["rejected", "created"]

    async def test_duplicates_of_previously_stored_touches(self, admin: httpx.AsyncClient) -> None:
        single = (await admin.post("/v1/touches", json=touch_body(external_id="old-1"))).json()
        first = await batch(admin, [touch_body(external_id="old-2")])
        items = [
            touch_body(external_id="new-1"),
            touch_body(external_id="old-1"),
            touch_body(external_id="old-2"),
            touch_body(external_id="old-1"),
        ]
        body = await batch(admin, items)
        results = body["results"]
        assert [r["status"] for r in results] == ["created", "duplicate", "duplicate", "duplicate"]
        assert results[1]["id"] == results[3]["id"] == single["id"]
        assert results[2]["id"] == first["results"][0]["id"]
        assert (body["created"], body["duplicates"]) == (1, 3)
        assert len(await stored(admin)) == 3

    async def test_the_same_batch_twice_is_all_duplicates(self, admin: httpx.AsyncClient) -> None:
        items = [touch_body(external_id=f"e-{i}") for i in range(10)]
        first = await batch(admin, items)
        second = await batch(admin, items)
        assert second["duplicates"] == 10
        assert second["created"] == 0
        assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]

    async def test_items_without_external_id_are_each_stored(
        self, admin: httpx.AsyncClient
    ) -> None:
        item = {"customer_id": "c-1", "channel": "phone", "occurred_at": "2026-11-20T01:00:00Z"}
        body = await batch(admin, [item, item, item])
        assert body["created"] == 3
        assert len(await stored(admin)) == 3

    async def test_unknown_customers_get_bare_profiles(self, admin: httpx.AsyncClient) -> None:
        body = await batch(
            admin,
            [
                touch_body(customer_id="c-a"),
                touch_body(customer_id="c-b"),
                touch_body(customer_id="c-a"),
            ],
        )
        assert body["created"] == 3
        for customer_id in ("c-a", "c-b"):
            assert (await admin.get(f"/v1/customers/{customer_id}")).status_code == 200

    async def test_a_rejected_item_creates_no_profile(self, admin: httpx.AsyncClient) -> None:
        await batch(admin, [touch_body(customer_id="c-bad", channel="BAD"), touch_body()])
        assert (await admin.get("/v1/customers/c-bad")).status_code == 404

    async def test_an_amount_too_large_for_storage_is_rejected_alone(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [touch_body(external_id="ok"), touch_body(kind="purchase", amount=10**17)]
        body = await batch(admin, items)
        assert [r["status"] for r in body["results"]] == ["created", "rejected"]

    async def test_the_read_role_may_not_batch(self, tenant: Any) -> None:
        reader = await tenant.client("read")
        assert_problem(
            await reader.post("/v1/touches/batch", json={"touches": [touch_body()]}), 403
        )
