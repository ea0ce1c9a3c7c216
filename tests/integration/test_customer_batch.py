"""POST /v1/customers/batch: up to 1,000 profiles created or replaced as PUT would, one
result per item in input order."""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from app.clock import FixedClock
from app.customers import repository as customers_repo
from app.refresh import service as refresh
from app.tenants.service import tenant_of_key
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_problem, put_customer, z

RESULT_FIELDS = {"index", "customer_id", "status", "errors"}
PATH = "/v1/customers/batch"


def profile(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "name": f"Name of {customer_id}", **fields}


async def batch(client: httpx.AsyncClient, items: list[Any], **kwargs: Any) -> dict[str, Any]:
    response = await client.post(PATH, json={"customers": items}, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"created", "replaced", "rejected", "results"}
    assert [result["index"] for result in body["results"]] == list(range(len(items)))
    for result in body["results"]:
        assert set(result) == RESULT_FIELDS
        assert (result["errors"] is None) == (result["status"] != "rejected")
    counts = [sum(r["status"] == s for r in body["results"]) for s in body if s != "results"]
    assert counts == [body["created"], body["replaced"], body["rejected"]]
    return body


def statuses(body: dict[str, Any]) -> list[str]:
    return [result["status"] for result in body["results"]]


async def read(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def listed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/customers", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the service runs meanwhile."""
    engine = app.state.sessionmaker.kw["bind"].sync_engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestCreateAndReplace:
    async def test_new_profiles_are_created(self, admin: httpx.AsyncClient) -> None:
        items = [
            profile("c-1", stage="lead", owner={"rep_id": "rep-1", "team": "north"}),
            profile("c-2", preferences={"opted_out_channels": ["sms"]}, attributes={"a": 1}),
        ]
        body = await batch(admin, items)
        assert (body["created"], body["replaced"], body["rejected"]) == (2, 0, 0)
        assert [r["customer_id"] for r in body["results"]] == ["c-1", "c-2"]
        first, second = await read(admin, "c-1"), await read(admin, "c-2")
        assert first["owner"] == {"rep_id": "rep-1", "team": "north"}
        assert first["created_at"] == first["updated_at"] == first["stage_entered_at"] == z(NOW)
        assert second["preferences"]["opted_out_channels"] == ["sms"]
        assert second["attributes"] == {"a": 1}

    async def test_a_batch_stores_what_put_stores(self, admin: httpx.AsyncClient) -> None:
        fields = {
            "stage": "customer",
            "segment": "strategic",
            "market": "b2b",
            "industry": "fmcg",
            "owner": {"rep_id": "rep-7", "team": "east"},
            "timezone": "Asia/Shanghai",
            "country": "CN",
            "email": "buyer@acme.example",
            "preferences": {"paused_until": "2027-01-01T08:00:00+08:00", "max_contacts_per_30d": 3},
            "attributes": {"nested": {"list": [1, "two", None]}},
        }
        await put_customer(admin, "by-put", **fields)
        await batch(admin, [profile("by-batch", **fields)])
        by_put, by_batch = await read(admin, "by-put"), await read(admin, "by-batch")
        assert {**by_put, "customer_id": "by-batch", "name": "Name of by-batch"} == by_batch

    async def test_created_and_replaced_side_by_side(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-old", name="Old", segment="strategic", stage="lead")
        body = await batch(admin, [profile("c-new"), profile("c-old", stage="lead")])
        assert statuses(body) == ["created", "replaced"]
        assert (body["created"], body["replaced"]) == (1, 1)
        old = await read(admin, "c-old")
        assert (old["name"], old["stage"]) == ("Name of c-old", "lead")
        assert old["segment"] is None  # a replace, as PUT: what the item leaves out is cleared

    async def test_a_profile_read_back_is_accepted(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1", stage="lead")
        stored = await read(admin, "c-1")
        body = await batch(admin, [{**stored, "name": "Renamed"}])
        assert statuses(body) == ["replaced"]
        assert (await read(admin, "c-1"))["name"] == "Renamed"

    async def test_a_batch_of_1000_is_one_insert(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        items = [profile(f"c-{i:04}", stage="lead") for i in range(1000)]
        with statements(app) as seen:
            body = await batch(admin, items)
        assert body["created"] == 1000
        assert sum("INSERT INTO customers" in sql for sql in seen) == 1
        assert len(seen) < 40, seen
        items[7]["stage"] = "customer"
        again = await batch(admin, items)
        assert (again["created"], again["replaced"]) == (0, 1000)
        assert len(await listed(admin)) == 1000


class TestStageEnteredAt:
    async def test_it_moves_only_when_the_stage_changes(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await batch(admin, [profile("c-1", stage="lead")])
        clock.set(NOW + timedelta(days=1))
        await batch(admin, [profile("c-1", stage="lead", segment="strategic")])
        kept = await read(admin, "c-1")
        assert (kept["stage_entered_at"], kept["updated_at"]) == (z(NOW), z(clock.now()))
        clock.set(NOW + timedelta(days=2))
        await batch(admin, [profile("c-1", stage="customer", segment="strategic")])
        moved = await read(admin, "c-1")
        assert moved["stage_entered_at"] == moved["updated_at"] == z(clock.now())
        assert moved["created_at"] == z(NOW)

    async def test_losing_the_stage_is_a_change(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await batch(admin, [profile("c-1", stage="lead")])
        clock.set(NOW + timedelta(hours=3))
        await batch(admin, [profile("c-1")])
        assert (await read(admin, "c-1"))["stage_entered_at"] == z(clock.now())

    async def test_an_identical_replace_changes_nothing(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        item = profile("c-1", stage="lead", preferences={"preferred_channels": ["email"]})
        await put_customer(admin, "c-1", **{k: v for k, v in item.items() if k != "customer_id"})
        before = await read(admin, "c-1")
        clock.set(NOW + timedelta(days=3))
        body = await batch(admin, [item])
        assert statuses(body) == ["replaced"]
        assert await read(admin, "c-1") == before


class TestRejections:
    async def test_valid_items_are_stored_beside_rejected_ones(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [
            profile("ok-0"),
            profile("bad-1", stage="Not A Slug"),
            profile("ok-2"),
            profile("bad-3", timezone="Mars/Olympus", country="China"),
            profile("bad:4 with spaces"),
        ]
        body = await batch(admin, items)
        assert statuses(body) == ["created", "rejected", "created", "rejected", "rejected"]
        assert (body["created"], body["replaced"], body["rejected"]) == (2, 0, 3)
        results = body["results"]
        assert [r["customer_id"] for r in results] == [item["customer_id"] for item in items]
        assert [e["loc"] for e in results[1]["errors"]] == [["body", "customers", 1, "stage"]]
        assert {tuple(e["loc"]) for e in results[3]["errors"]} == {
            ("body", "customers", 3, "timezone"),
            ("body", "customers", 3, "country"),
        }
        assert [e["loc"] for e in results[4]["errors"]] == [["body", "customers", 4, "customer_id"]]
        for error in results[1]["errors"]:
            assert set(error) == {"loc", "msg"}
        assert [c["customer_id"] for c in await listed(admin)] == ["ok-0", "ok-2"]

    async def test_an_item_needs_its_customer_id(self, admin: httpx.AsyncClient) -> None:
        body = await batch(admin, [{"name": "Nobody"}, profile("c-1"), {"customer_id": 7}])
        assert statuses(body) == ["rejected", "created", "rejected"]
        assert [r["customer_id"] for r in body["results"]] == [None, "c-1", None]
        missing = body["results"][0]["errors"]
        assert missing == [
            {"loc": ["body", "customers", 0, "customer_id"], "msg": "Field required"}
        ]
        assert body["results"][2]["errors"][0]["loc"] == ["body", "customers", 2, "customer_id"]

    @pytest.mark.parametrize("item", [None, 5, "c-1", [1, 2], True, {}, {"customer_id": None}])
    async def test_items_that_are_not_profiles_are_rejected(
        self, admin: httpx.AsyncClient, item: Any
    ) -> None:
        body = await batch(admin, [profile("ok"), item])
        assert statuses(body) == ["created", "rejected"]
        result = body["results"][1]
        assert result["customer_id"] is None
        assert all(error["loc"][:3] == ["body", "customers", 1] for error in result["errors"])
        if not isinstance(item, dict):
            assert result["errors"] == [
                {
                    "loc": ["body", "customers", 1],
                    "msg": "must be a JSON object (a customer profile)",
                }
            ]

    async def test_unknown_fields_are_rejected(self, admin: httpx.AsyncClient) -> None:
        body = await batch(admin, [profile("c-1", colour="red")])
        assert body["results"][0]["errors"][0]["loc"] == ["body", "customers", 0, "colour"]

    async def test_an_id_that_cannot_be_written_back_is_null(
        self, admin: httpx.AsyncClient
    ) -> None:
        content = (
            b'{"customers": [{"customer_id": "\\ud800"}, {"customer_id": "ok", "x": "\\u0000"}]}'
        )
        response = await admin.post(
            PATH, content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["customer_id"] for r in results] == [None, "ok"]
        assert [r["status"] for r in results] == ["rejected", "rejected"]

    async def test_every_item_rejected_still_answers_200(self, admin: httpx.AsyncClient) -> None:
        body = await batch(admin, [{"x": 1}, 7])
        assert (body["created"], body["replaced"], body["rejected"]) == (0, 0, 2)


class TestRepeatsWithinABatch:
    async def test_a_repeated_customer_id_is_rejected_and_the_first_stored(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [profile("c-1", stage="lead"), profile("c-2"), profile("c-1", stage="lost")]
        body = await batch(admin, items)
        assert statuses(body) == ["created", "created", "rejected"]
        assert body["results"][2]["customer_id"] == "c-1"
        assert body["results"][2]["errors"] == [
            {
                "loc": ["body", "customers", 2, "customer_id"],
                "msg": "repeats the customer_id of item 0",
            }
        ]
        assert (await read(admin, "c-1"))["stage"] == "lead"

    async def test_a_repeat_of_a_rejected_item_is_judged_on_its_own(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [profile("c-1", stage="BAD"), profile("c-1", stage="lead"), profile("c-1")]
        body = await batch(admin, items)
        assert statuses(body) == ["rejected", "created", "rejected"]
        assert (await read(admin, "c-1"))["stage"] == "lead"

    async def test_ids_differing_in_case_are_different_customers(
        self, admin: httpx.AsyncClient
    ) -> None:
        body = await batch(admin, [profile("c-1"), profile("C-1")])
        assert statuses(body) == ["created", "created"]


class TestBatchShape:
    async def test_a_batch_of_1001_is_422(self, admin: httpx.AsyncClient) -> None:
        items = [profile(f"c-{i}") for i in range(1001)]
        body = assert_problem(await admin.post(PATH, json={"customers": items}), 422)
        assert ["body", "customers"] in [error["loc"] for error in body["errors"]]
        assert await listed(admin) == []

    @pytest.mark.parametrize(
        "payload",
        [{}, {"customers": []}, {"customers": "x"}, {"customers": None}, [profile("c-1")]],
    )
    async def test_a_body_without_a_list_of_profiles_is_422(
        self, admin: httpx.AsyncClient, payload: Any
    ) -> None:
        assert_problem(await admin.post(PATH, json=payload), 422)

    async def test_unknown_top_level_keys_are_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(PATH, json={"customers": [profile("c-1")], "x": 1})
        assert_problem(response, 422)

    async def test_a_body_over_1_mib_is_413(self, admin: httpx.AsyncClient) -> None:
        items = [profile(f"c-{i}", attributes={"x": "a" * 60_000}) for i in range(20)]
        assert_problem(await admin.post(PATH, json={"customers": items}), 413)


class TestRoles:
    @pytest.mark.parametrize("role", ["admin", "ingest"])
    async def test_writers_may_batch(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role)
        assert statuses(await batch(client, [profile("c-1")])) == ["created"]

    @pytest.mark.parametrize("role", ["read", "partner"])
    async def test_others_get_403_before_the_body_is_read(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role, "p-1" if role == "partner" else None)
        assert_problem(await client.post(PATH, json={"customers": [profile("c-1")]}), 403)
        assert_problem(await client.post(PATH, json={"customers": "nonsense"}), 403)
        json_type = {"content-type": "application/json"}
        assert_problem(await client.post(PATH, content=b"{not json", headers=json_type), 403)

    async def test_no_key_is_401_before_the_body_is_read(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        assert_problem(await anonymous.post(PATH, json={"customers": [profile("c-1")]}), 401)
        assert_problem(await anonymous.post(PATH, json={"customers": []}), 401)

    async def test_another_tenant_is_untouched(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        other = await other_tenant.client("admin")
        await put_customer(other, "c-1", name="Theirs", stage="lead")
        assert statuses(await batch(admin, [profile("c-1")])) == ["created"]
        assert (await read(other, "c-1"))["name"] == "Theirs"


class TestIdempotencyAndConcurrency:
    async def test_a_repeat_with_the_same_key_replays_the_first_answer(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        headers = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
        items = [profile("c-1", stage="lead"), profile("c-2", stage="BAD")]
        first = await admin.post(PATH, json={"customers": items}, headers=headers)
        clock.set(NOW + timedelta(hours=1))
        second = await admin.post(PATH, json={"customers": items}, headers=headers)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert statuses(second.json()) == ["created", "rejected"]
        assert second.headers["Idempotent-Replayed"] == "true"
        other = await admin.post(PATH, json={"customers": items[:1]}, headers=headers)
        assert_problem(other, 422)

    async def test_overlapping_batches_neither_deadlock_nor_double(
        self, admin: httpx.AsyncClient
    ) -> None:
        ids = [f"c-{i:03}" for i in range(200)]
        bodies = await both_ways(admin, ids, "new")
        assert sum(body["created"] for body in bodies) == 200
        await assert_one_writer_after_the_other(admin, ids)

    async def test_batches_held_up_midway_finish_one_after_the_other(
        self, app: FastAPI, admin: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """A row held by a third transaction stops both batches midway, each holding the rows
        before it; they only get through when both take rows in one order."""
        ids = [f"c-{i:03}" for i in range(200)]
        await batch(admin, [profile(i) for i in ids])
        tenant_id = tenant_of_key(await tenant.key("admin"))
        assert tenant_id is not None
        async with app.state.sessionmaker() as holder:
            await customers_repo.get(holder, tenant_id, "c-100", for_update=True)
            running = asyncio.ensure_future(both_ways(admin, ids, "held"))
            await wait_for_waiters(app, 2)
            await holder.rollback()
        bodies = await asyncio.wait_for(running, timeout=60)
        assert [body["replaced"] for body in bodies] == [200, 200]
        await assert_one_writer_after_the_other(admin, ids)


async def both_ways(client: httpx.AsyncClient, ids: list[str], label: str) -> list[dict[str, Any]]:
    """Two batches over the same customers, in opposite orders, at once."""
    forward = [profile(i, name=f"{label}-forward", stage="lead") for i in ids]
    backward = [profile(i, name=f"{label}-backward", stage="customer") for i in reversed(ids)]
    running = asyncio.gather(batch(client, forward), batch(client, backward))
    bodies = list(await asyncio.wait_for(running, timeout=60))
    assert [body["created"] + body["replaced"] for body in bodies] == [len(ids)] * 2
    return bodies


async def assert_one_writer_after_the_other(client: httpx.AsyncClient, ids: list[str]) -> None:
    stored = await listed(client)
    assert [c["customer_id"] for c in stored] == ids
    assert len({(c["name"], c["stage"]) for c in stored}) == 1


async def wait_for_waiters(app: FastAPI, count: int) -> None:
    """Until ``count`` sessions of this database wait for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        async with app.state.sessionmaker() as session:
            if await session.scalar(query) >= count:
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the batches never waited for the held row")


class TestFreshVerdicts:
    async def test_changed_profiles_ask_once_for_fresh_verdicts(
        self, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await batch(admin, [profile("same", stage="lead"), profile("moved", stage="lead")])
        calls: list[list[str]] = []
        changed = refresh.customers_changed

        async def spy(session: Any, tenant_id: Any, ids: Any) -> None:
            calls.append(list(ids))
            await changed(session, tenant_id, ids)

        monkeypatch.setattr(refresh, "customers_changed", spy)
        items = [profile("same", stage="lead"), profile("moved", stage="lost"), profile("new")]
        await batch(admin, items)
        assert calls == [["moved", "new"]]
        calls.clear()
        await batch(admin, items)
        assert calls == []

    async def test_the_stored_statuses_follow_each_batch(self, admin: httpx.AsyncClient) -> None:
        async def listed_by_stage(stage: str) -> list[str]:
            page = (await admin.get("/v1/statuses", params={"stage": stage})).json()
            return [item["customer_id"] for item in page["items"]]

        await put_customer(admin, "c-1", stage="lead")
        assert await listed_by_stage("lead") == ["c-1"]
        await batch(admin, [profile("c-1", stage="customer")])
        assert (await listed_by_stage("lead"), await listed_by_stage("customer")) == ([], ["c-1"])
