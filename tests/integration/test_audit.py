"""The audit log, GET /v1/audit (admin): every lock claim, refusal, renewal and release, every
plan filed, approved or rejected and every reserving conflict check, with who (key and actor),
what, when and the outcome; requests refused as invalid write nothing."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FixedClock
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_problem, put_customer, z

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
AUDIT_FIELDS = {
    "id", "at", "action", "outcome", "customer_id", "api_key_id", "actor", "lock_id", "plan_id",
    "details",
}  # fmt: skip
NO_ACTOR = {"rep_id": None, "team": None, "partner_id": None}
A = {"rep_id": "rep-a", "team": "north"}


def actor(**fields: str) -> dict[str, str | None]:
    return {**NO_ACTOR, **fields}


async def claim(
    client: httpx.AsyncClient, holder: dict[str, Any] | None = None, customer_id: str = "c-1"
) -> httpx.Response:
    body: dict[str, Any] = {"customer_id": customer_id}
    if holder is not None:
        body["holder"] = holder
    return await client.post("/v1/locks", json=body)


async def claimed(
    client: httpx.AsyncClient, holder: dict[str, Any] | None = None, customer_id: str = "c-1"
) -> dict[str, Any]:
    response = await claim(client, holder, customer_id)
    assert response.status_code == 201, response.text
    lock: dict[str, Any] = response.json()
    return lock


async def file_plan(
    client: httpx.AsyncClient, planned_at: datetime = NOW + DAY, **fields: Any
) -> dict[str, Any]:
    body = {"customer_id": "c-1", "actor": A, "channel": "visit", "planned_at": z(planned_at)}
    response = await client.post("/v1/contact-plans", json={**body, **fields})
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


async def reserve(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"customer_id": "c-1", "channel": "phone", "actor": A, "reserve": True, **fields}
    response = await client.post("/v1/conflict-checks", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def audit(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every audit entry for these filters, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/audit", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        for item in page["items"]:
            assert set(item) == AUDIT_FIELDS, item
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


async def key_ids(admin: httpx.AsyncClient) -> dict[tuple[str, str | None], str]:
    """The id of each key of the tenant, by (role, partner_id): one key per pair in these tests."""
    response = await admin.get("/v1/api-keys", params={"limit": 500})
    assert response.status_code == 200, response.text
    found: dict[tuple[str, str | None], str] = {}
    for item in response.json()["items"]:
        pair = (item["role"], item["partner_id"])
        assert pair not in found, pair
        found[pair] = item["id"]
    return found


def summary(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["action"], item["outcome"]) for item in items]


@pytest.fixture
async def partner(tenant: Tenant) -> httpx.AsyncClient:
    return await tenant.client("partner", "dist-1")


class TestAuditAccess:
    async def test_an_admin_reads_an_empty_log(self, admin: httpx.AsyncClient) -> None:
        response = await admin.get("/v1/audit")
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}

    @pytest.mark.parametrize("role", ["ingest", "read", "partner"])
    async def test_other_roles_may_not_read_the_log(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role, "dist-1" if role == "partner" else None)
        assert_problem(await client.get("/v1/audit"), 403)
        assert_problem(await client.get("/v1/audit", params={"from": "yesterday"}), 403)

    @pytest.mark.parametrize("key", [None, "tb_not_a_key"])
    async def test_without_a_valid_key_the_log_is_401(
        self, anonymous: httpx.AsyncClient, key: str | None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        assert_problem(await anonymous.get("/v1/audit", headers=headers), 401)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            pytest.param({"from": "2026-11-20T03:00:00"}, "from", id="naive-from"),
            pytest.param({"to": "2026-11-20T03:00:00"}, "to", id="naive-to"),
            pytest.param({"from": "2026-11-20"}, "from", id="date-only"),
            pytest.param({"to": "soon"}, "to", id="not-a-time"),
            pytest.param({"customer_id": "c 1"}, "customer_id", id="bad-customer-id"),
            pytest.param({"limit": 0}, "limit", id="limit-0"),
            pytest.param({"limit": 501}, "limit", id="limit-501"),
            pytest.param({"cursor": "bogus"}, "cursor", id="bad-cursor"),
        ],
    )
    async def test_bad_parameters_are_422(
        self, admin: httpx.AsyncClient, params: dict[str, str], field: str
    ) -> None:
        problem = assert_problem(await admin.get("/v1/audit", params=params), 422)
        assert any(field in item["loc"] for item in problem["errors"]), problem["errors"]


class TestLockAudit:
    async def test_a_claim_is_recorded_with_who_what_when_and_the_outcome(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        clock.set(NOW + MINUTE)
        lock = await claimed(admin, {"partner_id": "dist-1"})
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        uuid.UUID(entry["id"])
        assert entry == {
            "id": entry["id"],
            "at": z(NOW + MINUTE),
            "action": "lock.claim",
            "outcome": "claimed",
            "customer_id": "c-1",
            "api_key_id": keys[("admin", None)],
            "actor": actor(partner_id="dist-1"),
            "lock_id": lock["id"],
            "plan_id": None,
            "details": {"days": 90},
        }

    async def test_a_partners_claim_names_its_key_and_partner(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        lock = await claimed(partner, {"team": "ignored"})
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        assert (entry["action"], entry["outcome"]) == ("lock.claim", "claimed")
        assert entry["api_key_id"] == keys[("partner", "dist-1")]
        assert entry["actor"] == actor(partner_id="dist-1")
        assert entry["lock_id"] == lock["id"]

    async def test_a_claim_by_the_holder_is_recorded_as_already_held(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claimed(partner)
        clock.set(NOW + HOUR)
        assert (await claim(partner)).status_code == 200
        newest = (await audit(admin))[0]
        assert (newest["action"], newest["outcome"], newest["at"]) == (
            "lock.claim", "already_held", z(NOW + HOUR),
        )  # fmt: skip
        assert (newest["lock_id"], newest["actor"]) == (lock["id"], actor(partner_id="dist-1"))

    async def test_a_refused_claim_is_recorded_with_the_claimant_and_the_lock_in_the_way(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claimed(admin, {"team": "north"})
        clock.set(NOW + MINUTE)
        assert (await claim(partner)).status_code == 409
        keys = await key_ids(admin)
        refused = (await audit(admin))[0]
        assert (refused["action"], refused["outcome"]) == ("lock.claim", "refused")
        assert refused["api_key_id"] == keys[("partner", "dist-1")]
        assert refused["actor"] == actor(partner_id="dist-1")
        assert refused["lock_id"] == lock["id"]
        assert (refused["customer_id"], refused["at"]) == ("c-1", z(NOW + MINUTE))
        assert refused["details"]["held_by"] == {
            "partner_id": None,
            "team": "north",
            "rep_id": None,
        }

    async def test_a_renewal_is_recorded(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claimed(partner)
        clock.set(NOW + DAY)
        response = await partner.post(f"/v1/locks/{lock['id']}/renew", json={"days": 30})
        assert response.status_code == 200, response.text
        keys = await key_ids(admin)
        renewed = (await audit(admin))[0]
        assert (renewed["action"], renewed["outcome"], renewed["at"]) == (
            "lock.renew", "renewed", z(NOW + DAY),
        )  # fmt: skip
        assert renewed["api_key_id"] == keys[("partner", "dist-1")]
        assert renewed["actor"] == actor(partner_id="dist-1")
        assert (renewed["lock_id"], renewed["customer_id"]) == (lock["id"], "c-1")
        assert renewed["details"]["days"] == 30

    async def test_a_release_and_a_release_of_an_ended_lock_are_recorded(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claimed(admin, {"rep_id": "rep-7"})
        clock.set(NOW + HOUR)
        assert (await admin.delete(f"/v1/locks/{lock['id']}")).status_code == 204
        clock.set(NOW + 2 * HOUR)
        assert (await admin.delete(f"/v1/locks/{lock['id']}")).status_code == 204
        keys = await key_ids(admin)
        entries = await audit(admin)
        assert summary(entries) == [
            ("lock.release", "not_active"), ("lock.release", "released"),
            ("lock.claim", "claimed"),
        ]  # fmt: skip
        assert [e["at"] for e in entries] == [z(NOW + 2 * HOUR), z(NOW + HOUR), z(NOW)]
        for entry in entries:
            assert (entry["lock_id"], entry["customer_id"]) == (lock["id"], "c-1")
            assert entry["api_key_id"] == keys[("admin", None)]

    async def test_releasing_an_expired_lock_is_recorded_as_not_active(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = (await admin.post(
            "/v1/locks", json={"customer_id": "c-1", "holder": {"team": "n"}, "days": 1}
        )).json()  # fmt: skip
        clock.set(NOW + 2 * DAY)
        assert (await admin.delete(f"/v1/locks/{lock['id']}")).status_code == 204
        assert summary(await audit(admin))[0] == ("lock.release", "not_active")


class TestPlanAudit:
    async def test_an_approved_filing_is_recorded(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        clock.set(NOW + MINUTE)
        plan = await file_plan(admin)
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        assert entry["id"]
        assert {k: v for k, v in entry.items() if k not in ("id", "details")} == {
            "at": z(NOW + MINUTE),
            "action": "plan.file",
            "outcome": "approved",
            "customer_id": "c-1",
            "api_key_id": keys[("admin", None)],
            "actor": actor(**A),
            "lock_id": None,
            "plan_id": plan["id"],
        }

    async def test_a_pending_filing_is_recorded_with_its_reasons(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        plan = await file_plan(admin)
        [entry] = await audit(admin)
        assert (entry["action"], entry["outcome"], entry["plan_id"]) == (
            "plan.file", "pending", plan["id"],
        )  # fmt: skip
        assert entry["details"]["reasons"] == ["owned_by_other"]

    async def test_a_partners_filing_names_its_key_and_partner(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        plan = await file_plan(partner, actor={"partner_id": "dist-9"})
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        assert entry["api_key_id"] == keys[("partner", "dist-1")]
        assert entry["actor"] == actor(partner_id="dist-1")
        assert entry["plan_id"] == plan["id"]

    @pytest.mark.parametrize(
        ("decision", "outcome"), [("approve", "approved"), ("reject", "rejected")]
    )
    async def test_a_decision_is_recorded(
        self, admin: httpx.AsyncClient, clock: FixedClock, decision: str, outcome: str
    ) -> None:
        await put_customer(admin, owner={"team": "east"})
        plan = await file_plan(admin)
        clock.set(NOW + HOUR)
        response = await admin.post(f"/v1/contact-plans/{plan['id']}/{decision}")
        assert response.status_code == 200, response.text
        keys = await key_ids(admin)
        entries = await audit(admin)
        assert summary(entries) == [(f"plan.{decision}", outcome), ("plan.file", "pending")]
        decided = entries[0]
        assert decided["at"] == z(NOW + HOUR)
        assert decided["api_key_id"] == keys[("admin", None)]
        assert (decided["plan_id"], decided["customer_id"]) == (plan["id"], "c-1")


class TestCheckAudit:
    async def test_an_allowed_reservation_is_recorded_with_its_plan(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        result = await reserve(admin)
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        assert (entry["action"], entry["outcome"]) == ("check.reserve", "allow")
        assert entry["plan_id"] == result["plan"]["id"]
        assert entry["actor"] == actor(**A)
        assert entry["api_key_id"] == keys[("admin", None)]
        assert (entry["customer_id"], entry["at"], entry["lock_id"]) == ("c-1", z(NOW), None)
        assert entry["details"]["channel"] == "phone"

    async def test_a_warned_reservation_is_recorded_as_warn(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, owner={"team": "east"})
        result = await reserve(admin)
        [entry] = await audit(admin)
        assert (entry["outcome"], entry["plan_id"]) == ("warn", result["plan"]["id"])
        assert entry["details"]["reasons"] == ["owned_by_other"]

    async def test_a_denied_reservation_is_recorded_without_a_plan(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"opted_out_channels": ["phone"]})
        assert (await reserve(admin))["plan"] is None
        [entry] = await audit(admin)
        assert (entry["action"], entry["outcome"], entry["plan_id"]) == (
            "check.reserve", "deny", None,
        )  # fmt: skip
        assert entry["details"]["reasons"] == ["opted_out"]

    async def test_a_partners_reservation_names_its_partner(
        self, admin: httpx.AsyncClient, partner: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await reserve(partner, actor={"partner_id": "dist-9"})
        keys = await key_ids(admin)
        [entry] = await audit(admin)
        assert entry["actor"] == actor(partner_id="dist-1")
        assert entry["api_key_id"] == keys[("partner", "dist-1")]

    async def test_checks_without_reserve_are_not_recorded(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        for role in ("admin", "ingest", "read"):
            client = await tenant.client(role)
            response = await client.post(
                "/v1/conflict-checks", json={"customer_id": "c-1", "channel": "phone"}
            )
            assert response.status_code == 200, response.text
        assert await audit(admin) == []


Attempt = Callable[[Tenant, httpx.AsyncClient, FixedClock], Awaitable[httpx.Response]]


async def _claim_days_0(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    return await admin.post(
        "/v1/locks", json={"customer_id": "c-1", "holder": {"team": "n"}, "days": 0}
    )


async def _claim_two_holders(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    return await claim(admin, {"team": "n", "rep_id": "r"})


async def _claim_unknown(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    return await claim(admin, {"team": "n"}, "nobody")


async def _claim_by_read(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    return await claim(await t.client("read"), {"team": "n"})


async def _renew_too_far(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    lock = await claimed(admin, {"team": "n"}, "c-2")
    clock.set(NOW + DAY)
    return await admin.post(f"/v1/locks/{lock['id']}/renew", json={"days": 365})


async def _renew_expired(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    lock = await claimed(admin, {"team": "n"}, "c-2")
    clock.set(NOW + 91 * DAY)
    return await admin.post(f"/v1/locks/{lock['id']}/renew", json={"days": 10})


async def _renew_others(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    lock = await claimed(admin, {"team": "n"}, "c-2")
    partner = await t.client("partner", "dist-1")
    return await partner.post(f"/v1/locks/{lock['id']}/renew", json={"days": 10})


async def _release_others(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    lock = await claimed(admin, {"team": "n"}, "c-2")
    return await (await t.client("partner", "dist-1")).delete(f"/v1/locks/{lock['id']}")


async def _release_unknown(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    return await admin.delete(f"/v1/locks/{uuid.uuid4()}")


async def _reserve_invalid(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    body = {"customer_id": "c-1", "channel": "phone", "reserve": True, "reserve_minutes": 0}
    return await admin.post("/v1/conflict-checks", json=body)


async def _reserve_unknown(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    body = {"customer_id": "nobody", "channel": "phone", "reserve": True}
    return await admin.post("/v1/conflict-checks", json=body)


async def _file_naive(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    body = {"customer_id": "c-1", "actor": A, "channel": "visit", "planned_at": "2026-11-21T03:00"}
    return await admin.post("/v1/contact-plans", json=body)


async def _file_unknown(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    body = {"customer_id": "nobody", "actor": A, "channel": "visit", "planned_at": z(NOW)}
    return await admin.post("/v1/contact-plans", json=body)


async def _approve_by_ingest(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    return await (await t.client("ingest")).post(f"/v1/contact-plans/{uuid.uuid4()}/approve")


async def _approve_unknown(
    t: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> httpx.Response:
    return await admin.post(f"/v1/contact-plans/{uuid.uuid4()}/approve")


async def _reject_decided(t: Tenant, admin: httpx.AsyncClient, clock: FixedClock) -> httpx.Response:
    plan = await file_plan(admin, customer_id="c-2")
    assert plan["status"] == "approved"
    return await admin.post(f"/v1/contact-plans/{plan['id']}/reject")


class TestNothingIsRecordedForRefusedRequests:
    @pytest.mark.parametrize(
        ("attempt", "status_code"),
        [
            pytest.param(_claim_days_0, 422, id="claim-days-0"),
            pytest.param(_claim_two_holders, 422, id="claim-two-holders"),
            pytest.param(_claim_unknown, 404, id="claim-unknown-customer"),
            pytest.param(_claim_by_read, 403, id="claim-by-read-key"),
            pytest.param(_renew_too_far, 422, id="renew-beyond-365-days"),
            pytest.param(_renew_expired, 409, id="renew-expired"),
            pytest.param(_renew_others, 404, id="renew-anothers"),
            pytest.param(_release_others, 404, id="release-anothers"),
            pytest.param(_release_unknown, 404, id="release-unknown"),
            pytest.param(_reserve_invalid, 422, id="reserve-invalid"),
            pytest.param(_reserve_unknown, 404, id="reserve-unknown-customer"),
            pytest.param(_file_naive, 422, id="file-naive-time"),
            pytest.param(_file_unknown, 404, id="file-unknown-customer"),
            pytest.param(_approve_by_ingest, 403, id="approve-by-ingest"),
            pytest.param(_approve_unknown, 404, id="approve-unknown"),
            pytest.param(_reject_decided, 409, id="reject-decided"),
        ],
    )
    async def test_a_refused_request_writes_no_entry(
        self,
        tenant: Tenant,
        admin: httpx.AsyncClient,
        clock: FixedClock,
        attempt: Attempt,
        status_code: int,
    ) -> None:
        await put_customer(admin)
        await put_customer(admin, "c-2")
        response = await attempt(tenant, admin, clock)
        assert_problem(response, status_code)
        entries = await audit(admin)
        assert [e for e in entries if e["customer_id"] != "c-2"] == []
        leftovers = [e for e in entries if e["customer_id"] == "c-2"]
        assert all(e["outcome"] in ("claimed", "approved") for e in leftovers), leftovers
        assert len(leftovers) <= 1


class TestAuditListing:
    async def _history(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> list[tuple[str, str]]:
        """One of each kind of entry, an hour apart from NOW on, c-2 getting every other one."""
        partner = await tenant.client("partner", "dist-1")
        await put_customer(admin)
        await put_customer(admin, "c-2")
        steps: list[Callable[[], Awaitable[Any]]] = [
            lambda: claimed(partner),
            lambda: claim(admin, {"team": "north"}),
            lambda: claimed(admin, {"team": "north"}, "c-2"),
            lambda: file_plan(admin),
            lambda: reserve(admin, customer_id="c-2", actor={"team": "north"}),
        ]
        for i, step in enumerate(steps):
            clock.set(NOW + i * HOUR)
            await step()
        clock.set(NOW + 5 * HOUR)
        return [
            ("check.reserve", "allow"), ("plan.file", "pending"), ("lock.claim", "claimed"),
            ("lock.claim", "refused"), ("lock.claim", "claimed"),
        ]  # fmt: skip

    async def test_entries_are_listed_newest_first(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        expected = await self._history(tenant, admin, clock)
        entries = await audit(admin)
        assert summary(entries) == expected
        assert [e["at"] for e in entries] == [z(NOW + i * HOUR) for i in range(4, -1, -1)]

    async def test_entries_are_filtered_by_customer(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await self._history(tenant, admin, clock)
        assert summary(await audit(admin, customer_id="c-2")) == [
            ("check.reserve", "allow"), ("lock.claim", "claimed"),
        ]  # fmt: skip
        assert len(await audit(admin, customer_id="c-1")) == 3
        assert await audit(admin, customer_id="c-3") == []

    @pytest.mark.parametrize(
        ("params", "hours"),
        [
            pytest.param({"from": z(NOW + HOUR), "to": z(NOW + HOUR)}, [1], id="one-instant"),
            pytest.param({"from": z(NOW + 3 * HOUR)}, [4, 3], id="from-inclusive"),
            pytest.param({"to": z(NOW + HOUR)}, [1, 0], id="to-inclusive"),
            pytest.param(
                {"from": z(NOW + HOUR + MINUTE), "to": z(NOW + 3 * HOUR)}, [3, 2], id="range"
            ),
            pytest.param({"from": "2026-11-20T13:00:00+08:00"}, [4, 3, 2], id="offset"),
            pytest.param({"from": z(NOW + 5 * HOUR)}, [], id="after-everything"),
            pytest.param({"from": z(NOW + 2 * HOUR), "to": z(NOW + HOUR)}, [], id="empty-range"),
        ],
    )
    async def test_entries_are_filtered_by_time(
        self,
        tenant: Tenant,
        admin: httpx.AsyncClient,
        clock: FixedClock,
        params: dict[str, str],
        hours: list[int],
    ) -> None:
        await self._history(tenant, admin, clock)
        assert [e["at"] for e in await audit(admin, **params)] == [z(NOW + h * HOUR) for h in hours]

    async def test_the_log_is_paged_without_gaps_or_repeats(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        expected = await self._history(tenant, admin, clock)
        first = (await admin.get("/v1/audit", params={"limit": 2})).json()
        assert len(first["items"]) == 2
        assert first["next_cursor"] is not None
        paged = await audit(admin, limit=2)
        assert summary(paged) == expected
        assert len({e["id"] for e in paged}) == len(expected)

    async def test_another_tenants_log_is_separate(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock, other_tenant: Tenant
    ) -> None:
        await self._history(tenant, admin, clock)
        other = await other_tenant.client("admin")
        assert await audit(other) == []
        assert await audit(other, customer_id="c-1") == []

    async def test_a_whole_story_is_recorded_step_by_step(
        self, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        partner = await tenant.client("partner", "dist-1")
        rival = await tenant.client("partner", "dist-2")
        await put_customer(admin, owner={"rep_id": "owner-rep", "team": "east"})
        lock = await claimed(partner)
        clock.set(NOW + HOUR)
        assert (await claim(rival)).status_code == 409
        clock.set(NOW + 2 * HOUR)
        assert (await claim(partner)).status_code == 200
        clock.set(NOW + 3 * HOUR)
        renewed = await partner.post(f"/v1/locks/{lock['id']}/renew", json={"days": 10})
        assert renewed.status_code == 200, renewed.text
        clock.set(NOW + 4 * HOUR)
        plan = await file_plan(partner, actor={"rep_id": "p-1", "team": "west"})
        clock.set(NOW + 5 * HOUR)
        assert (await admin.post(f"/v1/contact-plans/{plan['id']}/approve")).status_code == 200
        clock.set(NOW + 6 * HOUR)
        reserved = await reserve(partner, actor={"rep_id": "p-1", "team": "west"})
        clock.set(NOW + 7 * HOUR)
        denied = await reserve(rival)
        clock.set(NOW + 8 * HOUR)
        assert (await partner.delete(f"/v1/locks/{lock['id']}")).status_code == 204
        keys = await key_ids(admin)
        mine, theirs, admins = (
            keys[("partner", "dist-1")], keys[("partner", "dist-2")], keys[("admin", None)],
        )  # fmt: skip
        expected = [
            ("lock.release", "released", mine, "dist-1", lock["id"], None),
            ("check.reserve", "deny", theirs, "dist-2", None, None),
            ("check.reserve", "warn", mine, "dist-1", None, reserved["plan"]["id"]),
            ("plan.approve", "approved", admins, None, None, plan["id"]),
            ("plan.file", "pending", mine, "dist-1", None, plan["id"]),
            ("lock.renew", "renewed", mine, "dist-1", lock["id"], None),
            ("lock.claim", "already_held", mine, "dist-1", lock["id"], None),
            ("lock.claim", "refused", theirs, "dist-2", lock["id"], None),
            ("lock.claim", "claimed", mine, "dist-1", lock["id"], None),
        ]
        entries = await audit(admin, customer_id="c-1")
        assert [
            (e["action"], e["outcome"], e["api_key_id"], e["actor"]["partner_id"], e["lock_id"],
             e["plan_id"])
            for e in entries
        ] == expected  # fmt: skip
        assert [e["at"] for e in entries] == [z(NOW + h * HOUR) for h in range(8, -1, -1)]
        assert denied["decision"] == "deny"
