"""Customer profiles: PUT, PATCH, GET and the filtered, paged list."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FixedClock
from app.customers import repository as customers_repo
from app.tenants.service import tenant_of_key
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_full_problem

PROFILE: dict[str, Any] = {
    "customer_id": "c-1001",
    "name": "Acme Ltd",
    "segment": "strategic",
    "stage": "opportunity",
    "market": "b2b",
    "industry": "industrial",
    "owner": {"rep_id": "rep-7", "team": "north-sales"},
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "email": "buyer@acme.example",
    "preferences": {
        "opted_out_channels": ["sms"],
        "paused_until": None,
        "preferred_channels": ["email", "phone"],
        "max_contacts_per_30d": 4,
        "quiet_hours": {"start": "20:00", "end": "09:00"},
    },
    "attributes": {"tier": "gold", "nested": {"a": [1, 2, 3]}},
}
READ_FIELDS = {
    "customer_id", "name", "segment", "stage", "market", "industry", "owner", "timezone",
    "country", "email", "preferences", "attributes", "created_at", "updated_at",
    "stage_entered_at",
}  # fmt: skip
PREFERENCE_FIELDS = {
    "opted_out_channels", "paused_until", "preferred_channels", "max_contacts_per_30d",
    "quiet_hours",
}  # fmt: skip
BARE_PREFERENCES: dict[str, Any] = {
    "opted_out_channels": [],
    "paused_until": None,
    "preferred_channels": [],
    "max_contacts_per_30d": None,
    "quiet_hours": None,
}
NOW_Z = "2026-11-20T03:00:00Z"


def error_locs(response: httpx.Response) -> list[list[str | int]]:
    body = assert_full_problem(response, 422)
    return [error["loc"] for error in body["errors"]]


def assert_complete(profile: dict[str, Any]) -> None:
    assert set(profile) == READ_FIELDS
    assert set(profile["owner"]) == {"rep_id", "team"}
    assert set(profile["preferences"]) == PREFERENCE_FIELDS


async def merge_patch(
    client: httpx.AsyncClient, customer_id: str, patch: Any, media: str = "merge-patch+json"
) -> httpx.Response:
    return await client.patch(
        f"/v1/customers/{customer_id}",
        content=httpx.Request("POST", "/", json=patch).content,
        headers={"content-type": f"application/{media}"},
    )


class TestPutCustomer:
    async def test_a_new_profile_is_created_with_201(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-1001", json=PROFILE)
        assert response.status_code == 201, response.text
        body = response.json()
        assert_complete(body)
        for key, value in PROFILE.items():
            assert body[key] == value, key
        assert body["created_at"] == body["updated_at"] == body["stage_entered_at"] == NOW_Z

    async def test_the_body_may_omit_customer_id(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-2", json={"name": "No id"})
        assert response.status_code == 201, response.text
        assert response.json()["customer_id"] == "c-2"

    async def test_an_empty_body_creates_a_bare_profile(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-3", json={})
        assert response.status_code == 201, response.text
        body = response.json()
        assert_complete(body)
        for key in ("name", "segment", "stage", "market", "industry", "timezone", "country"):
            assert body[key] is None, key
        assert body["email"] is None
        assert body["owner"] == {"rep_id": None, "team": None}
        assert body["preferences"] == BARE_PREFERENCES
        assert body["attributes"] == {}

    async def test_a_second_put_replaces_with_200(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        response = await admin.put("/v1/customers/c-1001", json={"name": "Acme Two"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "Acme Two"

    async def test_fields_not_sent_become_null_or_default(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        body = (await admin.put("/v1/customers/c-1001", json={"name": "Acme"})).json()
        assert_complete(body)
        for key in ("segment", "stage", "market", "industry", "timezone", "country", "email"):
            assert body[key] is None, key
        assert body["owner"] == {"rep_id": None, "team": None}
        assert body["preferences"] == BARE_PREFERENCES
        assert body["attributes"] == {}
        assert (await admin.get("/v1/customers/c-1001")).json() == body

    async def test_a_body_customer_id_must_match_the_path(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-1", json={"customer_id": "c-2"})
        assert ["body", "customer_id"] in error_locs(response)
        assert_full_problem(await admin.get("/v1/customers/c-1"), 404)
        assert_full_problem(await admin.get("/v1/customers/c-2"), 404)

    async def test_created_at_is_kept_and_updated_at_moves_on_replace(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"stage": "lead"})
        clock.set(NOW + timedelta(hours=2))
        body = (await admin.put("/v1/customers/c-1", json={"stage": "lead"})).json()
        assert body["created_at"] == NOW_Z
        assert body["updated_at"] == "2026-11-20T05:00:00Z"

    async def test_stage_entered_at_stays_when_the_stage_is_unchanged(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"stage": "lead"})
        clock.set(NOW + timedelta(days=1))
        body = (await admin.put("/v1/customers/c-1", json={"stage": "lead", "name": "x"})).json()
        assert body["stage_entered_at"] == NOW_Z

    async def test_stage_entered_at_moves_when_the_stage_changes(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"stage": "lead"})
        clock.set(NOW + timedelta(days=1))
        body = (await admin.put("/v1/customers/c-1", json={"stage": "customer"})).json()
        assert body["stage_entered_at"] == "2026-11-21T03:00:00Z"
        assert body["created_at"] == NOW_Z

    async def test_stage_entered_at_moves_when_the_stage_is_cleared(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"stage": "lead"})
        clock.set(NOW + timedelta(days=2))
        body = (await admin.put("/v1/customers/c-1", json={})).json()
        assert body["stage"] is None
        assert body["stage_entered_at"] == "2026-11-22T03:00:00Z"

    async def test_paused_until_is_returned_in_utc(self, admin: httpx.AsyncClient) -> None:
        body = {"preferences": {"paused_until": "2026-12-01T08:00:00+08:00"}}
        response = await admin.put("/v1/customers/c-1", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["preferences"]["paused_until"] == "2026-12-01T00:00:00Z"

    async def test_opted_out_all_is_accepted(self, admin: httpx.AsyncClient) -> None:
        body = {"preferences": {"opted_out_channels": ["all"]}}
        response = await admin.put("/v1/customers/c-1", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["preferences"]["opted_out_channels"] == ["all"]

    async def test_quiet_hours_may_wrap_midnight(self, admin: httpx.AsyncClient) -> None:
        body = {"preferences": {"quiet_hours": {"start": "22:00", "end": "07:30"}}}
        response = await admin.put("/v1/customers/c-1", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["preferences"]["quiet_hours"] == {"start": "22:00", "end": "07:30"}

    async def test_the_email_keeps_its_case(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-1", json={"email": "Buyer@ACME.example"})
        assert response.json()["email"] == "Buyer@ACME.example"


class TestRoundTrip:
    async def test_a_profile_read_with_get_can_be_put_back(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-rt", json={"name": "Acme", "stage": "lead"})
        read = (await admin.get("/v1/customers/c-rt")).json()

        again = await admin.put("/v1/customers/c-rt", json=read)

        assert again.status_code == 200, again.text
        assert again.json()["name"] == "Acme"
        assert again.json()["created_at"] == read["created_at"]


class TestCustomerValidation:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
            ({"timezone": "+08:00"}, ["body", "timezone"]),
            ({"country": "cn"}, ["body", "country"]),
            ({"country": "CHN"}, ["body", "country"]),
            ({"segment": "Strategic"}, ["body", "segment"]),
            ({"stage": "1st"}, ["body", "stage"]),
            ({"market": "b 2 b"}, ["body", "market"]),
            ({"industry": "x" * 65}, ["body", "industry"]),
            ({"owner": {"team": "North Sales"}}, ["body", "owner", "team"]),
            ({"owner": {"rep_id": "rep 7"}}, ["body", "owner", "rep_id"]),
            ({"owner": {"boss": "x"}}, ["body", "owner", "boss"]),
            ({"email": "not-an-email"}, ["body", "email"]),
            ({"name": 5}, ["body", "name"]),
            ({"bogus": 1}, ["body", "bogus"]),
            ({"attributes": []}, ["body", "attributes"]),
            ({"preferences": {"bogus": 1}}, ["body", "preferences", "bogus"]),
            (
                {"preferences": {"quiet_hours": {"start": "25:00", "end": "09:00"}}},
                ["body", "preferences", "quiet_hours", "start"],
            ),
            (
                {"preferences": {"quiet_hours": {"start": "20:00", "end": "9:00"}}},
                ["body", "preferences", "quiet_hours", "end"],
            ),
            (
                {"preferences": {"quiet_hours": {"start": "20:00"}}},
                ["body", "preferences", "quiet_hours", "end"],
            ),
            (
                {"preferences": {"paused_until": "2026-12-01T00:00:00"}},
                ["body", "preferences", "paused_until"],
            ),
            (
                {"preferences": {"max_contacts_per_30d": -1}},
                ["body", "preferences", "max_contacts_per_30d"],
            ),
        ],
        ids=lambda value: str(value)[:60],
    )
    async def test_a_bad_field_is_422_naming_it(
        self, admin: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
    ) -> None:
        response = await admin.put("/v1/customers/c-1", json=body)
        locs = error_locs(response)
        assert any(found[: len(loc)] == loc for found in locs), locs
        assert_full_problem(await admin.get("/v1/customers/c-1"), 404)

    async def test_every_bad_field_is_named_at_once(self, admin: httpx.AsyncClient) -> None:
        body = {
            "timezone": "Nowhere/Else",
            "country": "xx",
            "segment": "BAD",
            "preferences": {
                "quiet_hours": {"start": "99:00", "end": "09:00"},
                "paused_until": "2026-01-01T00:00:00",
            },
            "unknown": True,
        }
        locs = error_locs(await admin.put("/v1/customers/c-1", json=body))
        for loc in (
            ["body", "timezone"],
            ["body", "country"],
            ["body", "segment"],
            ["body", "preferences", "quiet_hours", "start"],
            ["body", "preferences", "paused_until"],
            ["body", "unknown"],
        ):
            assert any(found[: len(loc)] == loc for found in locs), (loc, locs)

    @pytest.mark.parametrize("customer_id", ["has space", "x" * 129, "bad/slash", "é"])
    async def test_a_bad_customer_id_in_the_path_is_422(
        self, admin: httpx.AsyncClient, customer_id: str
    ) -> None:
        response = await admin.put(f"/v1/customers/{customer_id}", json={})
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_a_customer_id_of_every_allowed_character_is_accepted(
        self, admin: httpx.AsyncClient
    ) -> None:
        customer_id = "Az09._:@-" + "x" * 119
        response = await admin.put(f"/v1/customers/{customer_id}", json={})
        assert response.status_code == 201, response.text
        assert response.json()["customer_id"] == customer_id

    async def test_a_body_that_is_not_an_object_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_full_problem(await admin.put("/v1/customers/c-1", json=["a"]), 422)

    async def test_a_body_that_is_not_json_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put(
            "/v1/customers/c-1", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert_full_problem(response, 422)


class TestPatchCustomer:
    async def test_patch_merges_top_level_fields(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        response = await merge_patch(admin, "c-1001", {"name": "Acme Group"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert_complete(body)
        assert body["name"] == "Acme Group"
        for key in ("segment", "stage", "owner", "timezone", "email", "preferences", "attributes"):
            assert body[key] == PROFILE[key], key

    async def test_nested_preferences_merge(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patch = {"preferences": {"max_contacts_per_30d": 8, "quiet_hours": {"end": "08:00"}}}
        body = (await merge_patch(admin, "c-1001", patch)).json()
        preferences = body["preferences"]
        assert preferences["max_contacts_per_30d"] == 8
        assert preferences["quiet_hours"] == {"start": "20:00", "end": "08:00"}
        assert preferences["opted_out_channels"] == ["sms"]
        assert preferences["preferred_channels"] == ["email", "phone"]

    async def test_owner_merges_field_by_field(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        body = (await merge_patch(admin, "c-1001", {"owner": {"rep_id": "rep-9"}})).json()
        assert body["owner"] == {"rep_id": "rep-9", "team": "north-sales"}

    async def test_null_removes_a_field(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patch = {"email": None, "preferences": {"quiet_hours": None}, "owner": {"team": None}}
        body = (await merge_patch(admin, "c-1001", patch)).json()
        assert_complete(body)
        assert body["email"] is None
        assert body["preferences"]["quiet_hours"] is None
        assert body["owner"] == {"rep_id": "rep-7", "team": None}

    async def test_null_for_a_whole_object_resets_it(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        body = (
            await merge_patch(admin, "c-1001", {"preferences": None, "attributes": None})
        ).json()
        assert body["preferences"] == BARE_PREFERENCES
        assert body["attributes"] == {}

    async def test_arrays_are_replaced_not_merged(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patch = {"preferences": {"preferred_channels": ["visit"]}}
        body = (await merge_patch(admin, "c-1001", patch)).json()
        assert body["preferences"]["preferred_channels"] == ["visit"]

    async def test_attributes_merge_deeply(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patch = {"attributes": {"tier": None, "nested": {"b": True}}}
        body = (await merge_patch(admin, "c-1001", patch)).json()
        assert body["attributes"] == {"nested": {"a": [1, 2, 3], "b": True}}

    async def test_application_json_is_accepted_too(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        response = await merge_patch(admin, "c-1001", {"segment": "standard"}, media="json")
        assert response.status_code == 200, response.text
        assert response.json()["segment"] == "standard"
        assert response.json()["name"] == "Acme Ltd"

    async def test_an_empty_patch_changes_nothing_but_updated_at(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        created = (await admin.put("/v1/customers/c-1001", json=PROFILE)).json()
        clock.set(NOW + timedelta(minutes=1))
        body = (await merge_patch(admin, "c-1001", {})).json()
        assert {k: v for k, v in body.items() if k != "updated_at"} == {
            k: v for k, v in created.items() if k != "updated_at"
        }

    async def test_the_result_is_persisted(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patched = (await merge_patch(admin, "c-1001", {"stage": "negotiation"})).json()
        assert (await admin.get("/v1/customers/c-1001")).json() == patched

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_full_problem(await merge_patch(admin, "c-unknown", {"name": "x"}), 404)
        assert_full_problem(await admin.get("/v1/customers/c-unknown"), 404)

    async def test_stage_entered_at_moves_only_when_the_stage_changes(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"stage": "lead"})
        clock.set(NOW + timedelta(days=1))
        same = (await merge_patch(admin, "c-1", {"stage": "lead", "name": "n"})).json()
        assert same["stage_entered_at"] == NOW_Z
        assert same["updated_at"] == "2026-11-21T03:00:00Z"
        clock.set(NOW + timedelta(days=2))
        moved = (await merge_patch(admin, "c-1", {"stage": "customer"})).json()
        assert moved["stage_entered_at"] == "2026-11-22T03:00:00Z"
        assert moved["created_at"] == NOW_Z

    async def test_an_invalid_merged_value_is_422_naming_it(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1001", json=PROFILE)
        patch = {"timezone": "Not/AZone", "preferences": {"quiet_hours": {"start": "24:00"}}}
        locs = error_locs(await merge_patch(admin, "c-1001", patch))
        assert ["body", "timezone"] in locs
        assert any(loc[:4] == ["body", "preferences", "quiet_hours", "start"] for loc in locs)
        assert (await admin.get("/v1/customers/c-1001")).json()["timezone"] == "Asia/Shanghai"

    async def test_an_unknown_key_is_422(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        assert ["body", "colour"] in error_locs(await merge_patch(admin, "c-1", {"colour": "red"}))

    async def test_a_mismatched_customer_id_is_422(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        locs = error_locs(await merge_patch(admin, "c-1", {"customer_id": "c-2"}))
        assert ["body", "customer_id"] in locs

    @pytest.mark.parametrize("patch", [[1, 2], "text", 5, None])
    async def test_a_patch_that_is_not_an_object_is_422(
        self, admin: httpx.AsyncClient, patch: Any
    ) -> None:
        await admin.put("/v1/customers/c-1", json={})
        assert_full_problem(await merge_patch(admin, "c-1", patch), 422)

    async def test_an_empty_body_is_422(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        response = await admin.patch(
            "/v1/customers/c-1", headers={"content-type": "application/merge-patch+json"}
        )
        assert_full_problem(response, 422)


class TestGetCustomer:
    async def test_a_stored_profile_is_returned_whole(self, admin: httpx.AsyncClient) -> None:
        created = (await admin.put("/v1/customers/c-1001", json=PROFILE)).json()
        response = await admin.get("/v1/customers/c-1001")
        assert response.status_code == 200, response.text
        assert response.json() == created
        assert_complete(response.json())

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_full_problem(await admin.get("/v1/customers/nobody"), 404)

    async def test_the_read_role_may_read(self, tenant: Tenant, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={"name": "x"})
        reader = await tenant.client("read")
        assert (await reader.get("/v1/customers/c-1")).json()["name"] == "x"


class TestListCustomers:
    async def seed(self, admin: httpx.AsyncClient) -> None:
        rows = [
            ("c-01", "strategic", "lead", "rep-1", "north"),
            ("c-02", "strategic", "customer", "rep-2", "north"),
            ("c-03", "standard", "lead", "rep-1", "south"),
            ("c-04", "high_value", "customer", "rep-3", "south"),
            ("c-05", "standard", "lead", None, None),
        ]
        for customer_id, segment, stage, rep, team in rows:
            body = {"segment": segment, "stage": stage, "owner": {"rep_id": rep, "team": team}}
            response = await admin.put(f"/v1/customers/{customer_id}", json=body)
            assert response.status_code == 201, response.text

    async def ids(self, client: httpx.AsyncClient, **params: str | int) -> list[str]:
        response = await client.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"items", "next_cursor"}
        return [item["customer_id"] for item in response.json()["items"]]

    async def test_all_customers_are_listed_by_id(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin) == ["c-01", "c-02", "c-03", "c-04", "c-05"]

    async def test_items_are_whole_profiles(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        page = (await admin.get("/v1/customers")).json()
        assert page["next_cursor"] is None
        for item in page["items"]:
            assert_complete(item)

    async def test_an_empty_tenant_lists_nothing(self, admin: httpx.AsyncClient) -> None:
        assert (await admin.get("/v1/customers")).json() == {"items": [], "next_cursor": None}

    async def test_filter_by_segment(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin, segment="strategic") == ["c-01", "c-02"]

    async def test_filter_by_stage(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin, stage="lead") == ["c-01", "c-03", "c-05"]

    async def test_filter_by_owner_rep(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin, owner_rep="rep-1") == ["c-01", "c-03"]

    async def test_filter_by_team(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin, team="south") == ["c-03", "c-04"]

    async def test_filters_combine(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        assert await self.ids(admin, segment="standard", stage="lead", team="south") == ["c-03"]
        assert await self.ids(admin, segment="strategic", stage="dormant") == []

    async def test_cursor_pages_cover_every_customer_once(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            response = await admin.get("/v1/customers", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            seen.extend(item["customer_id"] for item in page["items"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["c-01", "c-02", "c-03", "c-04", "c-05"]
        assert pages == 3

    async def test_cursor_pages_keep_the_filter(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        first = (await admin.get("/v1/customers", params={"stage": "lead", "limit": 1})).json()
        assert [i["customer_id"] for i in first["items"]] == ["c-01"]
        second = (
            await admin.get(
                "/v1/customers",
                params={"stage": "lead", "limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()
        assert [i["customer_id"] for i in second["items"]] == ["c-03", "c-05"]
        assert second["next_cursor"] is None

    async def test_an_exact_last_page_has_no_next_cursor(self, admin: httpx.AsyncClient) -> None:
        await self.seed(admin)
        page = (await admin.get("/v1/customers", params={"limit": 5})).json()
        assert len(page["items"]) == 5
        assert page["next_cursor"] is None

    @pytest.mark.parametrize("limit", [1, 500])
    async def test_limits_at_the_bounds_are_accepted(
        self, admin: httpx.AsyncClient, limit: int
    ) -> None:
        response = await admin.get("/v1/customers", params={"limit": limit})
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", "99999999999999999999999"])
    async def test_limits_out_of_range_are_422(self, admin: httpx.AsyncClient, limit: str) -> None:
        locs = error_locs(await admin.get("/v1/customers", params={"limit": limit}))
        assert ["query", "limit"] in locs

    @pytest.mark.parametrize(
        "cursor", ["garbage", "!!!", "", "W10", "WyJhIiwiYiJd", "eyJhIjoxfQ", "x" * 2000]
    )
    async def test_a_garbage_cursor_is_422(self, admin: httpx.AsyncClient, cursor: str) -> None:
        response = await admin.get("/v1/customers", params={"cursor": cursor})
        if cursor == "":
            assert response.status_code in (200, 422), response.text
            return
        assert_full_problem(response, 422)

    async def test_a_forged_cursor_holding_a_nul_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.get("/v1/customers", params={"cursor": "WyJcdTAwMDAiXQ"})
        assert_full_problem(response, 422)

    @pytest.mark.parametrize("param", ["segment", "stage", "team", "owner_rep"])
    async def test_a_bad_filter_value_is_422(self, admin: httpx.AsyncClient, param: str) -> None:
        locs = error_locs(await admin.get("/v1/customers", params={param: "Bad Value!"}))
        assert ["query", param] in locs


class TestCustomerTenantIsolation:
    async def test_another_tenants_customer_is_404(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        await admin.put("/v1/customers/c-shared", json={"name": "Ours"})
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            theirs = await other.client("admin")
            assert_full_problem(await theirs.get("/v1/customers/c-shared"), 404)
            assert_full_problem(await merge_patch(theirs, "c-shared", {"name": "Stolen"}), 404)
            assert (await theirs.get("/v1/customers")).json()["items"] == []
            created = await theirs.put("/v1/customers/c-shared", json={"name": "Theirs"})
            assert created.status_code == 201, created.text
        finally:
            await other.close()
        assert (await admin.get("/v1/customers/c-shared")).json()["name"] == "Ours"
        assert [c["customer_id"] for c in (await admin.get("/v1/customers")).json()["items"]] == [
            "c-shared"
        ]


class TestEmailLookup:
    async def test_email_lookup_ignores_case(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"email": "Buyer@Acme.Example"})
        await admin.put("/v1/customers/c-2", json={"email": "other@acme.example"})
        tenant_id = tenant_of_key(await tenant.key("admin"))
        assert tenant_id is not None
        async with app.state.sessionmaker() as session:
            found = await customers_repo.find_by_email(
                session, tenant_id, ["BUYER@acme.EXAMPLE", "nobody@acme.example"]
            )
        assert found == {"buyer@acme.example": ["c-1"]}

    async def test_email_lookup_is_scoped_to_the_tenant(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await admin.put("/v1/customers/c-1", json={"email": "shared@acme.example"})
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            theirs = await other.client("admin")
            await theirs.put("/v1/customers/c-9", json={"email": "SHARED@acme.example"})
        finally:
            await other.close()
        tenant_id = tenant_of_key(await tenant.key("admin"))
        assert tenant_id is not None
        async with app.state.sessionmaker() as session:
            found = await customers_repo.find_by_email(session, tenant_id, ["shared@ACME.example"])
        assert found == {"shared@acme.example": ["c-1"]}
