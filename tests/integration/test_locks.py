"""Contact locks (distributor portals): claim, read, renew, release and list locks; at most one
active lock per customer (also the database's own guarantee); expiry through the clock; what a
partner key may see of other holders' locks."""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.clock import FixedClock
from tests import database
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_problem, put_customer, z

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
LOCK_FIELDS = {
    "id", "customer_id", "holder", "starts_at", "expires_at", "released_at", "status", "reason",
}  # fmt: skip
HIDDEN = ("dist-hidden", "team-hidden", "rep-hidden", "secret reason")
NO_HOLDER = {"partner_id": None, "team": None, "rep_id": None}


def holder(**fields: str) -> dict[str, str | None]:
    """A holder as the service writes it: every field present."""
    return {**NO_HOLDER, **fields}


async def claim_response(
    client: httpx.AsyncClient,
    holder_: dict[str, Any] | None = None,
    customer_id: str = "c-1",
    **fields: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"customer_id": customer_id, **fields}
    if holder_ is not None:
        body["holder"] = holder_
    return await client.post("/v1/locks", json=body)


async def claim(
    client: httpx.AsyncClient,
    holder_: dict[str, Any] | None = None,
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    response = await claim_response(client, holder_, customer_id, **fields)
    assert response.status_code == 201, response.text
    lock: dict[str, Any] = response.json()
    assert set(lock) == LOCK_FIELDS
    return lock


async def read_lock(client: httpx.AsyncClient, lock_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/locks/{lock_id}")
    assert response.status_code == 200, response.text
    lock: dict[str, Any] = response.json()
    return lock


async def customer_locks(client: httpx.AsyncClient, customer_id: str = "c-1") -> dict[str, Any]:
    response = await client.get(f"/v1/customers/{customer_id}/locks")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"locked", "locks"}
    return body


async def renew(client: httpx.AsyncClient, lock_id: str, days: Any) -> httpx.Response:
    return await client.post(f"/v1/locks/{lock_id}/renew", json={"days": days})


async def release(client: httpx.AsyncClient, lock_id: str) -> httpx.Response:
    return await client.delete(f"/v1/locks/{lock_id}")


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every lock the list returns for these filters, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/locks", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def error_at(problem: dict[str, Any], field: str) -> bool:
    return any(field in item["loc"] for item in problem["errors"])


@pytest.fixture
async def partner(tenant: Tenant) -> httpx.AsyncClient:
    return await tenant.client("partner", "dist-1")


@pytest.fixture
async def rival(tenant: Tenant) -> httpx.AsyncClient:
    """Another partner, whose name the first must never see."""
    return await tenant.client("partner", "dist-hidden")


class TestClaim:
    @pytest.mark.parametrize(
        "named",
        [
            pytest.param({"partner_id": "dist-1"}, id="partner"),
            pytest.param({"team": "north-sales"}, id="team"),
            pytest.param({"rep_id": "rep-7"}, id="rep"),
        ],
    )
    async def test_an_admin_claims_a_customer_for_one_holder(
        self, admin: httpx.AsyncClient, named: dict[str, str]
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, named, reason="Deal registration DR-2231")
        uuid.UUID(lock["id"])
        assert lock == {
            "id": lock["id"],
            "customer_id": "c-1",
            "holder": holder(**named),
            "starts_at": z(NOW),
            "expires_at": z(NOW + 90 * DAY),
            "released_at": None,
            "status": "active",
            "reason": "Deal registration DR-2231",
        }

    @pytest.mark.parametrize("days", [1, 30, 365])
    async def test_days_set_the_expiry(self, admin: httpx.AsyncClient, days: int) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=days)
        assert lock["expires_at"] == z(NOW + days * DAY)

    async def test_the_reason_is_optional(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert (await claim(admin, {"team": "north"}))["reason"] is None

    @pytest.mark.parametrize(
        "body_holder",
        [
            pytest.param(None, id="omitted"),
            pytest.param({"partner_id": "dist-9"}, id="another-partner"),
            pytest.param({"team": "north"}, id="a-team"),
            pytest.param({"rep_id": "rep-7", "team": "north"}, id="two-fields"),
            pytest.param({}, id="empty"),
        ],
    )
    async def test_a_partner_claims_for_its_own_partner_whatever_the_body_says(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, body_holder: Any
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner, body_holder)
        assert lock["holder"] == holder(partner_id="dist-1")
        assert (await read_lock(admin, lock["id"]))["holder"] == holder(partner_id="dist-1")

    async def test_the_current_holder_gets_its_active_lock_back(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=10)
        clock.set(NOW + DAY)
        again = await claim_response(admin, {"team": "north"}, days=200, reason="other")
        assert again.status_code == 200, again.text
        assert again.json() == lock

    async def test_a_partner_gets_back_the_lock_an_admin_claimed_for_it(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"partner_id": "dist-1"})
        again = await claim_response(partner)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == lock["id"]

    async def test_another_key_of_the_holding_partner_gets_the_lock_back(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        created = await admin.post("/v1/api-keys", json={"role": "partner", "partner_id": "d-1"})
        assert created.status_code == 201, created.text
        lock = await claim(await tenant.client("partner", "d-1"))
        headers = {"Authorization": f"Bearer {created.json()['key']}"}
        again = await admin.post("/v1/locks", json={"customer_id": "c-1"}, headers=headers)
        assert (again.status_code, again.json()["id"]) == (200, lock["id"])

    async def test_an_admin_claiming_for_the_holding_partner_gets_its_lock(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner)
        again = await claim_response(admin, {"partner_id": "dist-1"})
        assert (again.status_code, again.json()) == (200, lock)

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            pytest.param({"partner_id": "dist-1"}, {"partner_id": "dist-2"}, id="partners"),
            pytest.param({"team": "north"}, {"team": "south"}, id="teams"),
            pytest.param({"team": "north"}, {"rep_id": "rep-7"}, id="team-then-rep"),
            pytest.param({"rep_id": "rep-7"}, {"partner_id": "dist-1"}, id="rep-then-partner"),
        ],
    )
    async def test_another_holders_claim_is_409_naming_the_lock_to_admins(
        self, admin: httpx.AsyncClient, first: dict[str, str], second: dict[str, str]
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, first, days=30)
        problem = assert_problem(await claim_response(admin, second), 409)
        assert problem["conflict"] == {"expires_at": z(NOW + 30 * DAY), "holder": lock["holder"]}
        assert (await customer_locks(admin))["locks"] == [lock]

    async def test_a_partner_refused_is_told_when_but_not_who(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, rival: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(rival, reason="secret reason")
        response = await claim_response(partner)
        problem = assert_problem(response, 409)
        assert problem["conflict"] == {"expires_at": lock["expires_at"], "holder": None}
        for name in HIDDEN:
            assert name not in response.text

    async def test_a_partner_refused_by_a_company_lock_is_not_told_the_team(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"team": "team-hidden"})
        response = await claim_response(partner)
        assert assert_problem(response, 409)["conflict"]["holder"] is None
        assert "team-hidden" not in response.text

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await claim_response(admin, {"team": "north"}, "nobody"), 404)

    async def test_an_unknown_customer_is_404_for_partners_too(
        self, partner: httpx.AsyncClient
    ) -> None:
        assert_problem(await claim_response(partner, None, "nobody"), 404)

    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        other = await other_tenant.client("admin")
        assert_problem(await claim_response(other, {"team": "north"}), 404)
        assert (await customer_locks(admin))["locks"] == []

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_ingest_and_read_keys_may_not_claim(self, tenant: Tenant, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        client = await tenant.client(role)
        assert_problem(await claim_response(client, {"team": "north"}), 403)
        assert_problem(await claim_response(client, {"team": "north"}, "nobody"), 403)
        assert_problem(await client.post("/v1/locks", json={"days": 0}), 403)
        assert (await customer_locks(admin))["locked"] is False


class TestClaimIdempotently:
    async def test_a_repeat_with_the_same_key_returns_the_first_response_and_audits_once(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        headers = {"Idempotency-Key": "claim-1"}
        body = {"customer_id": "c-1", "days": 30}
        first = await partner.post("/v1/locks", json=body, headers=headers)
        again = await partner.post("/v1/locks", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201), again.text
        assert again.json() == first.json()
        audit = (await admin.get("/v1/audit", params={"customer_id": "c-1"})).json()["items"]
        assert [(e["action"], e["outcome"]) for e in audit] == [("lock.claim", "claimed")]

    async def test_a_repeated_renewal_with_the_same_key_renews_once(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner)
        clock.set(NOW + DAY)
        headers = {"Idempotency-Key": "renew-1"}
        first = await partner.post(
            f"/v1/locks/{lock['id']}/renew", json={"days": 5}, headers=headers
        )
        clock.set(NOW + 2 * DAY)
        again = await partner.post(
            f"/v1/locks/{lock['id']}/renew", json={"days": 5}, headers=headers
        )
        assert first.status_code == again.status_code == 200, again.text
        assert again.json() == first.json()
        assert (await read_lock(partner, lock["id"]))["expires_at"] == z(NOW + 6 * DAY)


class TestClaimValidation:
    @pytest.mark.parametrize(
        ("body_holder", "extra"),
        [
            pytest.param(None, {}, id="no-holder"),
            pytest.param({}, {}, id="empty-holder"),
            pytest.param({"partner_id": "dist-1", "team": "north"}, {}, id="partner-and-team"),
            pytest.param({"team": "north", "rep_id": "rep-7"}, {}, id="team-and-rep"),
            pytest.param(
                {"partner_id": "d", "team": "north", "rep_id": "r"}, {}, id="all-three-fields"
            ),
            pytest.param({"partner_id": None, "team": None}, {}, id="only-nulls"),
        ],
    )
    async def test_an_admin_must_name_exactly_one_holder(
        self, admin: httpx.AsyncClient, body_holder: Any, extra: dict[str, Any]
    ) -> None:
        await put_customer(admin)
        problem = assert_problem(await claim_response(admin, body_holder, **extra), 422)
        assert error_at(problem, "holder"), problem["errors"]
        assert (await customer_locks(admin))["locks"] == []

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            pytest.param({"days": 0}, "days", id="days-0"),
            pytest.param({"days": 366}, "days", id="days-366"),
            pytest.param({"days": -1}, "days", id="days-negative"),
            pytest.param({"days": "ninety"}, "days", id="days-text"),
            pytest.param({"days": 1.5}, "days", id="days-fraction"),
            pytest.param({"holder": {"partner_id": "dist 1"}}, "partner_id", id="partner-id-bad"),
            pytest.param({"holder": {"team": "North"}}, "team", id="team-not-slug"),
            pytest.param({"holder": {"rep_id": ""}}, "rep_id", id="rep-id-empty"),
            pytest.param({"holder": {"owner": "x"}}, "owner", id="holder-unknown-key"),
            pytest.param({"reason": "x" * 501}, "reason", id="reason-too-long"),
            pytest.param({"customer_id": "c 1"}, "customer_id", id="customer-id-bad"),
            pytest.param({"expires_at": z(NOW)}, "expires_at", id="unknown-key"),
        ],
    )
    async def test_a_bad_field_is_422_naming_it(
        self, admin: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        await put_customer(admin)
        body = {"customer_id": "c-1", "holder": {"team": "north"}, **changes}
        problem = assert_problem(await admin.post("/v1/locks", json=body), 422)
        assert error_at(problem, field), problem["errors"]
        assert (await customer_locks(admin))["locks"] == []

    @pytest.mark.parametrize("days", [0, 366])
    async def test_days_out_of_range_are_422_for_partners_too(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, days: int
    ) -> None:
        await put_customer(admin)
        problem = assert_problem(await claim_response(partner, None, days=days), 422)
        assert error_at(problem, "days")

    async def test_a_missing_customer_id_is_422(self, admin: httpx.AsyncClient) -> None:
        problem = assert_problem(await admin.post("/v1/locks", json={"holder": {"team": "n"}}), 422)
        assert error_at(problem, "customer_id")


class TestCustomerLocks:
    async def test_a_customer_without_locks_is_not_locked(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert await customer_locks(admin) == {"locked": False, "locks": []}

    async def test_an_active_lock_locks_the_customer(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        assert await customer_locks(admin) == {"locked": True, "locks": [lock]}

    async def test_the_history_is_listed_newest_first(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        first = await claim(admin, {"team": "north"}, days=1)
        clock.set(NOW + 2 * DAY)
        second = await claim(admin, {"team": "south"}, days=5)
        clock.set(NOW + 3 * DAY)
        assert (await release(admin, second["id"])).status_code == 204
        clock.set(NOW + 4 * DAY)
        third = await claim(admin, {"rep_id": "rep-7"})
        body = await customer_locks(admin)
        assert body["locked"] is True
        assert ids(body["locks"]) == [third["id"], second["id"], first["id"]]
        assert [lock["status"] for lock in body["locks"]] == ["active", "released", "expired"]
        assert body["locks"][1]["released_at"] == z(NOW + 3 * DAY)

    async def test_an_expired_lock_no_longer_locks_the_customer(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=2)
        clock.set(NOW + 2 * DAY)
        body = await customer_locks(admin)
        assert body == {"locked": False, "locks": [{**lock, "status": "expired"}]}

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_readers_see_every_lock_with_its_holder(self, tenant: Tenant, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        lock = await claim(await tenant.client("partner", "dist-1"), reason="DR-1")
        assert await customer_locks(await tenant.client(role)) == {"locked": True, "locks": [lock]}

    async def test_a_partner_sees_its_own_history_and_others_active_lock_without_holder(
        self,
        admin: httpx.AsyncClient,
        partner: httpx.AsyncClient,
        rival: httpx.AsyncClient,
        clock: FixedClock,
    ) -> None:
        await put_customer(admin)
        own_old = await claim(partner, reason="my deal")
        clock.set(NOW + HOUR)
        await release(partner, own_old["id"])
        clock.set(NOW + 2 * HOUR)
        rival_old = await claim(rival, reason="secret reason", days=1)
        clock.set(NOW + 2 * HOUR + DAY)
        team_old = await claim(admin, {"team": "team-hidden"}, reason="secret reason")
        clock.set(NOW + 3 * HOUR + DAY)
        await release(admin, team_old["id"])
        clock.set(NOW + 4 * HOUR + DAY)
        active = await claim(admin, {"rep_id": "rep-hidden"}, reason="secret reason")
        response = await partner.get("/v1/customers/c-1/locks")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["locked"] is True
        assert ids(body["locks"]) == [active["id"], own_old["id"]]
        assert body["locks"][0] == {**active, "holder": None, "reason": None}
        assert body["locks"][1]["holder"] == holder(partner_id="dist-1")
        assert body["locks"][1]["reason"] == "my deal"
        for name in HIDDEN:
            assert name not in response.text
        assert rival_old["id"] not in response.text
        assert team_old["id"] not in response.text

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get("/v1/customers/nobody/locks"), 404)

    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"team": "north"})
        other = await other_tenant.client("admin")
        assert_problem(await other.get("/v1/customers/c-1/locks"), 404)


class TestReadLock:
    async def test_a_lock_is_read_by_its_id(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, reason="r")
        assert await read_lock(admin, lock["id"]) == lock

    async def test_a_partner_reads_its_own_lock(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner, reason="mine")
        assert await read_lock(partner, lock["id"]) == lock
        clock.set(NOW + HOUR)
        await release(partner, lock["id"])
        released = await read_lock(partner, lock["id"])
        assert (released["status"], released["reason"]) == ("released", "mine")

    async def test_a_partner_reads_anothers_active_lock_without_holder_or_reason(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, rival: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(rival, reason="secret reason")
        response = await partner.get(f"/v1/locks/{lock['id']}")
        assert response.status_code == 200, response.text
        assert response.json() == {**lock, "holder": None, "reason": None}
        for name in HIDDEN:
            assert name not in response.text

    async def test_a_partner_cannot_read_anothers_ended_lock(
        self,
        admin: httpx.AsyncClient,
        partner: httpx.AsyncClient,
        rival: httpx.AsyncClient,
        clock: FixedClock,
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        released = await claim(rival)
        expired = await claim(admin, {"team": "team-hidden"}, "c-2", days=1)
        clock.set(NOW + HOUR)
        await release(rival, released["id"])
        clock.set(NOW + DAY)
        for lock in (released, expired):
            response = await partner.get(f"/v1/locks/{lock['id']}")
            assert_problem(response, 404)
            for name in HIDDEN:
                assert name not in response.text

    async def test_an_unknown_lock_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get(f"/v1/locks/{uuid.uuid4()}"), 404)

    async def test_a_lock_id_that_is_no_uuid_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get("/v1/locks/lock-1"), 422)

    async def test_another_tenants_lock_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        other = await other_tenant.client("admin")
        assert_problem(await other.get(f"/v1/locks/{lock['id']}"), 404)
        assert_problem(await renew(other, lock["id"], 10), 404)
        assert_problem(await release(other, lock["id"]), 404)
        assert await read_lock(admin, lock["id"]) == lock


class TestRenew:
    async def test_an_admin_renews_a_lock_from_now(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=30)
        clock.set(NOW + 10 * DAY)
        response = await renew(admin, lock["id"], 60)
        assert response.status_code == 200, response.text
        renewed = response.json()
        assert renewed == {**lock, "expires_at": z(NOW + 70 * DAY)}
        assert await read_lock(admin, lock["id"]) == renewed

    async def test_a_renewal_may_shorten_the_lock(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=90)
        clock.set(NOW + DAY)
        assert (await renew(admin, lock["id"], 1)).json()["expires_at"] == z(NOW + 2 * DAY)

    async def test_the_holding_partner_renews_its_lock(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner, days=5)
        clock.set(NOW + 4 * DAY)
        response = await renew(partner, lock["id"], 30)
        assert response.status_code == 200, response.text
        assert response.json()["expires_at"] == z(NOW + 34 * DAY)
        assert response.json()["holder"] == holder(partner_id="dist-1")

    async def test_a_renewal_may_reach_365_days_after_the_start(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        clock.set(NOW + 10 * DAY)
        response = await renew(admin, lock["id"], 355)
        assert response.status_code == 200, response.text
        assert response.json()["expires_at"] == z(NOW + 365 * DAY)

    async def test_a_renewal_beyond_365_days_after_the_start_is_422(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        clock.set(NOW + 10 * DAY)
        problem = assert_problem(await renew(admin, lock["id"], 356), 422)
        assert error_at(problem, "days"), problem["errors"]
        assert await read_lock(admin, lock["id"]) == lock

    @pytest.mark.parametrize("days", [0, 366, -3, "thirty", None, 2.5])
    async def test_days_out_of_range_are_422(self, admin: httpx.AsyncClient, days: Any) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        problem = assert_problem(await renew(admin, lock["id"], days), 422)
        assert error_at(problem, "days"), problem["errors"]

    async def test_a_missing_days_is_422(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        response = await admin.post(f"/v1/locks/{lock['id']}/renew", json={})
        assert error_at(assert_problem(response, 422), "days")

    async def test_an_expired_lock_cannot_be_renewed(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=3)
        clock.set(NOW + 3 * DAY)
        assert_problem(await renew(admin, lock["id"], 10), 409)
        assert (await read_lock(admin, lock["id"]))["expires_at"] == z(NOW + 3 * DAY)

    async def test_a_released_lock_cannot_be_renewed(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner)
        clock.set(NOW + HOUR)
        await release(partner, lock["id"])
        assert_problem(await renew(partner, lock["id"], 10), 409)
        assert_problem(await renew(admin, lock["id"], 10), 409)

    async def test_another_partners_lock_is_404(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, rival: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        theirs = await claim(rival, reason="secret reason")
        company = await claim(admin, {"team": "team-hidden"}, "c-2")
        for lock in (theirs, company):
            response = await renew(partner, lock["id"], 10)
            assert_problem(response, 404)
            for name in HIDDEN:
                assert name not in response.text
            assert await read_lock(admin, lock["id"]) == lock

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_ingest_and_read_keys_may_not_renew(self, tenant: Tenant, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        client = await tenant.client(role)
        assert_problem(await renew(client, lock["id"], 10), 403)
        assert_problem(await renew(client, lock["id"], 0), 403)
        assert await read_lock(admin, lock["id"]) == lock

    async def test_an_unknown_lock_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await renew(admin, str(uuid.uuid4()), 10), 404)


class TestRelease:
    async def test_an_admin_releases_a_lock(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"partner_id": "dist-1"})
        clock.set(NOW + HOUR)
        response = await release(admin, lock["id"])
        assert response.status_code == 204, response.text
        assert response.content == b""
        released = await read_lock(admin, lock["id"])
        assert released == {**lock, "status": "released", "released_at": z(NOW + HOUR)}
        assert (await customer_locks(admin))["locked"] is False

    async def test_a_released_customer_may_be_claimed_by_another_holder(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, rival: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(rival)
        assert (await release(rival, lock["id"])).status_code == 204
        mine = await claim(partner)
        assert mine["id"] != lock["id"]
        assert (await customer_locks(admin))["locked"] is True

    async def test_the_holding_partner_releases_its_lock(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claim(partner)
        assert (await release(partner, lock["id"])).status_code == 204
        assert (await read_lock(partner, lock["id"]))["status"] == "released"

    async def test_releasing_a_released_lock_changes_nothing(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        clock.set(NOW + HOUR)
        await release(admin, lock["id"])
        clock.set(NOW + 2 * HOUR)
        assert (await release(admin, lock["id"])).status_code == 204
        assert (await read_lock(admin, lock["id"]))["released_at"] == z(NOW + HOUR)

    async def test_releasing_an_expired_lock_changes_nothing(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"}, days=1)
        clock.set(NOW + 2 * DAY)
        assert (await release(admin, lock["id"])).status_code == 204
        assert await read_lock(admin, lock["id"]) == {**lock, "status": "expired"}

    async def test_another_partners_lock_is_404(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, rival: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        theirs = await claim(rival, reason="secret reason")
        company = await claim(admin, {"rep_id": "rep-hidden"}, "c-2")
        for lock in (theirs, company):
            response = await release(partner, lock["id"])
            assert_problem(response, 404)
            for name in HIDDEN:
                assert name not in response.text
            assert (await read_lock(admin, lock["id"]))["status"] == "active"

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_ingest_and_read_keys_may_not_release(self, tenant: Tenant, role: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        lock = await claim(admin, {"team": "north"})
        assert_problem(await release(await tenant.client(role), lock["id"]), 403)
        assert (await read_lock(admin, lock["id"]))["status"] == "active"

    async def test_an_unknown_lock_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await release(admin, str(uuid.uuid4())), 404)

    async def test_a_lock_id_that_is_no_uuid_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await release(admin, "lock-1"), 422)


class TestListLocks:
    async def _four_locks(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> dict[str, dict[str, Any]]:
        """c-1 released by dist-1, c-2 expired with dist-2, c-3 active with dist-1 and c-4
        active with a team; claimed an hour apart, in that order."""
        made: dict[str, dict[str, Any]] = {}
        for i, (customer, named, days) in enumerate(
            [
                ("c-1", {"partner_id": "dist-1"}, 90),
                ("c-2", {"partner_id": "dist-2"}, 1),
                ("c-3", {"partner_id": "dist-1"}, 90),
                ("c-4", {"team": "north"}, 90),
            ]
        ):
            clock.set(NOW + i * HOUR)
            await put_customer(admin, customer)
            made[customer] = await claim(admin, named, customer, days=days)
        clock.set(NOW + 4 * HOUR)
        assert (await release(admin, made["c-1"]["id"])).status_code == 204
        clock.set(NOW + 2 * DAY)
        return made

    async def test_locks_are_listed_newest_first(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        made = await self._four_locks(admin, clock)
        items = await listed(admin)
        assert ids(items) == [made[c]["id"] for c in ("c-4", "c-3", "c-2", "c-1")]
        assert [i["status"] for i in items] == ["active", "active", "expired", "released"]

    @pytest.mark.parametrize(
        ("params", "customers"),
        [
            pytest.param({"status": "active"}, ["c-4", "c-3"], id="active"),
            pytest.param({"status": "expired"}, ["c-2"], id="expired"),
            pytest.param({"status": "released"}, ["c-1"], id="released"),
            pytest.param({"partner_id": "dist-1"}, ["c-3", "c-1"], id="partner"),
            pytest.param({"partner_id": "dist-1", "status": "active"}, ["c-3"], id="both"),
            pytest.param({"partner_id": "dist-9"}, [], id="nobody"),
        ],
    )
    async def test_locks_are_filtered(
        self,
        admin: httpx.AsyncClient,
        clock: FixedClock,
        params: dict[str, str],
        customers: list[str],
    ) -> None:
        made = await self._four_locks(admin, clock)
        assert ids(await listed(admin, **params)) == [made[c]["id"] for c in customers]

    async def test_the_list_is_paged(self, admin: httpx.AsyncClient, clock: FixedClock) -> None:
        made = await self._four_locks(admin, clock)
        first = (await admin.get("/v1/locks", params={"limit": 3})).json()
        assert len(first["items"]) == 3
        assert first["next_cursor"] is not None
        paged = await listed(admin, limit=1)
        assert ids(paged) == [made[c]["id"] for c in ("c-4", "c-3", "c-2", "c-1")]

    async def test_a_partner_lists_only_its_own_locks(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        made = await self._four_locks(admin, clock)
        partner = await tenant.client("partner", "dist-1")
        assert ids(await listed(partner)) == [made["c-3"]["id"], made["c-1"]["id"]]
        response = await partner.get("/v1/locks", params={"partner_id": "dist-2"})
        assert response.status_code == 200, response.text
        assert ids(response.json()["items"]) == [made["c-3"]["id"], made["c-1"]["id"]]
        assert "dist-2" not in response.text
        assert "north" not in response.text
        expired = await listed(partner, status="expired")
        assert expired == []

    @pytest.mark.parametrize("role", ["ingest", "read"])
    async def test_readers_list_every_lock(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock, role: str
    ) -> None:
        await self._four_locks(admin, clock)
        assert len(await listed(await tenant.client(role))) == 4

    async def test_another_tenants_locks_are_not_listed(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"team": "north"})
        assert await listed(await other_tenant.client("admin")) == []

    @pytest.mark.parametrize(
        "params",
        [
            pytest.param({"status": "open"}, id="unknown-status"),
            pytest.param({"partner_id": "dist 1"}, id="bad-partner-id"),
            pytest.param({"limit": 0}, id="limit-0"),
            pytest.param({"limit": 501}, id="limit-501"),
            pytest.param({"cursor": "nonsense"}, id="bad-cursor"),
        ],
    )
    async def test_bad_parameters_are_422(
        self, admin: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        assert_problem(await admin.get("/v1/locks", params=params), 422)


class TestExpiry:
    async def test_a_lock_expires_when_the_clock_reaches_expires_at(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"partner_id": "dist-1"}, days=7)
        clock.set(NOW + 7 * DAY - MINUTE)
        assert (await read_lock(admin, lock["id"]))["status"] == "active"
        assert (await customer_locks(admin))["locked"] is True
        clock.set(NOW + 7 * DAY)
        assert await read_lock(admin, lock["id"]) == {**lock, "status": "expired"}
        assert (await customer_locks(admin))["locked"] is False

    async def test_an_expired_lock_leaves_the_customer_claimable(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        old = await claim(admin, {"partner_id": "dist-2"}, days=7)
        clock.set(NOW + 7 * DAY - MINUTE)
        assert_problem(await claim_response(partner), 409)
        clock.set(NOW + 7 * DAY)
        new = await claim(partner)
        assert new["id"] != old["id"]
        assert (new["starts_at"], new["expires_at"]) == (z(NOW + 7 * DAY), z(NOW + 97 * DAY))
        assert ids((await customer_locks(admin))["locks"]) == [new["id"], old["id"]]

    async def test_the_former_holder_claims_anew_after_expiry(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        old = await claim(partner, days=1)
        clock.set(NOW + DAY)
        response = await claim_response(partner)
        assert response.status_code == 201, response.text
        assert response.json()["id"] != old["id"]

    async def test_an_expired_lock_no_longer_denies_contact(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-2"}, days=1)
        body = {"customer_id": "c-1", "channel": "visit"}
        before = (await partner.post("/v1/conflict-checks", json=body)).json()
        assert [r["code"] for r in before["reasons"]] == ["locked"]
        clock.set(NOW + DAY)
        after = (await partner.post("/v1/conflict-checks", json=body)).json()
        assert after["decision"] == "allow"


class TestLocksAndStatus:
    async def test_another_holders_lock_makes_the_customer_not_contactable_for_its_owner(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, owner={"rep_id": "rep-7", "team": "north"})
        await claim(admin, {"partner_id": "dist-1"}, days=2)
        state = (await admin.get("/v1/customers/c-1/status")).json()
        assert state["contactable_now"] is False
        later = await admin.get("/v1/customers/c-1/status", params={"as_of": z(NOW + 2 * DAY)})
        assert later.json()["contactable_now"] is True

    @pytest.mark.parametrize("named", [{"team": "north"}, {"rep_id": "rep-7"}])
    async def test_a_lock_held_by_the_owner_leaves_the_customer_contactable(
        self, admin: httpx.AsyncClient, named: dict[str, str]
    ) -> None:
        await put_customer(admin, owner={"rep_id": "rep-7", "team": "north"})
        await claim(admin, named)
        state = (await admin.get("/v1/customers/c-1/status")).json()
        assert state["contactable_now"] is True


class TestPartnerRedaction:
    async def test_no_lock_endpoint_names_another_holder_to_a_partner(
        self, tenant: Tenant, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        rival = await tenant.client("partner", "dist-hidden")
        for customer in ("c-1", "c-2", "c-3"):
            await put_customer(admin, customer)
        locks = [
            await claim(rival, None, "c-1", reason="secret reason"),
            await claim(admin, {"team": "team-hidden"}, "c-2", reason="secret reason"),
            await claim(admin, {"rep_id": "rep-hidden"}, "c-3", reason="secret reason"),
        ]
        responses = [
            await partner.get("/v1/locks"),
            await partner.get("/v1/locks", params={"partner_id": "dist-hidden"}),
            await partner.get("/v1/locks", params={"status": "active"}),
        ]
        for lock in locks:
            customer = lock["customer_id"]
            responses += [
                await claim_response(partner, None, customer),
                await claim_response(partner, {"partner_id": "dist-hidden"}, customer),
                await partner.get(f"/v1/customers/{customer}/locks"),
                await partner.get(f"/v1/locks/{lock['id']}"),
                await renew(partner, lock["id"], 10),
                await release(partner, lock["id"]),
            ]
        for response in responses:
            assert response.status_code in (200, 404, 409), response.text
            for name in HIDDEN:
                assert name not in response.text, (response.request.url, response.text)
        expected = [
            holder(partner_id="dist-hidden"),
            holder(team="team-hidden"),
            holder(rep_id="rep-hidden"),
        ]
        for lock, named in zip(locks, expected, strict=True):
            seen = await read_lock(admin, lock["id"])
            assert (seen["status"], seen["holder"]) == ("active", named)

    async def test_no_endpoint_a_partner_reaches_names_another_holder_actor_or_team(
        self, tenant: Tenant, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        rival = await tenant.client("partner", "dist-hidden")
        hidden_actor = {"rep_id": "rep-hidden", "team": "team-hidden"}
        await put_customer(admin, owner=hidden_actor)
        touched = await admin.post(
            "/v1/touches",
            json={
                "customer_id": "c-1", "channel": "visit", "occurred_at": z(NOW - HOUR),
                "source": "crm", "external_id": "e-1",
                "actor": {"partner_id": "dist-hidden", "team": "team-hidden"},
            },
        )  # fmt: skip
        assert touched.status_code == 201, touched.text
        company_plan = await admin.post(
            "/v1/contact-plans",
            json={
                "customer_id": "c-1", "channel": "visit", "planned_at": z(NOW + HOUR),
                "actor": hidden_actor, "note": "secret reason",
            },
        )  # fmt: skip
        rival_check = await rival.post(
            "/v1/conflict-checks",
            json={"customer_id": "c-1", "channel": "visit", "reserve": True},
        )
        rival_lock = await claim(rival, reason="secret reason")
        rival_plan = rival_check.json()["plan"]
        assert rival_plan is not None
        me = {"rep_id": "p-1", "team": "pteam"}
        check = {"customer_id": "c-1", "channel": "visit", "actor": me}
        own_plan = await partner.post(
            "/v1/contact-plans", json={**check, "planned_at": z(NOW + 2 * HOUR)}
        )
        assert own_plan.status_code == 201, own_plan.text
        responses = [
            own_plan,
            await partner.post("/v1/conflict-checks", json=check),
            await partner.post("/v1/conflict-checks", json={**check, "reserve": True}),
            await partner.get("/v1/contact-plans"),
            await partner.get("/v1/contact-plans", params={"customer_id": "c-1"}),
            await partner.get(f"/v1/contact-plans/{own_plan.json()['id']}"),
            await partner.get(f"/v1/contact-plans/{rival_plan['id']}"),
            await partner.get(f"/v1/contact-plans/{company_plan.json()['id']}"),
            await partner.post(f"/v1/contact-plans/{company_plan.json()['id']}/approve"),
            await partner.post(f"/v1/contact-plans/{company_plan.json()['id']}/reject"),
            await claim_response(partner),
            await partner.get("/v1/customers/c-1/locks"),
            await partner.get("/v1/locks"),
            await partner.get(f"/v1/locks/{rival_lock['id']}"),
            await renew(partner, rival_lock["id"], 10),
            await release(partner, rival_lock["id"]),
            await partner.get("/v1/audit"),
            await partner.get("/v1/customers/c-1"),
            await partner.get("/v1/customers/c-1/status"),
            await partner.get("/v1/customers/c-1/touches"),
        ]
        assert [r.status_code for r in responses] == [
            201, 200, 200, 200, 200, 200, 404, 404, 403, 403, 409, 200, 200, 200, 404, 404, 403,
            403, 403, 403,
        ]  # fmt: skip
        codes = {r["code"] for r in responses[1].json()["reasons"]}
        assert codes == {
            "locked", "owned_by_other", "recent_contact_by_other", "planned_by_other",
        }  # fmt: skip
        for response in responses:
            for name in HIDDEN:
                assert name not in response.text, (response.request.url, response.text)


class TestLockAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/locks"),
            ("GET", "/v1/locks"),
            ("GET", f"/v1/locks/{uuid.uuid4()}"),
            ("POST", f"/v1/locks/{uuid.uuid4()}/renew"),
            ("DELETE", f"/v1/locks/{uuid.uuid4()}"),
            ("GET", "/v1/customers/c-1/locks"),
        ],
    )
    @pytest.mark.parametrize("key", [None, "tb_not_a_key"])
    async def test_without_a_valid_key_every_lock_endpoint_is_401(
        self, anonymous: httpx.AsyncClient, method: str, path: str, key: str | None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"days": 0} if method == "POST" else None
        response = await anonymous.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)


INSERT_LOCK = (
    "INSERT INTO contact_locks (tenant_id, id, customer_id, holder_partner_id, starts_at,"
    " expires_at, released_at, created_by_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)


class TestExclusionConstraint:
    """The database itself refuses two locks of one customer whose periods overlap."""

    @pytest.fixture
    async def db(self, database_url: str) -> AsyncIterator[Any]:
        conn = await asyncpg.connect(database.asyncpg_dsn(database_url))
        try:
            yield conn
        finally:
            await conn.close()

    async def _tenant_id(self, db: Any, tenant: Tenant) -> uuid.UUID:
        found: uuid.UUID = await db.fetchval("SELECT id FROM tenants WHERE name = $1", tenant.name)
        assert found is not None
        return found

    async def _insert(
        self,
        db: Any,
        tenant_id: uuid.UUID,
        customer_id: str,
        starts: datetime,
        expires: datetime,
        released: datetime | None = None,
        partner_id: str = "dist-1",
    ) -> None:
        await db.execute(
            INSERT_LOCK, tenant_id, uuid.uuid4(), customer_id, partner_id, starts, expires,
            released, uuid.uuid4(),
        )  # fmt: skip

    async def test_two_overlapping_locks_of_one_customer_are_an_exclusion_violation(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        tenant_id = await self._tenant_id(db, tenant)
        await self._insert(db, tenant_id, "c-1", NOW, NOW + 90 * DAY)
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError) as raised:
            await self._insert(db, tenant_id, "c-1", NOW + DAY, NOW + 10 * DAY, partner_id="dist-2")
        assert raised.value.sqlstate == "23P01"
        assert raised.value.constraint_name == "contact_locks_one_active_excl"

    async def test_the_same_holder_cannot_hold_two_overlapping_locks_either(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        tenant_id = await self._tenant_id(db, tenant)
        await self._insert(db, tenant_id, "c-1", NOW, NOW + DAY)
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError) as raised:
            await self._insert(db, tenant_id, "c-1", NOW - DAY, NOW + MINUTE)
        assert raised.value.sqlstate == "23P01"

    async def test_a_lock_overlapping_a_released_one_before_its_release_is_refused(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        tenant_id = await self._tenant_id(db, tenant)
        await self._insert(db, tenant_id, "c-1", NOW, NOW + 90 * DAY, released=NOW + DAY)
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
            await self._insert(db, tenant_id, "c-1", NOW + HOUR, NOW + 2 * DAY)

    async def test_periods_that_only_touch_do_not_overlap(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        tenant_id = await self._tenant_id(db, tenant)
        await self._insert(db, tenant_id, "c-1", NOW, NOW + DAY)
        await self._insert(db, tenant_id, "c-1", NOW + DAY, NOW + 2 * DAY, partner_id="dist-2")
        await self._insert(
            db, tenant_id, "c-1", NOW + 3 * DAY, NOW + 9 * DAY, released=NOW + 4 * DAY
        )
        await self._insert(db, tenant_id, "c-1", NOW + 4 * DAY, NOW + 5 * DAY)
        count = await db.fetchval(
            "SELECT count(*) FROM contact_locks WHERE tenant_id = $1", tenant_id
        )
        assert count == 4

    async def test_locks_of_other_customers_and_tenants_may_overlap(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        await put_customer(await other_tenant.client("admin"))
        tenant_id = await self._tenant_id(db, tenant)
        other_id = await self._tenant_id(db, other_tenant)
        await self._insert(db, tenant_id, "c-1", NOW, NOW + 90 * DAY)
        await self._insert(db, tenant_id, "c-2", NOW, NOW + 90 * DAY)
        await self._insert(db, other_id, "c-1", NOW, NOW + 90 * DAY)

    async def test_the_api_refuses_a_claim_over_a_lock_written_directly(
        self, db: Any, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        tenant_id = await self._tenant_id(db, tenant)
        await self._insert(db, tenant_id, "c-1", NOW - DAY, NOW + DAY, partner_id="dist-9")
        problem = assert_problem(await claim_response(admin, {"team": "north"}), 409)
        assert problem["conflict"] == {
            "expires_at": z(NOW + DAY), "holder": holder(partner_id="dist-9"),
        }  # fmt: skip
