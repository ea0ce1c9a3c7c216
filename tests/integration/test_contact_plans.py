"""Contact plans: POST /v1/contact-plans files a (visit) plan, approved at once when it raises
no conflict at its time, else pending for an admin to approve or reject; plans are read one by
one or listed, expire through the clock and are carried out (done) by a matching contact."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FixedClock
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    codes,
    listing,
    put_customer,
    rule,
    set_policy,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
PLAN_FIELDS = {
    "id", "customer_id", "kind", "channel", "actor", "planned_at", "expires_at", "status",
    "reasons", "note", "created_at", "decided_at", "touch_id",
}  # fmt: skip
A = {"rep_id": "rep-a", "team": "north"}
B = {"rep_id": "rep-b", "team": "south"}
HIDDEN = ("dist-hidden", "team-hidden", "rep-hidden", "owner-hidden", "owners-team")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}")
DECISIONS = ("approve", "reject")


def plan_body(
    planned_at: datetime = NOW + DAY,
    actor: dict[str, Any] | None = None,
    channel: str = "visit",
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "actor": A if actor is None else actor,
        "channel": channel,
        "planned_at": z(planned_at),
        **fields,
    }


async def file_plan(
    client: httpx.AsyncClient,
    planned_at: datetime = NOW + DAY,
    actor: dict[str, Any] | None = None,
    channel: str = "visit",
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    body = plan_body(planned_at, actor, channel, customer_id, **fields)
    response = await client.post("/v1/contact-plans", json=body)
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    assert set(filed) == PLAN_FIELDS
    return filed


async def read_plan(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/contact-plans/{plan_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def decide(client: httpx.AsyncClient, plan_id: str, decision: str) -> httpx.Response:
    return await client.post(f"/v1/contact-plans/{plan_id}/{decision}")


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every plan the list returns for these filters, following the cursor."""
    return await listing(client, "/v1/contact-plans", **params)


