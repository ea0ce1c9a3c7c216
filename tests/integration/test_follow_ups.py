"""Work queues: GET /v1/follow-ups?owner_rep=|team=&status=&due_before=."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.clock import FixedClock
from app.pagination import encode_cursor
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    listing,
    put_customer,
    rule,
    set_policy,
    status,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ITEM_FIELDS = {"customer_id", "status", "due_at", "overdue_at", "segment", "owner", "rule"}
REP = "rep-1"
TEAM = "north"
WEIGHTS = {"strategic": 3, "high_value": 2}


async def set_weighted_policy(client: httpx.AsyncClient, *rules: dict[str, Any], **top: Any) -> int:
    """``set_policy`` with strategic and high-value customers weighted (unless said otherwise)."""
    return await set_policy(client, *rules, **{"segment_weights": WEIGHTS, **top})


async def put_owned_customer(
    client: httpx.AsyncClient,
    customer_id: str,
    *,
    rep: str | None = REP,
    team: str | None = TEAM,
    **fields: Any,
) -> None:
    """A profile owned by ``rep`` of ``team`` (the rep of these tests unless said otherwise)."""
    await put_customer(client, customer_id, **{"owner": {"rep_id": rep, "team": team}, **fields})


async def contacted(
    client: httpx.AsyncClient, customer_id: str, days_ago: float, **fields: Any
) -> None:
    """A customer of the rep's, last contacted (outbound) that many days ago."""
    await put_owned_customer(client, customer_id, **fields)
    await touch(client, NOW - days_ago * DAY, customer_id=customer_id)


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/follow-ups", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"items", "next_cursor"}
    return body


