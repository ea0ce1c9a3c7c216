"""Routes that look their key up in their own statement (one round trip) refuse exactly as
every other route does: 401 before anything is said of the request, 403 for a role, and a
revoked key fails at once."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FixedClock
from app.tenants.service import KEY_PREFIX
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    drain_refresh_marks,
    put_customer,
    rule,
    set_policy,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

HOT_READS = ["/v1/customers/c-1/status", "/v1/customers/c-1/next-follow-up"]
FORGED_KEY = KEY_PREFIX + "0" * 32 + "_not-a-key"


@pytest.mark.parametrize("path", HOT_READS)
class TestHotReads:
    async def test_an_unknown_key_is_401_even_with_a_bad_as_of(
        self, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        headers = {"Authorization": f"Bearer {FORGED_KEY}"}
        response = await anonymous.get(path, params={"as_of": "yesterday"}, headers=headers)
        assert_problem(response, 401)

    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient, path: str) -> None:
        assert_problem(await anonymous.get(path, params={"as_of": "bad"}), 401)

    async def test_a_partner_key_is_403_even_with_a_bad_as_of(
        self, tenant: Tenant, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        partner = await tenant.client("partner", "dist-1")
        assert_problem(await partner.get(path), 403)
        assert_problem(await partner.get(path, params={"as_of": "bad"}), 403)

    async def test_a_revoked_key_fails_at_once(
        self, tenant: Tenant, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        created = await admin.post("/v1/api-keys", json={"role": "read"})
        assert created.status_code == 201, created.text
        key = created.json()
        headers = {"Authorization": f"Bearer {key['key']}"}
        assert (await admin.get(path, headers=headers)).status_code == 200
        assert (await admin.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
        assert_problem(await admin.get(path, headers=headers), 401)

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient, path: str) -> None:
        assert_problem(await admin.get(path.replace("c-1", "nobody")), 404)


NOW_STR = "2026-11-20T03:00:00Z"  # tests.conftest.NOW


async def checks_agree(
    app: FastAPI, clock: FixedClock, client: httpx.AsyncClient, **body: Any
) -> dict[str, Any]:
    """The one-statement check (stored document and facts) answers as the live one."""
    await drain_refresh_marks(app, clock)
    fast = await client.post("/v1/conflict-checks", json=body)
    live = await client.post("/v1/conflict-checks", json={**body, "at": NOW_STR})
    assert fast.status_code == live.status_code == 200, (fast.text, live.text)
    assert fast.json() == live.json()
    answer: dict[str, Any] = fast.json()
    return answer


class TestOneStatementChecks:
    async def test_caps_gaps_and_owners(
        self, app: FastAPI, clock: FixedClock, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(min_gap_hours=48, caps=[{"window_days": 7, "max": 2}]))
        await put_customer(admin, owner={"rep_id": "rep-7", "team": "north"})
        await touch(admin, NOW - 3 * DAY, actor={"rep_id": "rep-9", "team": "south"})
        await touch(admin, NOW - HOUR, "phone", actor={"rep_id": "rep-9", "team": "south"})
        answer = await checks_agree(
            app, clock, admin, customer_id="c-1", channel="email", actor={"team": "north"}
        )
        assert {r["code"] for r in answer["reasons"]} == {
            "cap_reached", "min_gap", "recent_contact_by_other",
        }  # fmt: skip

    async def test_complaints_locks_and_plans(
        self, app: FastAPI, clock: FixedClock, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner={"rep_id": "rep-7"})
        await touch(admin, NOW - DAY, "email", external_id="m-1")
        await touch(
            admin, NOW - HOUR, "email", kind="engagement", outcome="complained",
            ref_external_id="m-1",
        )  # fmt: skip
        claim = await admin.post(
            "/v1/locks", json={"customer_id": "c-1", "holder": {"partner_id": "dist-9"}}
        )
        assert claim.status_code == 201, claim.text
        plan = {
            "customer_id": "c-1", "channel": "visit", "planned_at": z(NOW + HOUR),
            "actor": {"rep_id": "rep-3", "team": "east"},
        }  # fmt: skip
        assert (await admin.post("/v1/contact-plans", json=plan)).status_code == 201
        for channel in ("email", "phone"):
            answer = await checks_agree(
                app, clock, admin, customer_id="c-1", channel=channel,
                actor={"rep_id": "rep-7"},
            )  # fmt: skip
            assert "locked" in {r["code"] for r in answer["reasons"]}
        partner = await tenant.client("partner", "dist-1")
        seen = await checks_agree(app, clock, partner, customer_id="c-1", channel="phone")
        assert seen["decision"] == "deny"

    async def test_quiet_hours_and_calendar(
        self, app: FastAPI, clock: FixedClock, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(
            admin, rule(), timezone="Asia/Shanghai",
            business_days={"weekdays": [1, 2, 3, 4, 5]},
            contact_hours={"start": "09:00", "end": "18:00"},
        )  # fmt: skip
        await put_customer(admin, preferences={"quiet_hours": {"start": "10:00", "end": "12:00"}})
        answer = await checks_agree(app, clock, admin, customer_id="c-1", channel="phone")
        assert answer["decision"] in ("allow", "deny")

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        body = {"customer_id": "nobody", "channel": "phone"}
        assert_problem(await admin.post("/v1/conflict-checks", json=body), 404)


PROFILE = {"name": "Ada", "segment": "smb", "owner": {"rep_id": "rep-1"}}


class TestOneStatementProfilePut:
    async def test_a_read_key_is_403_and_writes_nothing(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        reader = await tenant.client("read")
        assert_problem(await reader.put("/v1/customers/c-9", json=PROFILE), 403)
        assert_problem(await admin.get("/v1/customers/c-9"), 404)

    async def test_a_forged_key_is_401_before_a_mismatched_id(
        self, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient
    ) -> None:
        headers = {"Authorization": f"Bearer {FORGED_KEY}"}
        body = {**PROFILE, "customer_id": "c-8"}
        assert_problem(await anonymous.put("/v1/customers/c-9", json=body, headers=headers), 401)
        assert_problem(await admin.put("/v1/customers/c-9", json=body), 422)
        assert_problem(await admin.get("/v1/customers/c-9"), 404)

    async def test_created_then_replaced_and_marked(
        self, app: FastAPI, clock: FixedClock, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        ingest = await tenant.client("ingest")
        first = await ingest.put("/v1/customers/c-9", json=PROFILE)
        assert first.status_code == 201, first.text
        await drain_refresh_marks(app, clock)
        again = await ingest.put("/v1/customers/c-9", json={**PROFILE, "stage": "customer"})
        assert again.status_code == 200, again.text
        assert again.json()["stage"] == "customer"
        assert again.json()["created_at"] == first.json()["created_at"]
        async with app.state.database.driver() as driver:
            marks = await driver.fetchval(
                "SELECT count(*) FROM refresh_marks WHERE customer_id = 'c-9'"
            )
        assert marks == 1