async def check(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"customer_id": "c-1", "channel": "visit", **fields}
    response = await client.post("/v1/conflict-checks", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def visit(client: httpx.AsyncClient, at: datetime, **fields: Any) -> dict[str, Any]:
    """A touch on the visit channel (the plans' channel here) unless ``fields`` name another."""
    return await touch(client, at, **{"channel": "visit", **fields})


class TestFilePlan:
    async def test_a_plan_without_conflicts_is_approved_at_once(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + DAY, note="Quarterly care visit")
        assert filed["customer_id"] == "c-1"
        assert filed["kind"] == "filed"
        assert filed["channel"] == "visit"
        assert filed["actor"] == {**A, "partner_id": None}
        assert filed["status"] == "approved"
        assert filed["reasons"] == []
        assert filed["planned_at"] == z(NOW + DAY)
        assert filed["expires_at"] == z(NOW + 2 * DAY)
        assert filed["created_at"] == z(NOW)
        assert filed["note"] == "Quarterly care visit"
        assert filed["touch_id"] is None
        uuid.UUID(filed["id"])

    async def test_a_plan_is_read_back_as_filed(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        filed = await file_plan(admin)
        assert await read_plan(admin, filed["id"]) == filed

    async def test_the_note_is_optional(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert (await file_plan(admin))["note"] is None

    async def test_a_plan_raising_a_warning_is_pending_with_its_reasons(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner={"rep_id": "rep-7", "team": "north"})
        filed = await file_plan(admin, actor=B)
        assert filed["status"] == "pending"
        assert codes(filed) == ["owned_by_other"]
        assert filed["decided_at"] is None

    async def test_a_plan_that_would_be_denied_is_pending_with_its_reasons(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"quiet_hours": {"start": "20:00", "end": "09:00"}})
        filed = await file_plan(admin, datetime(2026, 11, 21, 22, tzinfo=UTC))
        assert filed["status"] == "pending"
        assert filed["reasons"][0]["code"] == "quiet_hours"
        assert filed["reasons"][0]["until"] == "2026-11-22T09:00:00Z"

    async def test_a_plan_is_judged_at_its_planned_time(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + DAY)})
        during = await file_plan(admin, NOW + 12 * HOUR)
        assert (during["status"], codes(during)) == ("pending", ["paused"])
        assert during["reasons"][0]["until"] == z(NOW + DAY)
        after = await file_plan(admin, NOW + 2 * DAY)
        assert (after["status"], after["reasons"]) == ("approved", [])

    async def test_a_plan_near_another_actors_open_plan_is_pending(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await file_plan(admin, NOW + DAY, actor=A)
        same_actor = await file_plan(admin, NOW + DAY + HOUR, actor=A)
        assert same_actor["status"] == "approved"
        other = await file_plan(admin, NOW + DAY + 2 * HOUR, actor=B)
        assert (other["status"], codes(other)) == ("pending", ["planned_by_other"])

    async def test_a_plan_in_the_past_may_be_filed(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW - 2 * HOUR)
        assert filed["planned_at"] == z(NOW - 2 * HOUR)
        assert filed["expires_at"] == z(NOW + 22 * HOUR)
        assert filed["status"] == "approved"

    async def test_filed_plans_do_not_count_against_caps(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1}]))
        await put_customer(admin)
        await file_plan(admin, NOW, actor=A)
        await file_plan(admin, NOW + HOUR, actor=A)
        state = (await admin.get("/v1/customers/c-1/status")).json()
        assert state["caps"][0]["used"] == 0
        later = await admin.get(
            "/v1/customers/c-1/status", params={"as_of": z(NOW + HOUR + MINUTE)}
        )
        assert later.json()["caps"][0]["used"] == 0
        assert (await check(admin, actor=A))["decision"] == "allow"

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/contact-plans", json=plan_body(customer_id="nobody"))
        assert_problem(response, 404)

    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        other = await other_tenant.client("admin")
        assert_problem(await other.post("/v1/contact-plans", json=plan_body()), 404)

    @pytest.mark.parametrize("role", ["admin", "ingest", "read", "partner"])
    async def test_every_role_may_file(self, tenant: Tenant, role: str) -> None:
        await put_customer(await tenant.client("admin"))
        client = await tenant.client(role, "dist-1" if role == "partner" else None)
        assert (await file_plan(client))["status"] == "approved"

    async def test_a_repeat_with_the_same_idempotency_key_files_one_plan(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        headers = {"Idempotency-Key": "visit-1"}
        first = await admin.post("/v1/contact-plans", json=plan_body(), headers=headers)
        again = await admin.post("/v1/contact-plans", json=plan_body(), headers=headers)
        assert first.status_code == again.status_code == 201, again.text
        assert again.json() == first.json()
        assert len(await listed(admin, customer_id="c-1")) == 1


class TestFilePlanValidation:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            pytest.param({"planned_at": "2026-11-21T03:00:00"}, "planned_at", id="naive"),
            pytest.param({"planned_at": "2026-11-21"}, "planned_at", id="date-only"),
            pytest.param({"planned_at": "9999-12-31T23:00:00Z"}, "planned_at", id="far-future"),
            pytest.param({"planned_at": None}, "planned_at", id="null-planned-at"),
            pytest.param({"channel": "Visit"}, "channel", id="channel-not-slug"),
            pytest.param({"channel": "on site"}, "channel", id="channel-space"),
            pytest.param({"actor": {"team": "North"}}, "team", id="actor-team-not-slug"),
            pytest.param({"actor": {"rep_id": "r 1"}}, "rep_id", id="actor-rep-bad"),
            pytest.param({"actor": "rep-a"}, "actor", id="actor-not-object"),
            pytest.param({"note": "x" * 2001}, "note", id="note-too-long"),
            pytest.param({"note": "nul\u0000"}, "note", id="note-nul"),
            pytest.param({"customer_id": "c/1"}, "customer_id", id="customer-id-bad"),
            pytest.param({"status": "approved"}, "status", id="status-not-settable"),
        ],
    )
    async def test_a_bad_field_is_422_naming_it(
        self, admin: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        await put_customer(admin)
        body = {**plan_body(), **changes}
        problem = assert_problem(await admin.post("/v1/contact-plans", json=body), 422)
        assert any(field in item["loc"] for item in problem["errors"]), problem["errors"]

    @pytest.mark.parametrize("missing", ["customer_id", "actor", "channel", "planned_at"])
    async def test_a_missing_field_is_422(self, admin: httpx.AsyncClient, missing: str) -> None:
        await put_customer(admin)
        body = plan_body()
        del body[missing]
        problem = assert_problem(await admin.post("/v1/contact-plans", json=body), 422)
        assert any(missing in item["loc"] for item in problem["errors"]), problem["errors"]

    async def test_an_invalid_plan_is_not_stored(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        body = {**plan_body(), "planned_at": "2026-11-21T03:00:00"}
        assert_problem(await admin.post("/v1/contact-plans", json=body), 422)
        assert await listed(admin) == []


class TestDecidePlans:
    async def test_an_admin_approves_a_pending_plan(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin)
        clock.set(NOW + HOUR)
        response = await decide(admin, filed["id"], "approve")
        assert response.status_code == 200, response.text
        approved = response.json()
        assert approved["status"] == "approved"
        assert approved["decided_at"] == z(NOW + HOUR)
        assert approved["reasons"] == filed["reasons"]
        assert {k: v for k, v in approved.items() if k not in ("status", "decided_at")} == {
            k: v for k, v in filed.items() if k not in ("status", "decided_at")
        }
        assert await read_plan(admin, filed["id"]) == approved

    async def test_an_admin_rejects_a_pending_plan(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin)
        clock.set(NOW + HOUR)
        response = await decide(admin, filed["id"], "reject")
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["decided_at"]) == (
            "rejected",
            z(NOW + HOUR),
        )
        assert (await read_plan(admin, filed["id"]))["status"] == "rejected"

    @pytest.mark.parametrize("first", DECISIONS)
    @pytest.mark.parametrize("second", DECISIONS)
    async def test_a_decided_plan_cannot_be_decided_again(
        self, admin: httpx.AsyncClient, first: str, second: str
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin)
        assert (await decide(admin, filed["id"], first)).status_code == 200
        assert_problem(await decide(admin, filed["id"], second), 409)
        expected = "approved" if first == "approve" else "rejected"
        assert (await read_plan(admin, filed["id"]))["status"] == expected

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_a_plan_approved_on_filing_is_already_decided(
        self, admin: httpx.AsyncClient, decision: str
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin)
        assert filed["status"] == "approved"
        assert_problem(await decide(admin, filed["id"], decision), 409)

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_an_expired_plan_cannot_be_decided(
        self, admin: httpx.AsyncClient, clock: FixedClock, decision: str
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        clock.set(NOW + 25 * HOUR)
        assert (await read_plan(admin, filed["id"]))["status"] == "expired"
        assert_problem(await decide(admin, filed["id"], decision), 409)
        assert (await read_plan(admin, filed["id"]))["status"] == "expired"

    async def test_a_plan_can_be_decided_until_just_before_it_expires(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        clock.set(NOW + 25 * HOUR - MINUTE)
        assert (await decide(admin, filed["id"], "approve")).status_code == 200

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_a_done_plan_cannot_be_decided(
        self, admin: httpx.AsyncClient, decision: str
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        await visit(admin, NOW, actor=A)
        assert (await read_plan(admin, filed["id"]))["status"] == "done"
        assert_problem(await decide(admin, filed["id"], decision), 409)

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_a_reservation_cannot_be_decided(
        self, admin: httpx.AsyncClient, decision: str
    ) -> None:
        await put_customer(admin)
        reserved = (await check(admin, reserve=True))["plan"]
        assert_problem(await decide(admin, reserved["id"], decision), 409)

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_an_unknown_plan_is_404(self, admin: httpx.AsyncClient, decision: str) -> None:
        assert_problem(await decide(admin, str(uuid.uuid4()), decision), 404)

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_a_plan_id_that_is_no_uuid_is_422(
        self, admin: httpx.AsyncClient, decision: str
    ) -> None:
        assert_problem(await decide(admin, "not-a-plan", decision), 422)

    @pytest.mark.parametrize("decision", DECISIONS)
    async def test_another_tenants_plan_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant, decision: str
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin)
        other = await other_tenant.client("admin")
        assert_problem(await decide(other, filed["id"], decision), 404)
        assert (await read_plan(admin, filed["id"]))["status"] == "pending"

    @pytest.mark.parametrize("decision", DECISIONS)
    @pytest.mark.parametrize("role", ["ingest", "read", "partner"])
    async def test_only_admins_decide(self, tenant: Tenant, decision: str, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin, owner={"rep_id": "owner-rep", "team": "east"})
        client = await tenant.client(role, "dist-1" if role == "partner" else None)
        filed = await file_plan(client)
        assert filed["status"] == "pending"
        assert_problem(await decide(client, filed["id"], decision), 403)
        assert_problem(await decide(client, str(uuid.uuid4()), decision), 403)
        assert (await read_plan(admin, filed["id"]))["status"] == "pending"

    async def test_an_approved_plan_stays_open_until_carried_out(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        await decide(admin, filed["id"], "approve")
        assert "planned_by_other" in codes(await check(admin, actor=B))
        stored = await visit(admin, NOW, actor=A)
        done = await read_plan(admin, filed["id"])
        assert (done["status"], done["touch_id"]) == ("done", stored["id"])


class TestReadPlans:
    async def test_an_unknown_plan_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get(f"/v1/contact-plans/{uuid.uuid4()}"), 404)

    async def test_a_plan_id_that_is_no_uuid_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get("/v1/contact-plans/nope"), 422)

    async def test_another_tenants_plan_is_404_and_not_listed(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin)
        other = await other_tenant.client("admin")
        assert_problem(await other.get(f"/v1/contact-plans/{filed['id']}"), 404)
        assert await listed(other) == []
        assert await listed(other, customer_id="c-1") == []

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_readers_read_and_list_every_plan(self, tenant: Tenant, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        filed = await file_plan(await tenant.client("partner", "dist-1"))
        client = await tenant.client(role)
        assert await read_plan(client, filed["id"]) == filed
        assert [item["id"] for item in await listed(client)] == [filed["id"]]

    async def test_the_list_is_newest_first(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        ids = []
        for i in range(5):
            clock.set(NOW + i * MINUTE)
            ids.append((await file_plan(admin, customer_id=f"c-{1 + i % 2}"))["id"])
        assert [item["id"] for item in await listed(admin)] == ids[::-1]

    async def test_the_list_is_paged_without_gaps_or_repeats(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        ids = []
        for i in range(7):
            clock.set(NOW + (i // 2) * MINUTE)  # pairs share a creation time
            ids.append((await file_plan(admin, NOW + DAY + i * MINUTE))["id"])
        first = (await admin.get("/v1/contact-plans", params={"limit": 3})).json()
        assert len(first["items"]) == 3
        assert first["next_cursor"] is not None
        paged = [item["id"] for item in await listed(admin, limit=3)]
        assert sorted(paged) == sorted(ids)
        assert len(paged) == len(set(paged)) == 7
        assert paged == [item["id"] for item in await listed(admin, limit=500)]

    async def test_the_list_filters_by_customer(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        mine = await file_plan(admin)
        await file_plan(admin, customer_id="c-2")
        assert [item["id"] for item in await listed(admin, customer_id="c-1")] == [mine["id"]]
        assert await listed(admin, customer_id="c-3") == []

    async def test_the_list_filters_by_each_status(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        pending = await file_plan(admin, NOW + 3 * DAY)
        approved = await file_plan(admin, NOW + 4 * DAY)
        await decide(admin, approved["id"], "approve")
        rejected = await file_plan(admin, NOW + 5 * DAY)
        await decide(admin, rejected["id"], "reject")
        expired = await file_plan(admin, NOW - 23 * HOUR)
        done = await file_plan(admin, NOW + 6 * HOUR, channel="phone")
        await touch(admin, NOW, "phone", actor=A)
        clock.set(NOW + 2 * HOUR)
        expected = {
            "pending": pending, "approved": approved, "rejected": rejected, "expired": expired,
            "done": done,
        }  # fmt: skip
        for status_name, plan in expected.items():
            found = await listed(admin, status=status_name)
            assert [item["id"] for item in found] == [plan["id"]], status_name
            assert found[0]["status"] == status_name
        everything = await listed(admin, customer_id="c-1")
        assert len(everything) == 5

    async def test_expiry_is_read_off_the_clock(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + HOUR)
        assert filed["expires_at"] == z(NOW + 25 * HOUR)
        clock.set(NOW + 25 * HOUR - MINUTE)
        assert (await read_plan(admin, filed["id"]))["status"] == "approved"
        assert [p["id"] for p in await listed(admin, status="approved")] == [filed["id"]]
        clock.set(NOW + 25 * HOUR)
        assert (await read_plan(admin, filed["id"]))["status"] == "expired"
        assert await listed(admin, status="approved") == []
        assert [p["id"] for p in await listed(admin, status="expired")] == [filed["id"]]

    @pytest.mark.parametrize(
        "params",
        [
            pytest.param({"status": "open"}, id="unknown-status"),
            pytest.param({"status": "PENDING"}, id="status-upper-case"),
            pytest.param({"limit": 0}, id="limit-0"),
            pytest.param({"limit": 501}, id="limit-501"),
            pytest.param({"cursor": "garbage"}, id="bad-cursor"),
            pytest.param({"customer_id": "c 1"}, id="bad-customer-id"),
        ],
    )
    async def test_bad_list_parameters_are_422(
        self, admin: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        assert_problem(await admin.get("/v1/contact-plans", params=params), 422)


class TestPlanConsumption:
    async def test_a_matching_contact_carries_out_the_plan(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + 2 * HOUR)
        clock.set(NOW + 2 * HOUR)
        stored = await visit(admin, NOW + 2 * HOUR, actor=A)
        done = await read_plan(admin, filed["id"])
        assert (done["status"], done["touch_id"]) == ("done", stored["id"])
        assert [p["id"] for p in await listed(admin, status="done")] == [filed["id"]]

    async def test_a_contact_late_on_the_planned_day_carries_it_out(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + HOUR)
        clock.set(NOW + 25 * HOUR - MINUTE)
        await visit(admin, NOW + 25 * HOUR - MINUTE, actor=A)
        assert (await read_plan(admin, filed["id"]))["status"] == "done"

    async def test_a_contact_after_the_expiry_does_not(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + HOUR)
        clock.set(NOW + 25 * HOUR)
        await visit(admin, NOW + 25 * HOUR, actor=A)
        assert (await read_plan(admin, filed["id"]))["status"] == "expired"

    async def test_a_contact_from_before_the_plan_was_filed_does_not(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + HOUR)
        await visit(admin, NOW - 10 * MINUTE, actor=A)
        assert (await read_plan(admin, filed["id"]))["status"] == "approved"

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"channel": "phone", "actor": A}, id="other-channel"),
            pytest.param({"actor": B}, id="other-actor"),
            pytest.param({"actor": {"rep_id": "rep-z", "team": "north"}}, id="other-rep"),
            pytest.param({}, id="no-actor"),
            pytest.param({"actor": A, "direction": "inbound"}, id="inbound"),
            pytest.param({"actor": A, "customer_id": "c-2"}, id="other-customer"),
        ],
    )
    async def test_a_contact_that_does_not_match_leaves_it_open(
        self, admin: httpx.AsyncClient, fields: dict[str, Any]
    ) -> None:
        await put_customer(admin)
        filed = await file_plan(admin, NOW + HOUR)
        await visit(admin, NOW, **fields)
        assert (await read_plan(admin, filed["id"]))["status"] == "approved"

    async def test_a_pending_plan_is_carried_out_too(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        assert filed["status"] == "pending"
        await visit(admin, NOW, actor=A)
        assert (await read_plan(admin, filed["id"]))["status"] == "done"

    async def test_a_rejected_plan_is_not_carried_out(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, owner={"team": "east"})
        filed = await file_plan(admin, NOW + HOUR)
        await decide(admin, filed["id"], "reject")
        await visit(admin, NOW, actor=A)
        rejected = await read_plan(admin, filed["id"])
        assert (rejected["status"], rejected["touch_id"]) == ("rejected", None)

    async def test_one_contact_carries_out_one_plan_the_oldest(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        older = await file_plan(admin, NOW + 3 * HOUR)
        clock.set(NOW + MINUTE)
        newer = await file_plan(admin, NOW + 2 * HOUR)
        await visit(admin, NOW + MINUTE, actor=A)
        assert (await read_plan(admin, older["id"]))["status"] == "done"
        assert (await read_plan(admin, newer["id"]))["status"] == "approved"
        await visit(admin, NOW + MINUTE, actor=A)
        assert (await read_plan(admin, newer["id"]))["status"] == "done"

    async def test_a_partners_plan_is_carried_out_by_that_partners_contact(
        self, tenant: Tenant
    ) -> None:
        admin = await tenant.client("admin")
        partner = await tenant.client("partner", "dist-1")
        await put_customer(admin)
        filed = await file_plan(partner, NOW + HOUR, actor={})
        await visit(admin, NOW, actor={"partner_id": "dist-2"})
        assert (await read_plan(partner, filed["id"]))["status"] == "approved"
        stored = await visit(admin, NOW, actor={"partner_id": "dist-1"})
        done = await read_plan(partner, filed["id"])
        assert (done["status"], done["touch_id"]) == ("done", stored["id"])


class TestPartnerPlans:
    async def test_a_partner_files_as_itself_whatever_the_body_says(self, tenant: Tenant) -> None:
        await put_customer(await tenant.client("admin"))
        partner = await tenant.client("partner", "dist-1")
        filed = await file_plan(partner, actor={"partner_id": "dist-9", "rep_id": "p-rep"})
        assert filed["actor"] == {"rep_id": "p-rep", "team": None, "partner_id": "dist-1"}

    async def test_a_partner_lists_only_its_own_partners_plans(self, tenant: Tenant) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        mine = await file_plan(await tenant.client("partner", "dist-1"), actor={})
        colleague = await tenant.client("partner", "dist-1")
        await file_plan(await tenant.client("partner", "dist-hidden"), NOW + 3 * DAY, actor={})
        await file_plan(admin, NOW + 5 * DAY, actor={"partner_id": "dist-hidden"})
        await file_plan(admin, NOW + 6 * DAY)
        response = await colleague.get("/v1/contact-plans")
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [mine["id"]]
        assert "dist-hidden" not in response.text
        assert len(await listed(admin)) == 4
        for params in ({"customer_id": "c-1"}, {"status": "approved"}, {"status": "pending"}):
            found = await listed(colleague, **params)
            assert all(item["actor"]["partner_id"] == "dist-1" for item in found), params

    async def test_another_partners_plan_is_404_to_a_partner(self, tenant: Tenant) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        theirs = await file_plan(await tenant.client("partner", "dist-hidden"), actor={})
        companys = await file_plan(admin, NOW + 3 * DAY)
        partner = await tenant.client("partner", "dist-1")
        for plan in (theirs, companys):
            response = await partner.get(f"/v1/contact-plans/{plan['id']}")
            assert_problem(response, 404)
            assert "dist-hidden" not in response.text

    async def test_a_partner_reads_its_own_plan(self, tenant: Tenant) -> None:
        await put_customer(await tenant.client("admin"))
        partner = await tenant.client("partner", "dist-1")
        filed = await file_plan(partner, actor={})
        assert await read_plan(await tenant.client("partner", "dist-1"), filed["id"]) == filed

    async def test_a_partner_sees_generic_reasons_without_names_or_times(
        self, tenant: Tenant
    ) -> None:
        admin = await tenant.client("admin")
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(
            admin,
            owner={"rep_id": "owner-hidden", "team": "owners-team"},
            preferences={"paused_until": z(NOW + 2 * DAY)},
        )
        await visit(admin, NOW - HOUR, actor={"partner_id": "dist-hidden", "team": "team-hidden"})
        await file_plan(
            admin, NOW + 2 * HOUR, actor={"rep_id": "rep-hidden", "team": "team-hidden"}
        )
        lock = await admin.post(
            "/v1/locks", json={"customer_id": "c-1", "holder": {"partner_id": "dist-hidden"}}
        )
        assert lock.status_code == 201, lock.text
        partner = await tenant.client("partner", "dist-1")
        response = await partner.post(
            "/v1/contact-plans", json=plan_body(NOW + 3 * HOUR, actor={"rep_id": "p-1"})
        )
        assert response.status_code == 201, response.text
        filed = response.json()
        assert filed["status"] == "pending"
        assert set(codes(filed)) == {
            "paused", "min_gap", "locked", "owned_by_other", "recent_contact_by_other",
            "planned_by_other",
        }  # fmt: skip
        texts = [response.text]
        texts.append((await partner.get(f"/v1/contact-plans/{filed['id']}")).text)
        texts.append((await partner.get("/v1/contact-plans")).text)
        texts.append((await partner.get("/v1/contact-plans", params={"status": "pending"})).text)
        for text in texts:
            for name in HIDDEN:
                assert name not in text, (name, text)
        for item in filed["reasons"]:
            # [1.1] a lock's end is kept: it tells nothing of the customer's history
            assert (item["until"] is None) is (item["code"] != "locked"), item
            assert not TIMESTAMP.search(item["message"]), item
        as_admin = await read_plan(admin, filed["id"])
        assert any(name in str(as_admin["reasons"]) for name in HIDDEN)  # admins are told
        assert any(item["until"] is not None for item in as_admin["reasons"])


class TestPlanAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/contact-plans"),
            ("GET", "/v1/contact-plans"),
            ("GET", f"/v1/contact-plans/{uuid.uuid4()}"),
            ("POST", f"/v1/contact-plans/{uuid.uuid4()}/approve"),
            ("POST", f"/v1/contact-plans/{uuid.uuid4()}/reject"),
        ],
    )
    @pytest.mark.parametrize("key", [None, "tb_not_a_key"])
    async def test_without_a_valid_key_every_plan_endpoint_is_401(
        self, anonymous: httpx.AsyncClient, method: str, path: str, key: str | None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"planned_at": "not a time"} if method == "POST" else None
        response = await anonymous.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)