async def queue(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every item of the queue, page after page."""
    return await listing(client, "/v1/follow-ups", **params)


async def ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["customer_id"] for item in await queue(client, **params)]


async def a_mixed_book(client: httpx.AsyncClient, clock: FixedClock) -> None:
    """The rep's customers: overdue, due (of three segment weights), on track, suppressed."""
    await set_weighted_policy(client)
    await contacted(client, "due-standard", 10)  # due since NOW-3d
    await contacted(client, "overdue-standard", 20)  # overdue since NOW-6d
    await contacted(client, "on-track", 1)  # due at NOW+6d
    await contacted(client, "soon", 5)  # due at NOW+2d
    await contacted(client, "due-strategic", 8, segment="strategic")  # due since NOW-1d
    await contacted(client, "overdue-strategic", 30, segment="strategic")
    await contacted(client, "due-high-value", 9, segment="high_value")  # due since NOW-2d
    await put_owned_customer(client, "paused", preferences={"paused_until": z(NOW + 30 * DAY)})
    await contacted(client, "opted-out", 20, preferences={"opted_out_channels": ["all"]})
    await contacted(client, "other-reps", 20, rep="rep-2", team="south")
    clock.set(NOW - 2 * DAY)
    await put_owned_customer(client, "never-contacted")  # due since NOW-2d
    clock.set(NOW)


BAD_PARAMETER_IDS = [
    "bad-rep", "bad-team", "status-on-track", "status-suppressed", "due-before-naive",
    "due-before-garbage", "limit-0", "limit-501", "bad-cursor",
]  # fmt: skip
QUEUE = [
    "overdue-strategic",
    "overdue-standard",
    "due-strategic",
    "due-high-value",
    "due-standard",
    "never-contacted",
]


class TestFollowUpsScope:
    async def test_an_owner_rep_or_team_is_required(self, admin: httpx.AsyncClient) -> None:
        body = assert_problem(await admin.get("/v1/follow-ups"), 422)
        assert body["errors"]
        assert all(error["loc"][0] == "query" for error in body["errors"])
        assert_problem(await admin.get("/v1/follow-ups", params={"status": "due"}), 422)

    async def test_a_reps_queue_holds_only_that_reps_customers(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "mine", 10)
        await contacted(admin, "theirs", 10, rep="rep-2")
        assert await ids(admin, owner_rep=REP) == ["mine"]
        assert await ids(admin, owner_rep="rep-2") == ["theirs"]

    async def test_a_teams_queue_holds_every_customer_of_the_team(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "a", 10, rep="rep-1")
        await contacted(admin, "b", 11, rep="rep-2")
        await contacted(admin, "c", 12, rep="rep-3", team="south")
        await contacted(admin, "d", 13, rep=None)
        assert sorted(await ids(admin, team=TEAM)) == ["a", "b", "d"]

    async def test_owner_rep_and_team_together_narrow_the_queue(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "a", 10, rep="rep-1")
        await contacted(admin, "b", 11, rep="rep-1", team="south")
        assert await ids(admin, owner_rep="rep-1", team=TEAM) == ["a"]

    async def test_an_unknown_rep_has_an_empty_queue(self, admin: httpx.AsyncClient) -> None:
        assert await page(admin, owner_rep="nobody") == {"items": [], "next_cursor": None}

    @pytest.mark.parametrize(
        "params",
        [
            {"owner_rep": "bad rep!"},
            {"team": "North Sales"},
            {"owner_rep": REP, "status": "on_track"},
            {"owner_rep": REP, "status": "suppressed"},
            {"owner_rep": REP, "due_before": "2026-11-25T00:00:00"},
            {"owner_rep": REP, "due_before": "tomorrow"},
            {"owner_rep": REP, "limit": 0},
            {"owner_rep": REP, "limit": 501},
            {"owner_rep": REP, "cursor": "not-a-cursor"},
        ],
        ids=BAD_PARAMETER_IDS,
    )
    async def test_a_bad_parameter_is_rejected(
        self, admin: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        body = assert_problem(await admin.get("/v1/follow-ups", params=params), 422)
        assert body["errors"]


class TestFollowUpsContent:
    async def test_the_queue_holds_customers_due_and_overdue_not_on_track_or_suppressed(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        assert sorted(await ids(admin, owner_rep=REP)) == sorted(QUEUE)

    async def test_items_carry_the_documented_fields(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        items = {item["customer_id"]: item for item in await queue(admin, owner_rep=REP)}
        for item in items.values():
            assert set(item) >= ITEM_FIELDS
            assert item["owner"] == {"rep_id": REP, "team": TEAM}
            assert item["rule"] == "main"
        assert items["due-strategic"]["segment"] == "strategic"
        assert items["due-standard"]["segment"] is None
        assert items["due-standard"]["status"] == "due"
        assert items["due-standard"]["due_at"] == z(NOW + 7 * DAY - 10 * DAY)
        assert items["due-standard"]["overdue_at"] == z(NOW + 14 * DAY - 10 * DAY)
        assert items["overdue-standard"]["status"] == "overdue"
        assert items["never-contacted"]["status"] == "due"
        assert items["never-contacted"]["due_at"] == z(NOW - 2 * DAY)
        assert items["never-contacted"]["overdue_at"] is None

    async def test_the_queue_is_ordered_overdue_first_then_by_weight_then_by_due_at(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        assert await ids(admin, owner_rep=REP) == QUEUE

    async def test_status_due_keeps_exactly_the_due(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        items = await queue(admin, owner_rep=REP, status="due")
        assert [item["customer_id"] for item in items] == QUEUE[2:]
        assert {item["status"] for item in items} == {"due"}

    async def test_status_overdue_keeps_exactly_the_overdue(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        items = await queue(admin, owner_rep=REP, status="overdue")
        assert [item["customer_id"] for item in items] == QUEUE[:2]
        assert {item["status"] for item in items} == {"overdue"}

    async def test_due_before_adds_the_customers_due_before_it(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        items = await queue(admin, owner_rep=REP, due_before=z(NOW + 3 * DAY))
        assert [item["customer_id"] for item in items] == [*QUEUE, "soon"]
        assert items[-1]["status"] == "on_track"
        assert items[-1]["due_at"] == z(NOW + 2 * DAY)

    async def test_due_before_with_an_offset_is_read_as_that_instant(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "soon", 5)  # due at NOW+2d = 2026-11-22T03:00Z
        inside = await ids(admin, owner_rep=REP, due_before="2026-11-22T12:00:00+08:00")
        assert inside == ["soon"]
        outside = await ids(admin, owner_rep=REP, due_before="2026-11-22T10:00:00+08:00")
        assert outside == []

    async def test_due_before_with_status_due_leaves_out_customers_not_yet_due(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        items = await queue(admin, owner_rep=REP, status="due", due_before=z(NOW + 3 * DAY))
        assert [item["customer_id"] for item in items] == QUEUE[2:]

    async def test_an_over_contacted_customer_past_due_stays_in_the_queue(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await put_owned_customer(admin, "c-1")
        await touch(admin, NOW - 10 * DAY)
        await touch(admin, NOW - DAY, kind="engagement", outcome="unsubscribed")
        [item] = await queue(admin, owner_rep=REP)
        assert item["due_at"] == z(NOW - 3 * DAY)
        assert item["status"] == "over_contacted"
        assert item["status"] == (await status(admin, "c-1"))["status"]
        assert await queue(admin, owner_rep=REP, status="due") == []

    async def test_every_item_agrees_with_the_customers_status(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        for item in await queue(admin, owner_rep=REP):
            state = await status(admin, item["customer_id"])
            assert item["status"] == state["status"], item
            assert item["due_at"] == state["next_follow_up"]["due_at"], item
            assert item["overdue_at"] == state["next_follow_up"]["overdue_at"], item
            assert item["rule"] == state["rule"], item


class TestFollowUpsOverTime:
    async def test_time_passing_brings_customers_into_the_queue(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "c-1", 1)
        assert await ids(admin, owner_rep=REP) == []
        clock.set(NOW + 6 * DAY - timedelta(seconds=1))
        assert await ids(admin, owner_rep=REP) == []
        clock.set(NOW + 6 * DAY)
        [item] = await queue(admin, owner_rep=REP)
        assert (item["customer_id"], item["status"]) == ("c-1", "due")
        clock.set(NOW + 13 * DAY)
        [item] = await queue(admin, owner_rep=REP)
        assert item["status"] == "overdue"

    async def test_a_due_customer_overtakes_when_it_becomes_overdue(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "heavy", 8, segment="strategic")  # overdue at NOW+6d
        await contacted(admin, "light", 12)  # overdue at NOW+2d
        assert await ids(admin, owner_rep=REP) == ["heavy", "light"]
        clock.set(NOW + 2 * DAY)
        assert await ids(admin, owner_rep=REP) == ["light", "heavy"]
        assert await ids(admin, owner_rep=REP, status="overdue") == ["light"]
        clock.set(NOW + 6 * DAY)
        assert await ids(admin, owner_rep=REP) == ["heavy", "light"]
        assert await ids(admin, owner_rep=REP, status="due") == []

    async def test_the_end_of_a_pause_brings_the_customer_in(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "c-1", 20, preferences={"paused_until": z(NOW + 2 * DAY)})
        assert await ids(admin, owner_rep=REP) == []
        clock.set(NOW + 2 * DAY)
        [item] = await queue(admin, owner_rep=REP)
        assert item["customer_id"] == "c-1"
        assert item["status"] == (await status(admin, "c-1"))["status"]

    async def test_a_new_contact_takes_the_customer_out(self, admin: httpx.AsyncClient) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "c-1", 10)
        assert await ids(admin, owner_rep=REP) == ["c-1"]
        await touch(admin, NOW - HOUR, "phone")
        assert await ids(admin, owner_rep=REP) == []

    async def test_a_new_owner_moves_the_customer_to_the_new_reps_queue(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "c-1", 10)
        response = await admin.patch("/v1/customers/c-1", json={"owner": {"rep_id": "rep-2"}})
        assert response.status_code == 200, response.text
        assert await ids(admin, owner_rep=REP) == []
        assert await ids(admin, owner_rep="rep-2") == ["c-1"]

    async def test_a_new_policy_reorders_by_its_segment_weights(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "strategic", 8, segment="strategic")
        await contacted(admin, "standard", 9, segment="standard")
        assert await ids(admin, owner_rep=REP) == ["strategic", "standard"]
        await set_weighted_policy(admin, segment_weights={"standard": 5})
        assert await ids(admin, owner_rep=REP) == ["standard", "strategic"]


class TestFollowUpsPagination:
    @pytest.mark.parametrize("limit", [1, 2, 4, 5])
    async def test_pages_walk_the_whole_queue_in_order(
        self, admin: httpx.AsyncClient, clock: FixedClock, limit: int
    ) -> None:
        await a_mixed_book(admin, clock)
        assert await ids(admin, owner_rep=REP, limit=limit) == QUEUE

    async def test_a_page_holds_at_most_limit_items(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        first = await page(admin, owner_rep=REP, limit=4)
        assert len(first["items"]) == 4
        assert first["next_cursor"] is not None
        last = await page(admin, owner_rep=REP, limit=6)
        assert len(last["items"]) == 6
        assert last["next_cursor"] is None

    async def test_the_order_holds_while_time_passes_between_pages(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        seen: list[str] = []
        current = await page(admin, owner_rep=REP, limit=2)
        seen += [item["customer_id"] for item in current["items"]]
        for step in range(1, 10):
            if current["next_cursor"] is None:
                break
            clock.set(NOW + step * DAY)
            current = await page(admin, owner_rep=REP, limit=2, cursor=current["next_cursor"])
            seen += [item["customer_id"] for item in current["items"]]
        assert seen == QUEUE

    async def test_a_cursor_from_the_future_changes_no_stored_status(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        # A cursor is opaque but the client's to keep (or forge): a page read with one must
        # not leave the lists judging customers at the cursor's instant.
        await a_mixed_book(admin, clock)
        forged = ["2099-01-01T00:00:00+00:00", 0, 1.0, "2000-01-01T00:00:00+00:00", ""]
        response = await admin.get(
            "/v1/follow-ups", params={"owner_rep": REP, "cursor": encode_cursor(forged)}
        )
        assert response.status_code in (200, 422), response.text
        assert await ids(admin, owner_rep=REP) == QUEUE
        paused = await admin.get("/v1/statuses", params={"status": "suppressed"})
        assert sorted(item["customer_id"] for item in paused.json()["items"]) == [
            "opted-out",
            "paused",
        ]

    async def test_a_cursor_with_a_time_without_offset_is_rejected(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        await set_weighted_policy(admin, rule(follow_up_days=8, overdue_after_days=15))
        forged = ["2026-11-20T03:00:00", 0, 1.0, "2026-11-20T03:00:00", "a"]
        response = await admin.get(
            "/v1/follow-ups", params={"owner_rep": REP, "cursor": encode_cursor(forged)}
        )
        body = assert_problem(response, 422)
        assert ["query", "cursor"] in [error["loc"] for error in body["errors"]]

    async def test_the_filters_hold_across_pages(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await a_mixed_book(admin, clock)
        assert await ids(admin, owner_rep=REP, status="due", limit=1) == QUEUE[2:]
        assert await ids(admin, team=TEAM, status="overdue", limit=1) == QUEUE[:2]

    async def test_many_customers_page_without_repeats_or_gaps(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_weighted_policy(admin)
        touches = [
            {
                "customer_id": f"c-{i:03d}",
                "channel": "email",
                "occurred_at": z(NOW - (8 + i % 10) * DAY - i * timedelta(minutes=1)),
                "source": "crm",
                "external_id": f"e-{i}",
            }
            for i in range(120)
        ]
        response = await admin.post("/v1/touches/batch", json={"touches": touches})
        assert response.status_code == 200, response.text
        for i in range(120):
            segment = ["strategic", "high_value", "standard"][i % 3]
            body = {"owner": {"rep_id": REP}, "segment": segment}
            assert (await admin.put(f"/v1/customers/c-{i:03d}", json=body)).status_code == 200
        whole = await ids(admin, owner_rep=REP, limit=500)
        assert sorted(whole) == sorted(f"c-{i:03d}" for i in range(120))
        assert await ids(admin, owner_rep=REP, limit=7) == whole


class TestFollowUpsAccess:
    @pytest.mark.parametrize("role", ["admin", "ingest", "read"])
    async def test_these_roles_may_read_a_queue(self, tenant: Tenant, role: str) -> None:
        client = await tenant.client(role)
        response = await client.get("/v1/follow-ups", params={"owner_rep": REP})
        assert response.status_code == 200, response.text

    async def test_a_partner_may_not(self, tenant: Tenant) -> None:
        partner = await tenant.client("partner", "p-1")
        assert_problem(await partner.get("/v1/follow-ups", params={"owner_rep": REP}), 403)
        assert_problem(await partner.get("/v1/follow-ups"), 403)

    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.get("/v1/follow-ups", params={"owner_rep": REP}), 401)
        assert_problem(await anonymous.get("/v1/follow-ups"), 401)

    async def test_another_tenants_customers_are_not_in_the_queue(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await set_weighted_policy(admin)
        await contacted(admin, "c-1", 10)
        theirs = await other_tenant.client("admin")
        assert await ids(theirs, owner_rep=REP) == []
        assert await ids(admin, owner_rep=REP) == ["c-1"]
