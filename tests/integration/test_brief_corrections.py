"""Contract revision 1.1's corrections of the cadence, over HTTP with hand-computed instants:
engagements judged at their own instant, open rates that leave out the last 48 hours, the
customer's own cap counting automated sends, rules that do not let automated sends reset
their clock, official make-up working days, and rules by contact ordinal."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FixedClock
from tests.conftest import NOW
from tests.integration.helpers import (
    assert_problem,
    codes,
    put_customer,
    rule,
    set_policy,
    status,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SH = "Asia/Shanghai"


async def email(client: httpx.AsyncClient, at: datetime, external_id: str, **fields: Any) -> None:
    await touch(client, at, "email", external_id=external_id, **fields)


async def opened(
    client: httpx.AsyncClient, at: datetime, ref: str, outcome: str = "opened"
) -> None:
    await touch(
        client, at, "email", kind="engagement", outcome=outcome, ref_external_id=ref,
        external_id=f"{outcome}-{ref}-{at.timestamp()}",
    )  # fmt: skip


class TestEngagementsAtTheirOwnInstant:
    async def test_a_past_status_does_not_see_a_later_open(self, admin: httpx.AsyncClient) -> None:
        """Emails of 1, 2 and 3 November, two opened on 15 November: on 10 November none was
        opened yet (the 1st and 2nd lie in a run of day counts, the 3rd in a part of a day)."""
        await set_policy(admin)
        for day in (1, 2, 3):
            await email(admin, datetime(2026, 11, day, 9, tzinfo=UTC), f"m-{day}")
        await opened(admin, datetime(2026, 11, 15, 8, tzinfo=UTC), "m-1")
        await opened(admin, datetime(2026, 11, 15, 8, tzinfo=UTC), "m-3", "clicked")
        before = await status(admin, as_of=datetime(2026, 11, 10, 3, tzinfo=UTC))
        assert before["fatigue"]["open_rate_recent"] == 0.0
        after = await status(admin, as_of=datetime(2026, 11, 16, 3, tzinfo=UTC))
        assert after["fatigue"]["open_rate_recent"] == 0.6667
        assert (await status(admin))["fatigue"]["open_rate_recent"] == 0.6667

    async def test_an_earlier_open_that_arrives_late_moves_the_instant_back(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        for day in (1, 2, 3):
            await email(admin, datetime(2026, 11, day, 9, tzinfo=UTC), f"m-{day}")
        await opened(admin, datetime(2026, 11, 15, 8, tzinfo=UTC), "m-2", "clicked")
        await opened(admin, datetime(2026, 11, 12, 8, tzinfo=UTC), "m-2")
        on_13th = await status(admin, as_of=datetime(2026, 11, 13, 3, tzinfo=UTC))
        assert on_13th["fatigue"]["open_rate_recent"] == 0.3333
        on_11th = await status(admin, as_of=datetime(2026, 11, 11, 3, tzinfo=UTC))
        assert on_11th["fatigue"]["open_rate_recent"] == 0.0

    async def test_an_open_stored_before_its_email_keeps_its_instant(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await opened(admin, datetime(2026, 11, 12, 8, tzinfo=UTC), "m-1")
        for day in (1, 2, 3):
            await email(admin, datetime(2026, 11, day, 9, tzinfo=UTC), f"m-{day}")
        on_11th = await status(admin, as_of=datetime(2026, 11, 11, 3, tzinfo=UTC))
        assert on_11th["fatigue"]["open_rate_recent"] == 0.0
        assert (await status(admin))["fatigue"]["open_rate_recent"] == 0.3333


class TestOpenRatesLeaveOutTheLast48Hours:
    async def test_emails_sent_this_morning_are_no_falling_engagement(
        self, admin: httpx.AsyncClient
    ) -> None:
        """Three opened emails in the 60 days before, three sent in the last hours: the
        new ones are not judged yet, so engagement is not falling."""
        await set_policy(admin)
        for days in (40, 41, 42):
            await email(admin, NOW - days * DAY, f"old-{days}")
            await opened(admin, NOW - days * DAY + HOUR, f"old-{days}")
        for hours in (1, 3, 5):
            await email(admin, NOW - hours * HOUR, f"new-{hours}")
        now = await status(admin)
        assert now["fatigue"]["open_rate_before"] == 1.0
        assert now["fatigue"]["open_rate_recent"] is None
        assert now["status"] != "over_contacted"
        # two days on, still unopened: now they are judged, and engagement is falling
        later = await status(admin, as_of=NOW + 2 * DAY)
        assert later["fatigue"]["open_rate_recent"] == 0.0
        assert later["status"] == "over_contacted"
        assert "falling_engagement" in codes(later)

    async def test_an_email_exactly_48_hours_old_is_judged(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await email(admin, NOW - 2 * DAY, "a")
        await email(admin, NOW - 3 * DAY, "b")
        await email(admin, NOW - 2 * DAY + HOUR, "young")
        assert (await status(admin))["fatigue"]["open_rate_recent"] is None  # 2 judged
        await email(admin, NOW - 4 * DAY, "c")
        assert (await status(admin))["fatigue"]["open_rate_recent"] == 0.0


class TestAutomatedContacts:
    async def test_the_customers_own_cap_counts_automated_contacts(
        self, admin: httpx.AsyncClient
    ) -> None:
        """Ten newsletters do not slip through a cap of 2 the customer set."""
        await set_policy(admin, rule(count_automated=False, caps=[{"window_days": 7, "max": 5}]))
        await put_customer(admin, preferences={"max_contacts_per_30d": 2})
        for days in range(1, 11):
            await touch(admin, NOW - days * DAY, automated=True)
        state = await status(admin)
        caps = {c["window_days"]: (c["used"], c["max"]) for c in state["caps"]}
        assert caps == {7: (0, 5), 30: (10, 2)}
        assert state["status"] == "over_contacted"
        assert "cap_exceeded" in codes(state)

    async def test_newsletters_do_not_keep_a_negotiation_on_track(
        self, admin: httpx.AsyncClient
    ) -> None:
        negotiation = rule(
            name="negotiation", follow_up_days=3, overdue_after_days=5, min_gap_hours=24,
            count_automated=False,
        )  # fmt: skip
        await set_policy(admin, negotiation)
        await put_customer(admin)
        await touch(admin, NOW - 5 * DAY, "phone")
        for days in (4, 3, 2):
            await touch(admin, NOW - days * DAY, automated=True)
        state = await status(admin)
        assert state["status"] == "overdue"
        assert state["last_contact_at"] == z(NOW - 2 * DAY)  # newsletters still show here
        assert state["counts"]["7d"]["total"] == 4
        follow_up = state["next_follow_up"]
        assert follow_up["counted_from"] == z(NOW - 5 * DAY)
        assert follow_up["due_at"] == z(NOW - 2 * DAY)
        assert follow_up["overdue_at"] == z(NOW)
        assert follow_up["earliest_at"] == z(NOW - 4 * DAY)  # no gap after a newsletter
        # an automated send starts no gap either: a call right now is allowed
        body = {"customer_id": "c-1", "channel": "phone", "at": z(NOW - 2 * DAY + HOUR)}
        check = (await admin.post("/v1/conflict-checks", json=body)).json()
        assert "min_gap" not in codes(check)

    async def test_with_only_automated_contacts_the_rule_has_never_contacted(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(count_automated=False))
        await put_customer(admin)
        await touch(admin, NOW - DAY, automated=True)
        state = await status(admin)
        assert state["status"] == "due"
        assert codes(state) == ["never_contacted"]
        assert state["next_follow_up"]["counted_from"] is None
        assert state["next_follow_up"]["overdue_at"] is None
        assert state["last_contact_at"] == z(NOW - DAY)
        listed = await admin.get("/v1/statuses", params={"status": "due"})
        assert [i["customer_id"] for i in listed.json()["items"]] == ["c-1"]

    async def test_a_rule_counting_automated_contacts_runs_from_the_last_of_any(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(follow_up_days=3, overdue_after_days=5))
        await put_customer(admin)
        await touch(admin, NOW - 5 * DAY, "phone")
        await touch(admin, NOW - 2 * DAY, automated=True)
        follow_up = (await status(admin))["next_follow_up"]
        assert follow_up["counted_from"] == z(NOW - 2 * DAY)
        assert follow_up["due_at"] == z(NOW + DAY)


CN_OFFICE = {
    "timezone": SH,
    "business_days": {"weekdays": [1, 2, 3, 4, 5], "holidays_country": "CN"},
}


def shanghai(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour - 8, tzinfo=UTC)


class TestOfficialMakeUpWorkingDays:
    async def check(self, client: httpx.AsyncClient, at: datetime) -> dict[str, Any]:
        body = {"customer_id": "c-1", "channel": "phone", "at": z(at)}
        response = await client.post("/v1/conflict-checks", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def test_a_make_up_saturday_is_a_business_day_in_china(
        self, admin: httpx.AsyncClient
    ) -> None:
        """调休 2026: Saturday 14 February is a working day; Saturday 21 February is not, and
        the Spring Festival holidays run to Monday 23 February."""
        await set_policy(admin, **CN_OFFICE)
        await put_customer(admin)
        assert (await self.check(admin, shanghai(2, 14, 10)))["decision"] == "allow"
        for day in (17, 21):
            result = await self.check(admin, shanghai(2, day, 10))
            assert codes(result) == ["non_business_day"]
            assert result["reasons"][0]["until"] == "2026-02-23T16:00:00Z"  # 24 Feb, 00:00

    async def test_the_follow_up_counts_a_make_up_saturday(self, admin: httpx.AsyncClient) -> None:
        """From Friday 13 February, one business day later is the make-up Saturday."""
        await set_policy(admin, rule(follow_up_days=1, overdue_after_days=2), **CN_OFFICE)
        await put_customer(admin)
        await touch(admin, shanghai(2, 13, 10), "phone")
        follow_up = (await status(admin, as_of=shanghai(2, 13, 11)))["next_follow_up"]
        assert follow_up["due_at"] == z(shanghai(2, 14, 10))
        assert follow_up["overdue_at"] == z(shanghai(2, 24, 10))


class TestRulesByContactOrdinal:
    POLICY = (
        rule(name="second_call", match={"stage": ["lead"], "outbound_in_stage_lt": 2},
             follow_up_days=3, overdue_after_days=5),
        rule(name="seasoned", match={"stage": ["lead"], "outbound_in_stage_gte": 3}),
        rule(name="rest", follow_up_days=10, overdue_after_days=20),
    )  # fmt: skip

    async def test_the_rule_follows_the_outbound_personal_contacts_of_the_stage(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_policy(admin, *self.POLICY)
        clock.set(NOW - 10 * DAY)
        await put_customer(admin, stage="lead")
        clock.set(NOW)
        assert (await status(admin))["rule"] == "second_call"
        await touch(admin, NOW - 3 * DAY, "phone")
        await touch(admin, NOW - 3 * DAY + HOUR, direction="inbound")  # not outbound
        await touch(admin, NOW - 3 * DAY + 2 * HOUR, automated=True)  # not personal
        state = await status(admin)
        assert state["rule"] == "second_call"  # it counts automated contacts on its clock
        assert state["next_follow_up"]["due_at"] == z(NOW + 2 * HOUR)
        await touch(admin, NOW - 2 * DAY, "phone")
        assert (await status(admin))["rule"] == "rest"
        await touch(admin, NOW - DAY, "phone")
        assert (await status(admin))["rule"] == "seasoned"
        # at a past instant only the contacts up to it count
        assert (await status(admin, as_of=NOW - 2 * DAY - HOUR))["rule"] == "second_call"

    async def test_contacts_before_the_stage_began_do_not_count(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_policy(admin, *self.POLICY)
        clock.set(NOW - 10 * DAY)
        await put_customer(admin, stage="prospect")
        clock.set(NOW - 6 * DAY)
        for days in (9, 8, 7):
            await touch(admin, NOW - days * DAY, "phone")
        clock.set(NOW - 5 * DAY)
        response = await admin.patch("/v1/customers/c-1", json={"stage": "lead"})
        assert response.status_code == 200, response.text
        clock.set(NOW)
        assert (await status(admin))["rule"] == "second_call"
        listed = await admin.get("/v1/statuses", params={"stage": "lead"})
        assert [i["rule"] for i in listed.json()["items"]] == ["second_call"]

    @pytest.mark.parametrize("value", [-1, 1001, "two", 1.5])
    async def test_a_bad_ordinal_is_refused(self, admin: httpx.AsyncClient, value: Any) -> None:
        bad = rule(name="leads", match={"stage": ["lead"], "outbound_in_stage_lt": value})
        response = await admin.put("/v1/policy", json={"rules": [bad, rule()]})
        body = assert_problem(response, 422)
        locs = [e["loc"] for e in body["errors"]]
        assert ["body", "rules", 0, "match", "outbound_in_stage_lt"] in locs

    async def test_the_policy_keeps_the_ordinal_keys(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, *self.POLICY)
        policy = (await admin.get("/v1/policy")).json()
        assert policy["rules"][0]["match"]["outbound_in_stage_lt"] == 2
        assert policy["rules"][1]["match"]["outbound_in_stage_gte"] == 3
        assert policy["rules"][2]["match"]["outbound_in_stage_lt"] is None
