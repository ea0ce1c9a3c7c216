"""Coordination under real concurrency: many simultaneous requests, each through its own client
and pooled connection, race for the last contact under a cap, for a free customer's lock and
for a time slot; exactly one wins each race, and the audit log tells the same story."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import NOW, Tenant
from tests.integration.helpers import put_customer, rule, set_policy, touch, z

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
RACERS = 24


async def set_cap(client: httpx.AsyncClient, max_: int, window_days: int = 7) -> None:
    """A policy of one catch-all rule capping contacts at ``max_`` in ``window_days``."""
    await set_policy(client, rule(caps=[{"window_days": window_days, "max": max_}]))


async def clients(tenant: Tenant, count: int, role: str = "admin") -> list[httpx.AsyncClient]:
    """``count`` separate clients; the ``partner`` role gives each its own partner."""
    made = []
    for i in range(count):
        if role == "partner":
            made.append(await tenant.client("partner", f"dist-{i}"))
        else:
            made.append(await tenant.client(("admin", "ingest", "read")[i % 3]))
    return made


async def audit(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await admin.get("/v1/audit", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def reserving(customer_id: str, rep: str, channel: str = "email") -> dict[str, Any]:
    return {
        "customer_id": customer_id, "channel": channel, "actor": {"rep_id": rep, "team": "north"},
        "reserve": True,
    }  # fmt: skip


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(response.status_code for response in responses)


class TestRacingForTheLastContactUnderACap:
    async def test_of_many_simultaneous_reservations_exactly_one_gets_the_last_contact(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await set_cap(admin, 2)
        await put_customer(admin)
        await touch(admin, NOW - DAY)
        racers = await clients(tenant, RACERS)
        calls = [
            c.post("/v1/conflict-checks", json=reserving("c-1", f"rep-{i}"))
            for i, c in enumerate(racers)
        ]
        responses = await asyncio.gather(*calls)
        assert statuses(responses) == [200] * RACERS, [r.text for r in responses]
        results = [response.json() for response in responses]
        winners = [r for r in results if r["decision"] in ("allow", "warn")]
        losers = [r for r in results if r["decision"] == "deny"]
        assert len(winners) == 1, results
        assert len(losers) == RACERS - 1
        [winner] = winners
        assert winner["plan"]["kind"] == "reservation"
        assert winner["plan"]["status"] == "approved"
        for loser in losers:
            assert loser["plan"] is None
            capped = [r for r in loser["reasons"] if r["code"] == "cap_reached"]
            assert [r["until"] for r in capped] == [winner["plan"]["expires_at"]], loser
        state = (await admin.get("/v1/customers/c-1/status")).json()
        assert (state["caps"][0]["used"], state["caps"][0]["remaining"]) == (2, 0)
        plans = (await admin.get("/v1/contact-plans", params={"customer_id": "c-1"})).json()
        assert [p["id"] for p in plans["items"]] == [winner["plan"]["id"]]
        entries = await audit(admin, customer_id="c-1")
        outcomes = sorted(e["outcome"] for e in entries if e["action"] == "check.reserve")
        assert outcomes == sorted([winner["decision"]] + ["deny"] * (RACERS - 1))
        assert [e["plan_id"] for e in entries if e["outcome"] != "deny"] == [winner["plan"]["id"]]

    async def test_with_two_contacts_left_exactly_two_are_reserved(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await set_cap(admin, 3)
        await put_customer(admin)
        await touch(admin, NOW - DAY)
        racers = await clients(tenant, RACERS)
        responses = await asyncio.gather(
            *(c.post("/v1/conflict-checks", json=reserving("c-1", "rep-1")) for c in racers)
        )
        decisions = sorted(response.json()["decision"] for response in responses)
        assert decisions == ["allow"] * 2 + ["deny"] * (RACERS - 2), decisions
        made = [r.json()["plan"] for r in responses if r.json()["plan"] is not None]
        assert len({plan["id"] for plan in made}) == 2
        assert (await admin.get("/v1/customers/c-1/status")).json()["caps"][0]["used"] == 3

    async def test_reservations_for_instants_ahead_leave_one_winner(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        """[1.1] A reservation counts from the moment it is made, whatever its ``at``: 2 of
        3 contacts made, 16 reserving checks at now + i minutes, exactly one gets through.
        The first sent reserves the latest instant: judged at an earlier one, a reservation
        counted only from its ``at`` would leave room."""
        await set_cap(admin, 3)
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY)
        await touch(admin, NOW - DAY)
        racers = await clients(tenant, 16)
        calls = [
            c.post(
                "/v1/conflict-checks",
                json={**reserving("c-1", f"rep-{i}"), "at": z(NOW + (15 - i) * MINUTE)},
            )
            for i, c in enumerate(racers)
        ]
        results = [response.json() for response in await asyncio.gather(*calls)]
        winners = [r for r in results if r["plan"] is not None]
        assert len(winners) == 1, results
        assert sum(r["decision"] == "deny" for r in results) == 15
        state = (await admin.get("/v1/customers/c-1/status")).json()
        assert (state["caps"][0]["used"], state["caps"][0]["remaining"]) == (3, 0)
        for minutes in (0, 30, 59):  # the reservation lasts an hour from its `at` at least
            later = NOW + minutes * MINUTE
            response = await admin.get("/v1/customers/c-1/status", params={"as_of": z(later)})
            assert response.json()["caps"][0]["used"] == 3

    async def test_partners_racing_for_the_last_contact_leave_one_winner(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await set_cap(admin, 1)
        await put_customer(admin)
        racers = await clients(tenant, RACERS, "partner")
        body = {"customer_id": "c-1", "channel": "visit", "reserve": True}
        responses = await asyncio.gather(
            *(c.post("/v1/conflict-checks", json=body) for c in racers)
        )
        results = [response.json() for response in responses]
        winners = [r for r in results if r["plan"] is not None]
        assert len(winners) == 1, results
        assert sum(r["decision"] == "deny" for r in results) == RACERS - 1
        for result in results:
            if result["plan"] is None:
                assert "cap_reached" in [r["code"] for r in result["reasons"]]
                assert all(r["until"] is None for r in result["reasons"])

    async def test_reservations_of_different_customers_do_not_block_each_other(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await set_cap(admin, 1)
        for i in range(RACERS):
            await put_customer(admin, f"c-{i}")
        racers = await clients(tenant, RACERS)
        calls = [
            c.post("/v1/conflict-checks", json=reserving(f"c-{i}", "rep-1"))
            for i, c in enumerate(racers)
        ]
        responses = await asyncio.gather(*calls)
        assert [response.json()["decision"] for response in responses] == ["allow"] * RACERS


class TestRacingForALock:
    async def test_of_many_partners_claiming_a_free_customer_exactly_one_wins(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        racers = await clients(tenant, RACERS, "partner")
        responses = await asyncio.gather(
            *(c.post("/v1/locks", json={"customer_id": "c-1", "days": 30}) for c in racers)
        )
        assert statuses(responses) == [201] + [409] * (RACERS - 1), [r.text for r in responses]
        [won] = [r for r in responses if r.status_code == 201]
        lock = won.json()
        for response in responses:
            if response.status_code == 409:
                conflict = response.json()["conflict"]
                assert conflict == {"expires_at": lock["expires_at"], "holder": None}
                assert lock["holder"]["partner_id"] not in response.text
        held = (await admin.get("/v1/customers/c-1/locks")).json()
        assert held["locked"] is True
        assert [item["id"] for item in held["locks"]] == [lock["id"]]
        entries = await audit(admin, customer_id="c-1")
        outcomes = sorted(e["outcome"] for e in entries if e["action"] == "lock.claim")
        assert outcomes == ["claimed"] + ["refused"] * (RACERS - 1)
        assert {e["lock_id"] for e in entries} == {lock["id"]}
        [claimed] = [e for e in entries if e["outcome"] == "claimed"]
        assert claimed["actor"]["partner_id"] == lock["holder"]["partner_id"]
        refusers = {e["actor"]["partner_id"] for e in entries if e["outcome"] == "refused"}
        assert len(refusers) == RACERS - 1
        assert lock["holder"]["partner_id"] not in refusers

    async def test_of_many_admin_claims_for_different_teams_exactly_one_wins(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        racers = [await tenant.client("admin") for _ in range(RACERS)]
        calls = [
            c.post("/v1/locks", json={"customer_id": "c-1", "holder": {"team": f"team-{i}"}})
            for i, c in enumerate(racers)
        ]
        responses = await asyncio.gather(*calls)
        assert statuses(responses) == [201] + [409] * (RACERS - 1)
        [won] = [r.json() for r in responses if r.status_code == 201]
        for response in responses:
            if response.status_code == 409:
                assert response.json()["conflict"]["holder"] == won["holder"]

    async def test_simultaneous_claims_by_the_same_holder_return_one_lock(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        racers = [await tenant.client("partner", "dist-1") for _ in range(RACERS)]
        responses = await asyncio.gather(
            *(c.post("/v1/locks", json={"customer_id": "c-1"}) for c in racers)
        )
        assert statuses(responses) == [200] * (RACERS - 1) + [201], [r.text for r in responses]
        assert len({response.json()["id"] for response in responses}) == 1
        entries = await audit(admin, customer_id="c-1")
        outcomes = sorted(e["outcome"] for e in entries)
        assert outcomes == ["already_held"] * (RACERS - 1) + ["claimed"]

    @pytest.mark.parametrize("customers", [2, 6])
    async def test_claims_on_several_customers_each_get_one_winner(
        self, tenant: Tenant, admin: httpx.AsyncClient, customers: int
    ) -> None:
        for i in range(customers):
            await put_customer(admin, f"c-{i}")
        racers = await clients(tenant, RACERS, "partner")
        calls = [
            c.post("/v1/locks", json={"customer_id": f"c-{i % customers}"})
            for i, c in enumerate(racers)
        ]
        responses = await asyncio.gather(*calls)
        assert statuses(responses).count(201) == customers
        assert statuses(responses).count(409) == RACERS - customers
        for i in range(customers):
            held = (await admin.get(f"/v1/customers/c-{i}/locks")).json()
            assert len(held["locks"]) == 1


class TestRacingForATimeSlot:
    async def test_of_many_plans_filed_for_one_slot_only_the_first_is_approved(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        racers = await clients(tenant, RACERS)
        planned_at = z(NOW + DAY)
        bodies = [
            {
                "customer_id": "c-1",
                "channel": "visit",
                "planned_at": planned_at,
                "actor": {"rep_id": f"rep-{i}", "team": f"team-{i}"},
            }
            for i in range(RACERS)
        ]
        calls = [c.post("/v1/contact-plans", json=b) for c, b in zip(racers, bodies, strict=True)]
        responses = await asyncio.gather(*calls)
        assert statuses(responses) == [201] * RACERS, [r.text for r in responses]
        filed = [response.json() for response in responses]
        assert sorted(p["status"] for p in filed) == ["approved"] + ["pending"] * (RACERS - 1)
        for plan in filed:
            if plan["status"] == "pending":
                assert [r["code"] for r in plan["reasons"]] == ["planned_by_other"]
        entries = await audit(admin, customer_id="c-1")
        assert sorted(e["outcome"] for e in entries) == ["approved"] + ["pending"] * (RACERS - 1)
