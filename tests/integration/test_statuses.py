"""Customers by status: GET /v1/statuses, and its agreement (and the work queue's) with
GET /v1/customers/{id}/status at every instant."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.cadence.types import WELL_KNOWN_CHANNELS
from app.clock import FixedClock
from app.frequency import refreshing
from app.frequency.models import CustomerSchedule
from app.tenants.service import tenant_of_key
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    drain_refresh_marks,
    listing,
    put_customer,
    put_policy,
    status,
    touch,
    touch_body,
    utc,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
REP = "rep-1"
TEAM = "north"
ITEM_FIELDS = {"customer_id", "status", "due_at", "overdue_at", "segment", "owner", "rule"}

YOUNG_LEADS = {
    "name": "young_leads",
    "match": {"stage": ["lead"], "stage_age_days_lt": 10},
    "follow_up_days": 2,
    "overdue_after_days": 4,
}
MAIN = {
    "name": "main",
    "match": {},
    "follow_up_days": 7,
    "overdue_after_days": 14,
    "caps": [{"window_days": 7, "max": 2}],
}
POLICY: dict[str, Any] = {
    "complaint_pause_days": 5,
    "fatigue_days": 30,
    "segment_weights": {"strategic": 3},
    "rules": [YOUNG_LEADS, MAIN],
}


async def put_owned_customer(
    client: httpx.AsyncClient, customer_id: str, *, rep: str | None = REP, **fields: Any
) -> None:
    """A profile owned by ``rep`` (the rep of these tests unless said otherwise) of TEAM."""
    await put_customer(client, customer_id, **{"owner": {"rep_id": rep, "team": TEAM}, **fields})


async def statuses(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return await listing(client, "/v1/statuses", **params)


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["customer_id"] for item in await statuses(client, **params)]


def verdict(item: dict[str, Any]) -> tuple[str, str, str | None, str]:
    return item["status"], item["due_at"], item["overdue_at"], item["rule"]


async def assert_agreement(client: httpx.AsyncClient, now: datetime) -> set[str]:
    """Every customer's item in /v1/statuses and (when due and not suppressed) in
    /v1/follow-ups says what its /status says now; returns the statuses seen."""
    listed = {item["customer_id"]: item for item in await statuses(client, limit=3)}
    queued = {
        item["customer_id"]: item
        for item in await listing(client, "/v1/follow-ups", owner_rep=REP, limit=4)
    }
    seen: set[str] = set()
    for customer_id, item in listed.items():
        state = await status(client, customer_id)
        follow_up = state["next_follow_up"]
        expected = (state["status"], follow_up["due_at"], follow_up["overdue_at"], state["rule"])
        assert verdict(item) == expected, (z(now), customer_id, "statuses")
        in_queue = (
            item["owner"]["rep_id"] == REP
            and state["status"] != "suppressed"
            and utc(follow_up["due_at"]) <= now
        )
        assert (customer_id in queued) == in_queue, (z(now), customer_id, "follow-ups")
        if in_queue:
            assert verdict(queued[customer_id]) == expected, (z(now), customer_id, "follow-ups")
        seen.add(state["status"])
    return seen


def emails(customer_id: str, days_ago: list[int], opened: bool) -> list[dict[str, Any]]:
    """Automated emails, each opened an hour later if ``opened``."""
    touches: list[dict[str, Any]] = []
    for days in days_ago:
        sent = touch_body(NOW - days * DAY, customer_id=customer_id, automated=True)
        touches.append(sent)
        if opened:
            touches.append(
                touch_body(
                    NOW - days * DAY + HOUR, customer_id=customer_id, kind="engagement",
                    outcome="opened", ref_external_id=sent["external_id"],
                )
            )  # fmt: skip
    return touches


async def a_varied_book(client: httpx.AsyncClient, clock: FixedClock) -> None:
    """Customers in every state the policy knows, with changes to come as time passes."""
    await put_policy(client, POLICY)
    clock.set(NOW - DAY)
    await put_owned_customer(client, "never")  # due since NOW-1d
    clock.set(NOW)
    await put_owned_customer(client, "on-track", stage="customer")
    await put_owned_customer(client, "due", segment="strategic")
    await put_owned_customer(client, "capped", preferences={"max_contacts_per_30d": 1})
    await put_owned_customer(client, "paused", preferences={"paused_until": z(NOW + 3 * DAY)})
    await put_owned_customer(client, "opted-out", preferences={"opted_out_channels": ["all"]})
    await put_owned_customer(client, "young-lead", stage="lead")
    await put_owned_customer(client, "other-rep", rep="rep-2")
    for customer_id in ("overdue", "over-cap", "unsubscribed", "falling"):
        await put_owned_customer(client, customer_id)
    # [1.1] a complaint pauses its channel; email is all this customer has left
    email_only = [c for c in WELL_KNOWN_CHANNELS if c != "email"]
    await put_owned_customer(client, "complained", preferences={"opted_out_channels": email_only})
    touches = [
        touch_body(NOW - DAY, customer_id="on-track"),  # due NOW+6d, overdue NOW+13d
        touch_body(NOW - 10 * DAY, customer_id="due"),  # due NOW-3d, overdue NOW+4d
        touch_body(NOW - 20 * DAY, customer_id="overdue"),
        touch_body(NOW - 10 * DAY, customer_id="capped"),  # held until the cap frees at NOW+20d
        *(
            touch_body(NOW - days * DAY, customer_id="over-cap") for days in (3, 2, 1)
        ),  # over until NOW+4d
        touch_body(NOW - 10 * DAY, customer_id="paused"),
        touch_body(NOW - 10 * DAY, customer_id="complained"),
        touch_body(NOW - DAY, customer_id="complained", kind="engagement", outcome="complained"),
        touch_body(NOW - 10 * DAY, customer_id="unsubscribed"),
        touch_body(
            NOW - DAY, customer_id="unsubscribed", kind="engagement", outcome="unsubscribed"
        ),
        touch_body(NOW - HOUR, "phone", customer_id="young-lead"),  # young until NOW+10d
        *emails("falling", [80, 70, 60], opened=True),
        *emails("falling", [20, 15, 10], opened=False),
        touch_body(NOW - 10 * DAY, customer_id="other-rep"),
    ]
    response = await client.post("/v1/touches/batch", json={"touches": touches})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(touches)


INSTANTS = [
    timedelta(0), 12 * HOUR, DAY, 2 * DAY - HOUR, 3 * DAY - MINUTE, 3 * DAY, 4 * DAY - HOUR,
    4 * DAY, 5 * DAY, 6 * DAY, 10 * DAY - MINUTE, 10 * DAY, 13 * DAY, 15 * DAY, 20 * DAY,
    20 * DAY + MINUTE, 29 * DAY, 30 * DAY, 45 * DAY, 100 * DAY, 400 * DAY,
]  # fmt: skip


class TestStatusesList:
    async def test_every_customer_is_listed_by_customer_id(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        listed = await listed_ids(admin)
        assert listed == sorted(listed)
        assert len(listed) == 13

    async def test_items_carry_the_documented_fields(self, admin: httpx.AsyncClient) -> None:
        await put_policy(admin, POLICY)
        await put_owned_customer(admin, "c-1", segment="strategic", stage="customer")
        await touch(admin, NOW - DAY)
        [item] = await statuses(admin)
        assert set(item) >= ITEM_FIELDS
        assert item == {
            **item,
            "customer_id": "c-1",
            "status": "on_track",
            "due_at": z(NOW + 6 * DAY),
            "overdue_at": z(NOW + 13 * DAY),
            "segment": "strategic",
            "owner": {"rep_id": REP, "team": TEAM},
            "rule": "main",
        }

    async def test_a_customer_made_by_a_touch_is_listed(self, admin: httpx.AsyncClient) -> None:
        await touch(admin, NOW - DAY, customer_id="bare")
        [item] = await statuses(admin)
        assert item["customer_id"] == "bare"
        assert item["owner"] == {"rep_id": None, "team": None}
        assert item["segment"] is None

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("due", ["due", "never", "other-rep"]),
            ("overdue", ["overdue"]),
            ("on_track", ["capped", "on-track", "young-lead"]),
            ("suppressed", ["complained", "opted-out", "paused"]),
            ("over_contacted", ["falling", "over-cap", "unsubscribed"]),
        ],
    )
    async def test_the_status_filter_keeps_exactly_that_status(
        self, admin: httpx.AsyncClient, clock: FixedClock, status: str, expected: list[str]
    ) -> None:
        await a_varied_book(admin, clock)
        items = await statuses(admin, status=status)
        assert [item["customer_id"] for item in items] == expected
        assert {item["status"] for item in items} == {status}

    async def test_the_segment_filter(self, admin: httpx.AsyncClient, clock: FixedClock) -> None:
        await a_varied_book(admin, clock)
        assert await listed_ids(admin, segment="strategic") == ["due"]

    async def test_the_stage_filter(self, admin: httpx.AsyncClient, clock: FixedClock) -> None:
        await a_varied_book(admin, clock)
        assert await listed_ids(admin, stage="lead") == ["young-lead"]
        assert await listed_ids(admin, stage="customer") == ["on-track"]

    async def test_the_owner_rep_filter(self, admin: httpx.AsyncClient, clock: FixedClock) -> None:
        await a_varied_book(admin, clock)
        assert await listed_ids(admin, owner_rep="rep-2") == ["other-rep"]
        assert len(await listed_ids(admin, owner_rep=REP)) == 12

    async def test_the_team_filter(self, admin: httpx.AsyncClient) -> None:
        await put_owned_customer(admin, "north-1")
        await admin.put("/v1/customers/south-1", json={"owner": {"team": "south"}})
        await admin.put("/v1/customers/nobody", json={})
        assert await listed_ids(admin, team=TEAM) == ["north-1"]
        assert await listed_ids(admin, team="south") == ["south-1"]

    async def test_filters_combine(self, admin: httpx.AsyncClient, clock: FixedClock) -> None:
        await a_varied_book(admin, clock)
        assert await listed_ids(admin, owner_rep=REP, status="overdue") == ["overdue"]
        assert await listed_ids(admin, team=TEAM, segment="strategic", status="due") == ["due"]
        assert await listed_ids(admin, stage="lead", status="due") == []

    @pytest.mark.parametrize("limit", [1, 2, 5, 12, 13])
    async def test_pages_walk_every_customer_once(
        self, admin: httpx.AsyncClient, clock: FixedClock, limit: int
    ) -> None:
        await a_varied_book(admin, clock)
        assert await listed_ids(admin, limit=limit) == await listed_ids(admin, limit=500)

    async def test_a_filter_holds_across_pages(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        paged = await listed_ids(admin, status="suppressed", limit=1)
        assert paged == ["complained", "opted-out", "paused"]

    async def test_a_page_has_at_most_limit_items(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        response = await admin.get("/v1/statuses", params={"limit": 4})
        body = response.json()
        assert len(body["items"]) == 4
        assert body["next_cursor"] is not None

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "late"},
            {"segment": "Not A Slug"},
            {"owner_rep": "bad rep"},
            {"limit": 0},
            {"limit": 501},
            {"cursor": "%%%"},
        ],
        ids=["status", "segment", "owner-rep", "limit-0", "limit-501", "cursor"],
    )
    async def test_a_bad_parameter_is_rejected(
        self, admin: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        body = assert_problem(await admin.get("/v1/statuses", params=params), 422)
        assert body["errors"]

    @pytest.mark.parametrize("role", ["admin", "ingest", "read"])
    async def test_these_roles_may_list(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role)
        assert (await client.get("/v1/statuses")).status_code == 200

    async def test_a_partner_may_not_list(self, tenant: Tenant) -> None:
        partner = await tenant.client("partner", "p-1")
        assert_problem(await partner.get("/v1/statuses"), 403)

    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.get("/v1/statuses"), 401)

    async def test_another_tenants_customers_are_not_listed(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_owned_customer(admin, "c-1")
        theirs = await other_tenant.client("admin")
        assert await listed_ids(theirs) == []


class TestAgreement:
    async def test_lists_agree_with_the_status_of_a_varied_book(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        seen = await assert_agreement(admin, NOW)
        assert seen == {"due", "overdue", "on_track", "suppressed", "over_contacted"}

    async def test_lists_agree_as_time_crosses_every_change(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        for offset in INSTANTS:
            clock.set(NOW + offset)
            await assert_agreement(admin, NOW + offset)

    async def test_lists_agree_when_time_jumps_far_ahead(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        await assert_agreement(admin, NOW)
        clock.set(NOW + 31 * DAY)
        await assert_agreement(admin, NOW + 31 * DAY)

    async def test_lists_agree_when_more_schedules_are_stale_than_one_refresh_round_takes(
        self, admin: httpx.AsyncClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(refreshing, "LAZY_REFRESH_CHUNK", 2)
        await a_varied_book(admin, clock)
        await assert_agreement(admin, NOW)
        clock.set(NOW + 31 * DAY)
        await assert_agreement(admin, NOW + 31 * DAY)

    async def test_the_rule_changes_when_the_stage_ages_past_a_threshold(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_policy(admin, POLICY)
        await put_owned_customer(admin, "lead", stage="lead")
        await touch(admin, NOW - HOUR, "phone", customer_id="lead")
        clock.set(NOW + 10 * DAY - MINUTE)
        [item] = await statuses(admin)
        assert (item["rule"], item["status"]) == ("young_leads", "overdue")
        clock.set(NOW + 10 * DAY)
        [item] = await statuses(admin)
        assert (item["rule"], item["status"]) == ("main", "due")
        assert item["due_at"] == z(NOW + 7 * DAY - HOUR)
        await assert_agreement(admin, NOW + 10 * DAY)

    async def test_lists_agree_after_a_late_touch(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        await touch(admin, NOW - 3 * DAY, customer_id="on-track")  # 2 of 2 in 7 days: capped
        await touch(admin, NOW - 2 * DAY, customer_id="due")  # due no more
        await touch(admin, NOW - 5 * DAY, customer_id="young-lead", direction="inbound")
        await touch(admin, NOW - 40 * DAY, customer_id="capped")  # outside the 30-day cap
        await touch(admin, NOW - 4 * DAY, customer_id="over-cap")  # longer over the cap
        seen = await assert_agreement(admin, NOW)
        assert (await status(admin, "due"))["status"] == "on_track"
        assert seen
        for offset in (2 * DAY, 4 * DAY, 5 * DAY):
            clock.set(NOW + offset)
            await assert_agreement(admin, NOW + offset)

    async def test_lists_agree_once_a_touch_dated_a_little_ahead_comes_due(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        await touch(admin, NOW + 2 * MINUTE, customer_id="overdue")
        await touch(
            admin, NOW + 3 * MINUTE, customer_id="falling", kind="engagement", outcome="complained"
        )
        await assert_agreement(admin, NOW)
        assert (await status(admin, "overdue"))["status"] == "overdue"
        clock.set(NOW + 3 * MINUTE)
        await assert_agreement(admin, NOW + 3 * MINUTE)
        assert (await status(admin, "overdue"))["status"] == "on_track"
        falling = await status(admin, "falling")
        assert falling["status"] == "over_contacted"  # [1.1] email paused, not suppressed
        assert "complaint_pause" in [r["code"] for r in falling["reasons"]]

    async def test_lists_agree_after_a_stage_change(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        clock.set(NOW + DAY)
        response = await admin.patch("/v1/customers/on-track", json={"stage": "lead"})
        assert response.status_code == 200, response.text
        [item] = await statuses(admin, stage="lead", status="due")
        assert (item["customer_id"], item["rule"]) == ("on-track", "young_leads")
        await assert_agreement(admin, NOW + DAY)
        response = await admin.patch("/v1/customers/young-lead", json={"stage": "customer"})
        assert response.status_code == 200, response.text
        await assert_agreement(admin, NOW + DAY)
        clock.set(NOW + 11 * DAY)
        await assert_agreement(admin, NOW + 11 * DAY)

    async def test_lists_agree_after_a_profile_replace(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        await put_owned_customer(admin, "paused")
        await put_owned_customer(admin, "opted-out", segment="strategic")
        await put_owned_customer(admin, "overdue", preferences={"paused_until": z(NOW + DAY)})
        await assert_agreement(admin, NOW)
        assert (await status(admin, "overdue"))["status"] == "suppressed"

    async def test_lists_agree_after_a_new_policy(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        await put_policy(
            admin,
            {
                "complaint_pause_days": 0,
                "fatigue_days": 5,
                "segment_weights": {"standard": 4},
                "rules": [
                    {**YOUNG_LEADS, "match": {"stage": ["lead"], "stage_age_days_gte": 1}},
                    {"name": "slow", "match": {}, "follow_up_days": 30, "overdue_after_days": 45},
                ],
            },
        )
        seen = await assert_agreement(admin, NOW)
        assert {item["rule"] for item in await statuses(admin)} == {"slow"}
        assert seen
        clock.set(NOW + DAY)
        await assert_agreement(admin, NOW + DAY)
        assert (await statuses(admin, stage="lead"))[0]["rule"] == "young_leads"

    async def test_lists_agree_after_a_policy_change_and_back(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_varied_book(admin, clock)
        slow = {"name": "slow", "match": {}, "follow_up_days": 60, "overdue_after_days": 90}
        await put_policy(admin, {"rules": [slow]})
        await assert_agreement(admin, NOW)
        await put_policy(admin, POLICY)
        await assert_agreement(admin, NOW)


class TestRecompute:
    async def test_a_new_policy_is_stored_for_every_customer_without_a_list_read(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        """The policy marks every customer; the background refresher stores the verdicts."""
        await a_varied_book(admin, clock)
        slow = {"name": "slow", "match": {}, "follow_up_days": 60, "overdue_after_days": 90}
        await put_policy(admin, {"rules": [slow]})
        await drain_refresh_marks(app, clock)
        tenant_id = tenant_of_key(await tenant.key("admin"))
        stmt = select(CustomerSchedule.policy_version, CustomerSchedule.rule).where(
            CustomerSchedule.tenant_id == tenant_id
        )
        async with app.state.sessionmaker() as session:
            stored = (await session.execute(stmt)).all()
        assert len(stored) == 13
        assert {(version, rule) for version, rule in stored} == {(2, "slow")}
