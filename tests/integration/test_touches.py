"""Recording one touch, reading it back, and a customer's touch history."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FixedClock
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_full_problem, touch_body

TOUCH_FIELDS = {
    "id", "customer_id", "channel", "occurred_at", "kind", "direction", "outcome", "category",
    "actor", "automated", "depth", "amount", "source", "external_id", "ref_external_id",
    "campaign_id", "metadata", "received_at",
}  # fmt: skip
FULL_TOUCH: dict[str, Any] = {
    "customer_id": "c-1001",
    "channel": "email",
    "occurred_at": "2026-11-20T09:30:00+08:00",
    "kind": "contact",
    "direction": "outbound",
    "outcome": "delivered",
    "category": "sales",
    "actor": {"rep_id": "rep-7", "team": "north-sales", "partner_id": None},
    "automated": False,
    "depth": "value",
    "amount": None,
    "source": "crm-main",
    "external_id": "evt-99812",
    "ref_external_id": None,
    "campaign_id": None,
    "metadata": {"subject": "Hello", "nested": {"list": [1, "two", None]}},
}


def error_locs(response: httpx.Response) -> list[list[str | int]]:
    return [error["loc"] for error in assert_full_problem(response, 422)["errors"]]


async def history(client: httpx.AsyncClient, customer_id: str, **params: Any) -> list[Any]:
    response = await client.get(f"/v1/customers/{customer_id}/touches", params=params)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


class TestRecordTouch:
    async def test_a_new_touch_is_stored_with_201(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json=FULL_TOUCH)
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == TOUCH_FIELDS | {"duplicate"}
        assert body["duplicate"] is False
        for key, value in FULL_TOUCH.items():
            if key != "occurred_at":
                assert body[key] == value, key
        assert body["occurred_at"] == "2026-11-20T01:30:00Z"
        assert body["received_at"] == "2026-11-20T03:00:00Z"
        uuid.UUID(body["id"])

    async def test_defaults_are_echoed(self, admin: httpx.AsyncClient) -> None:
        minimal = {"customer_id": "c-1", "channel": "phone", "occurred_at": "2026-11-20T02:00:00Z"}
        response = await admin.post("/v1/touches", json=minimal)
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == TOUCH_FIELDS | {"duplicate"}
        assert body["kind"] == "contact"
        assert body["direction"] == "outbound"
        assert body["automated"] is False
        assert body["actor"] == {"rep_id": None, "team": None, "partner_id": None}
        assert body["metadata"] == {}
        for key in ("outcome", "category", "depth", "amount", "external_id", "ref_external_id"):
            assert body[key] is None, key
        assert body["campaign_id"] is None
        assert isinstance(body["source"], str)

    async def test_the_stored_touch_reads_back_the_same(self, admin: httpx.AsyncClient) -> None:
        created = (await admin.post("/v1/touches", json=FULL_TOUCH)).json()
        read = await admin.get(f"/v1/touches/{created['id']}")
        assert read.status_code == 200, read.text
        assert read.json() == {k: v for k, v in created.items() if k != "duplicate"}

    async def test_output_timestamps_are_utc_with_z(self, admin: httpx.AsyncClient) -> None:
        body = (
            await admin.post(
                "/v1/touches", json=touch_body(occurred_at="2026-11-19T21:15:30.25-05:00")
            )
        ).json()
        assert body["occurred_at"] == "2026-11-20T02:15:30.250000Z"
        assert body["received_at"].endswith("Z")

    async def test_a_repeat_of_source_and_external_id_is_a_200_duplicate(
        self, admin: httpx.AsyncClient
    ) -> None:
        first = await admin.post("/v1/touches", json=FULL_TOUCH)
        again = await admin.post("/v1/touches", json=FULL_TOUCH)
        assert again.status_code == 200, again.text
        assert again.json()["duplicate"] is True
        assert again.json()["id"] == first.json()["id"]
        assert {k: v for k, v in again.json().items() if k != "duplicate"} == {
            k: v for k, v in first.json().items() if k != "duplicate"
        }

    async def test_a_duplicate_returns_the_stored_touch_not_the_new_body(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        first = (await admin.post("/v1/touches", json=touch_body(external_id="e-1"))).json()
        clock.set(NOW + timedelta(hours=1))
        again = await admin.post(
            "/v1/touches", json=touch_body(external_id="e-1", channel="sms", customer_id="c-2")
        )
        assert again.status_code == 200, again.text
        assert again.json()["channel"] == "email"
        assert again.json()["customer_id"] == "c-1"
        assert again.json()["received_at"] == first["received_at"]
        assert len(await history(admin, "c-1")) == 1

    async def test_the_same_external_id_from_another_source_is_a_new_touch(
        self, admin: httpx.AsyncClient
    ) -> None:
        first = await admin.post("/v1/touches", json=touch_body(source="crm", external_id="e-1"))
        second = await admin.post("/v1/touches", json=touch_body(source="web", external_id="e-1"))
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] != second.json()["id"]

    async def test_touches_without_external_id_are_never_duplicates(
        self, admin: httpx.AsyncClient
    ) -> None:
        body = touch_body(external_id=...)
        first = await admin.post("/v1/touches", json=body)
        second = await admin.post("/v1/touches", json=body)
        assert first.status_code == second.status_code == 201
        assert len(await history(admin, "c-1")) == 2

    async def test_a_touch_for_an_unknown_customer_creates_a_bare_profile(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.post("/v1/touches", json=touch_body(customer_id="c-new"))
        assert response.status_code == 201, response.text
        profile = await admin.get("/v1/customers/c-new")
        assert profile.status_code == 200, profile.text
        body = profile.json()
        assert body["name"] is None
        assert body["stage"] is None
        assert body["owner"] == {"rep_id": None, "team": None}
        assert body["created_at"] == "2026-11-20T03:00:00Z"

    async def test_a_touch_leaves_an_existing_profile_alone(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        profile = (await admin.put("/v1/customers/c-1", json={"name": "Acme"})).json()
        clock.set(NOW + timedelta(hours=1))
        await admin.post("/v1/touches", json=touch_body(customer_id="c-1"))
        assert (await admin.get("/v1/customers/c-1")).json() == profile

    async def test_the_ingest_role_may_record(self, tenant: Tenant) -> None:
        ingest = await tenant.client("ingest")
        assert (await ingest.post("/v1/touches", json=touch_body())).status_code == 201

    async def test_any_channel_slug_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json=touch_body(channel="carrier-pigeon"))
        assert response.status_code == 201, response.text
        assert response.json()["channel"] == "carrier-pigeon"

    async def test_a_purchase_with_an_amount_is_stored(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(kind="purchase", amount=1234.5, channel="web")
        )
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == 1234.5
        assert response.json()["kind"] == "purchase"

    async def test_an_amount_of_zero_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json=touch_body(kind="purchase", amount=0))
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == 0

    async def test_an_engagement_points_at_its_contact(self, admin: httpx.AsyncClient) -> None:
        await admin.post("/v1/touches", json=touch_body(external_id="msg-1"))
        response = await admin.post(
            "/v1/touches",
            json=touch_body(kind="engagement", outcome="opened", ref_external_id="msg-1"),
        )
        assert response.status_code == 201, response.text
        assert response.json()["ref_external_id"] == "msg-1"
        assert response.json()["kind"] == "engagement"

    async def test_an_inbound_touch_is_stored(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(direction="inbound", channel="phone")
        )
        assert response.status_code == 201, response.text
        assert response.json()["direction"] == "inbound"

    async def test_exactly_five_minutes_ahead_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(occurred_at="2026-11-20T03:05:00Z")
        )
        assert response.status_code == 201, response.text

    async def test_a_touch_in_the_distant_past_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(occurred_at="1999-01-01T00:00:00Z")
        )
        assert response.status_code == 201, response.text


class TestTouchValidation:
    async def test_more_than_five_minutes_ahead_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(occurred_at="2026-11-20T03:05:00.001Z")
        )
        assert ["body", "occurred_at"] in error_locs(response)

    async def test_the_future_limit_follows_the_clock(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        body = touch_body(occurred_at="2026-11-20T05:00:00Z")
        assert_full_problem(await admin.post("/v1/touches", json=body), 422)
        clock.set(NOW + timedelta(hours=2))
        assert (await admin.post("/v1/touches", json=body)).status_code == 201

    async def test_the_future_limit_honours_the_offset(self, admin: httpx.AsyncClient) -> None:
        ahead = touch_body(occurred_at="2026-11-20T11:10:00+08:00")  # 03:10Z
        assert ["body", "occurred_at"] in error_locs(await admin.post("/v1/touches", json=ahead))
        fine = touch_body(occurred_at="2026-11-20T11:00:00+08:00")  # 03:00Z
        assert (await admin.post("/v1/touches", json=fine)).status_code == 201

    @pytest.mark.parametrize(
        "occurred_at",
        ["2026-11-20T09:30:00", "2026-11-20", "yesterday", "", "1763600000", 1763600000, None],
    )
    async def test_occurred_at_without_an_offset_is_422(
        self, admin: httpx.AsyncClient, occurred_at: Any
    ) -> None:
        response = await admin.post("/v1/touches", json=touch_body(occurred_at=occurred_at))
        assert any(loc[:2] == ["body", "occurred_at"] for loc in error_locs(response))

    async def test_occurred_at_is_required(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json=touch_body(occurred_at=...))
        assert ["body", "occurred_at"] in error_locs(response)

    async def test_metadata_over_16_kib_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json=touch_body(metadata={"x": "a" * 16 * 1024}))
        assert ["body", "metadata"] in error_locs(response)

    async def test_metadata_just_under_16_kib_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(metadata={"x": "a" * (16 * 1024 - 20)})
        )
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize("amount", [-0.01, -1, "-5"])
    async def test_a_negative_amount_is_422(self, admin: httpx.AsyncClient, amount: Any) -> None:
        response = await admin.post("/v1/touches", json=touch_body(kind="purchase", amount=amount))
        assert ["body", "amount"] in error_locs(response)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("customer_id", "has space"),
            ("customer_id", "x" * 129),
            ("customer_id", ""),
            ("channel", "Email"),
            ("channel", ""),
            ("kind", "visit"),
            ("direction", "sideways"),
            ("outcome", "Opened!"),
            ("category", "other"),
            ("depth", "shallow"),
            ("automated", "maybe"),
            ("source", "CRM"),
            ("external_id", "a b"),
            ("ref_external_id", "x" * 200),
            ("campaign_id", "c/1"),
            ("metadata", []),
            ("metadata", "text"),
            ("actor", "rep-7"),
            ("bogus", 1),
        ],
    )
    async def test_a_bad_field_is_422_naming_it(
        self, admin: httpx.AsyncClient, field: str, value: Any
    ) -> None:
        response = await admin.post("/v1/touches", json=touch_body(**{field: value}))
        assert any(loc[:2] == ["body", field] for loc in error_locs(response))

    async def test_a_bad_actor_field_is_named(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(actor={"team": "North", "rep_id": "r 1", "x": 1})
        )
        locs = error_locs(response)
        for loc in (["body", "actor", "team"], ["body", "actor", "rep_id"], ["body", "actor", "x"]):
            assert loc in locs, locs

    async def test_required_fields_are_named(self, admin: httpx.AsyncClient) -> None:
        locs = error_locs(await admin.post("/v1/touches", json={}))
        for field in ("customer_id", "channel", "occurred_at"):
            assert ["body", field] in locs

    async def test_nothing_is_stored_for_a_rejected_touch(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body(customer_id="c-rej", occurred_at="2030-01-01T00:00:00Z")
        )
        assert_full_problem(response, 422)
        assert_full_problem(await admin.get("/v1/customers/c-rej"), 404)


class TestGetTouch:
    async def test_an_unknown_id_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_full_problem(await admin.get(f"/v1/touches/{uuid.uuid4()}"), 404)

    @pytest.mark.parametrize("touch_id", ["not-a-uuid", "1234", "%00", "x" * 300])
    async def test_a_garbage_id_is_a_problem_not_a_crash(
        self, admin: httpx.AsyncClient, touch_id: str
    ) -> None:
        response = await admin.get(f"/v1/touches/{touch_id}")
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_another_tenants_touch_is_404(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        created = (await admin.post("/v1/touches", json=touch_body())).json()
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            theirs = await other.client("admin")
            assert_full_problem(await theirs.get(f"/v1/touches/{created['id']}"), 404)
        finally:
            await other.close()

    async def test_the_read_role_may_read(self, tenant: Tenant, admin: httpx.AsyncClient) -> None:
        created = (await admin.post("/v1/touches", json=touch_body())).json()
        reader = await tenant.client("read")
        assert (await reader.get(f"/v1/touches/{created['id']}")).status_code == 200


class TestCustomerTouches:
    async def seed(self, admin: httpx.AsyncClient) -> list[str]:
        """Six touches of c-1, one an hour from 18:00Z, and one of c-2; ids oldest first."""
        ids = []
        specs = [
            ("email", "contact"),
            ("phone", "contact"),
            ("email", "engagement"),
            ("visit", "contact"),
            ("email", "purchase"),
            ("phone", "contact"),
        ]
        for hour, (channel, kind) in enumerate(specs):
            at = f"2026-11-19T{18 + hour:02d}:00:00Z"
            response = await admin.post(
                "/v1/touches", json=touch_body(channel=channel, kind=kind, occurred_at=at)
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        await admin.post("/v1/touches", json=touch_body(customer_id="c-2"))
        return ids

    async def test_touches_are_listed_newest_first(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        items = await history(admin, "c-1")
        assert [item["id"] for item in items] == ids[::-1]
        assert all(set(item) == TOUCH_FIELDS for item in items)

    async def test_the_page_shape_is_items_and_next_cursor(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        body = (await admin.get("/v1/customers/c-1/touches")).json()
        assert set(body) == {"items", "next_cursor"}
        assert body["next_cursor"] is None

    async def test_filter_by_channel(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        items = await history(admin, "c-1", channel="phone")
        assert [item["id"] for item in items] == [ids[5], ids[1]]

    async def test_filter_by_kind(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        assert [i["id"] for i in await history(admin, "c-1", kind="contact")] == [
            ids[5], ids[3], ids[1], ids[0]
        ]  # fmt: skip
        assert [i["id"] for i in await history(admin, "c-1", kind="engagement")] == [ids[2]]

    async def test_filter_by_from_and_to_inclusive(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        items = await history(
            admin, "c-1", **{"from": "2026-11-19T19:00:00Z", "to": "2026-11-20T05:00:00+08:00"}
        )
        assert [item["id"] for item in items] == [ids[3], ids[2], ids[1]]

    async def test_filters_combine(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        items = await history(admin, "c-1", channel="email", kind="contact")
        assert [item["id"] for item in items] == [ids[0]]
        assert await history(admin, "c-1", channel="sms") == []

    async def test_an_unencoded_plus_offset_in_the_url_is_understood(
        self, admin: httpx.AsyncClient
    ) -> None:
        ids = await self.seed(admin)
        response = await admin.get("/v1/customers/c-1/touches?from=2026-11-20T07:00:00+08:00")
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [ids[5]]

    async def test_from_without_an_offset_is_422(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        for param in ("from", "to"):
            response = await admin.get(
                "/v1/customers/c-1/touches", params={param: "2026-11-19T21:00:00"}
            )
            assert ["query", param] in error_locs(response)

    async def test_a_bad_kind_or_channel_is_422(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        bad_kind = await admin.get("/v1/customers/c-1/touches", params={"kind": "call"})
        assert ["query", "kind"] in error_locs(bad_kind)
        bad_channel = await admin.get("/v1/customers/c-1/touches", params={"channel": "E mail"})
        assert ["query", "channel"] in error_locs(bad_channel)

    async def test_cursor_pages_walk_the_history_once(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 4}
            if cursor is not None:
                params["cursor"] = cursor
            page = (await admin.get("/v1/customers/c-1/touches", params=params)).json()
            assert len(page["items"]) <= 4
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids[::-1]

    async def test_pages_of_touches_at_one_instant_are_not_lost(
        self, admin: httpx.AsyncClient
    ) -> None:
        for _ in range(5):
            await admin.post("/v1/touches", json=touch_body(occurred_at="2026-11-20T01:00:00Z"))
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            page = (await admin.get("/v1/customers/c-1/touches", params=params)).json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5

    async def test_cursor_pages_keep_the_filters(self, admin: httpx.AsyncClient) -> None:
        ids = await self.seed(admin)
        first = (
            await admin.get("/v1/customers/c-1/touches", params={"kind": "contact", "limit": 3})
        ).json()
        assert [i["id"] for i in first["items"]] == [ids[5], ids[3], ids[1]]
        rest = (
            await admin.get(
                "/v1/customers/c-1/touches",
                params={"kind": "contact", "limit": 3, "cursor": first["next_cursor"]},
            )
        ).json()
        assert [i["id"] for i in rest["items"]] == [ids[0]]
        assert rest["next_cursor"] is None

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "WzFd",  # [1]
            "WyJ4IiwieSJd",  # ["x","y"]
            "WyIyMDI2LTExLTIwVDAxOjAwOjAwIiwiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIl0",
            "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIl0",
        ],
    )
    async def test_a_garbage_cursor_is_422(self, admin: httpx.AsyncClient, cursor: str) -> None:
        await admin.post("/v1/touches", json=touch_body())
        response = await admin.get("/v1/customers/c-1/touches", params={"cursor": cursor})
        assert ["query", "cursor"] in error_locs(response)

    @pytest.mark.parametrize("limit", [0, 501])
    async def test_a_limit_out_of_range_is_422(self, admin: httpx.AsyncClient, limit: int) -> None:
        await admin.post("/v1/touches", json=touch_body())
        response = await admin.get("/v1/customers/c-1/touches", params={"limit": limit})
        assert ["query", "limit"] in error_locs(response)

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_full_problem(await admin.get("/v1/customers/nobody/touches"), 404)

    async def test_a_customer_without_touches_lists_nothing(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-quiet", json={})
        assert await history(admin, "c-quiet") == []

    async def test_another_tenants_customer_is_404(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        await admin.post("/v1/touches", json=touch_body())
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            theirs = await other.client("admin")
            assert_full_problem(await theirs.get("/v1/customers/c-1/touches"), 404)
        finally:
            await other.close()
