"""Frequency status: GET /v1/customers/{id}/status and /next-follow-up, checked by hand
against small explicit policies."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FixedClock
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    codes,
    put_customer,
    rule,
    set_policy,
    status,
    touch,
    utc,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
WELL_KNOWN = [
    "phone", "email", "sms", "im", "meeting", "video", "visit", "webinar", "event", "social",
    "ad", "web", "chat", "letter", "other",
]  # fmt: skip
STATUS_FIELDS = {
    "customer_id", "as_of", "policy_version", "rule", "status", "contactable_now", "reasons",
    "last_contact_at", "last_outbound_at", "last_inbound_at", "counts", "caps", "targets",
    "fatigue", "next_follow_up",
}  # fmt: skip
NEXT_FIELDS = {"due_at", "earliest_at", "overdue_at", "channel", "reason", "counted_from"}


def reason(state: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in state["reasons"] if r["code"] == code]
    assert found, (code, state["reasons"])
    return found[0]


class TestStatusShape:
    async def test_every_field_is_present(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1")
        state = await status(admin, "c-1")
        assert set(state) >= STATUS_FIELDS
        assert set(state["next_follow_up"]) >= NEXT_FIELDS
        assert set(state["counts"]) == {"7d", "30d", "90d"}
        for window in state["counts"].values():
            assert set(window) >= {"total", "by_channel"}
        assert set(state["fatigue"]) >= {
            "unsubscribed_channels", "complaints_90d", "open_rate_recent", "open_rate_before",
        }  # fmt: skip
        assert state["customer_id"] == "c-1"

    async def test_as_of_defaults_to_now_in_utc(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1")
        assert (await status(admin, "c-1"))["as_of"] == z(NOW)

    async def test_as_of_is_echoed_in_utc(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1")
        params = {"as_of": "2026-11-21T09:30:00+08:00"}
        response = await admin.get("/v1/customers/c-1/status", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["as_of"] == "2026-11-21T01:30:00Z"

    async def test_the_policy_version_and_rule_are_named(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1", stage="lead")
        assert (await status(admin, "c-1"))["policy_version"] == 0
        version = await set_policy(
            admin, rule(name="leads", match={"stage": ["lead"]}), rule(name="rest")
        )
        state = await status(admin, "c-1")
        assert state["policy_version"] == version == 1
        assert state["rule"] == "leads"

    async def test_the_default_policy_applies_its_negotiation_rule(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", stage="negotiation")
        await touch(admin, NOW - DAY, "meeting")
        state = await status(admin, "c-1")
        days = (utc(state["next_follow_up"]["due_at"]) - (NOW - DAY)) / DAY
        assert 3 <= days <= 5


class TestDefaultCadences:
    """The built-in policy follows the brief's table, resolving its disagreements as the
    brief decides."""

    @pytest.mark.parametrize(
        ("profile", "stage_age_days", "low", "high"),
        [
            pytest.param({"stage": "lead", "industry": "fmcg"}, 60, 2, 4, id="fmcg-prospect"),
            pytest.param(
                {"stage": "lead", "industry": "industrial"}, 60, 15, 30, id="industrial-prospect"
            ),
            pytest.param({"stage": "lead", "market": "b2c"}, 60, 21, 28, id="b2c-prospect"),
            pytest.param(
                {"stage": "lead", "industry": "fmcg", "market": "b2c"},
                60,
                2,
                4,
                id="industry-before-market",
            ),
            pytest.param({"stage": "lead"}, 1, 3, 5, id="new-prospect"),
            pytest.param({"stage": "lead"}, 60, 7, 10, id="lead-generation"),
            pytest.param({"stage": "opportunity"}, 1, 5, 7, id="opportunity"),
            pytest.param({"stage": "negotiation"}, 1, 3, 5, id="negotiation"),
            pytest.param({"stage": "customer"}, 1, 7, 7, id="onboarding"),
            pytest.param({"stage": "loyal"}, 200, 90, 90, id="loyal-quarterly"),
            pytest.param(
                {"stage": "customer", "segment": "high_value"}, 200, 30, 30, id="core-monthly"
            ),
            pytest.param(
                {"stage": "customer", "segment": "high_value", "market": "b2b"},
                200,
                10,
                10,
                id="high-value-b2b",
            ),
            pytest.param({"stage": "dormant", "segment": "high_value"}, 200, 90, 90, id="win-back"),
            pytest.param({"segment": "strategic"}, 200, 7, 14, id="strategic-fortnightly"),
            pytest.param({}, 1, 30, 30, id="anyone-else-monthly"),
        ],
    )
    async def test_the_follow_up_cycle_matches_the_brief(
        self,
        admin: httpx.AsyncClient,
        clock: FixedClock,
        profile: dict[str, Any],
        stage_age_days: int,
        low: int,
        high: int,
    ) -> None:
        clock.set(NOW - stage_age_days * DAY)
        await put_customer(admin, "c-1", **profile)
        clock.set(NOW)
        # a second contact: a new prospect's first is followed up in 3 days (below)
        await touch(admin, NOW - 2 * HOUR, "phone")
        await touch(admin, NOW - HOUR, "phone")
        state = await status(admin, "c-1")
        assert state["policy_version"] == 0
        cycle = (utc(state["next_follow_up"]["due_at"]) - (NOW - HOUR)) / DAY
        assert low <= cycle <= high, (state["rule"], cycle)
        overdue_at = state["next_follow_up"]["overdue_at"]
        assert utc(overdue_at) > utc(state["next_follow_up"]["due_at"])

    @pytest.mark.parametrize("industry", [None, "industrial", "fmcg"])
    async def test_a_prospects_first_contact_is_followed_up_within_3_days(
        self, admin: httpx.AsyncClient, clock: FixedClock, industry: str | None
    ) -> None:
        """[1.1] "second contact within 3 days of the first", however old the stage."""
        clock.set(NOW - 60 * DAY)
        await put_customer(admin, "c-1", stage="lead", industry=industry)
        clock.set(NOW)
        state = await status(admin, "c-1")
        assert (state["rule"], state["status"]) == ("second_contact", "due")
        await touch(admin, NOW - HOUR, "phone")
        state = await status(admin, "c-1")
        assert state["rule"] == "second_contact"
        assert state["next_follow_up"]["due_at"] == z(NOW - HOUR + 3 * DAY)
        await touch(admin, NOW - HOUR + MINUTE, "email", automated=True)
        assert (await status(admin, "c-1"))["rule"] == "second_contact"  # a newsletter is none
        await touch(admin, NOW, "phone")
        assert (await status(admin, "c-1"))["rule"] != "second_contact"


class TestNeverContacted:
    async def test_a_customer_never_contacted_is_due_since_it_was_created(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_policy(admin, rule(channel="phone"))
        clock.set(NOW - 3 * DAY)
        await put_customer(admin, "c-1")
        clock.set(NOW)
        state = await status(admin, "c-1")
        assert state["status"] == "due"
        assert "never_contacted" in codes(state)
        assert state["next_follow_up"]["due_at"] == z(NOW - 3 * DAY)
        assert state["next_follow_up"]["overdue_at"] is None
        assert state["next_follow_up"]["channel"] == "phone"
        assert state["last_contact_at"] is None
        assert state["last_outbound_at"] is None
        assert state["last_inbound_at"] is None

    async def test_a_customer_never_contacted_never_becomes_overdue(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1")
        state = await status(admin, "c-1", NOW + 400 * DAY)
        assert state["status"] == "due"
        assert "overdue" not in codes(state)

    async def test_a_customer_never_contacted_counts_nothing(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1")
        counts = (await status(admin, "c-1"))["counts"]
        for label in ("7d", "30d", "90d"):
            assert counts[label] == {"total": 0, "by_channel": {}}

    async def test_engagements_and_purchases_are_no_contact(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1")
        await touch(admin, NOW - DAY, kind="engagement", outcome="opened")
        await touch(admin, NOW - DAY, "web", kind="purchase", amount=10)
        state = await status(admin, "c-1")
        assert state["status"] == "due"
        assert "never_contacted" in codes(state)
        assert state["last_contact_at"] is None

    async def test_a_touch_for_an_unknown_customer_creates_one_due_since_then(
        self, admin: httpx.AsyncClient
    ) -> None:
        await touch(admin, NOW - 2 * DAY, customer_id="c-new", kind="engagement", outcome="opened")
        state = await status(admin, "c-new")
        assert state["status"] == "due"
        assert state["next_follow_up"]["due_at"] == z(NOW)


class TestAfterAContact:
    async def test_an_outbound_contact_puts_the_customer_on_track(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1")
        last = NOW - 2 * DAY
        await touch(admin, last)
        state = await status(admin, "c-1")
        assert state["status"] == "on_track"
        assert state["reasons"] == []
        assert state["last_contact_at"] == z(last)
        assert state["last_outbound_at"] == z(last)
        assert state["last_inbound_at"] is None
        assert state["next_follow_up"]["due_at"] == z(last + 7 * DAY)
        assert state["next_follow_up"]["overdue_at"] == z(last + 14 * DAY)

    async def test_the_customer_is_due_once_as_of_reaches_due_at(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        last = NOW - 2 * DAY
        await touch(admin, last)
        before = await status(admin, "c-1", last + 7 * DAY - timedelta(seconds=1))
        assert before["status"] == "on_track"
        at = await status(admin, "c-1", last + 7 * DAY)
        assert at["status"] == "due"
        assert codes(at) == ["due"]
        assert at["next_follow_up"]["due_at"] == z(last + 7 * DAY)

    async def test_the_customer_is_overdue_once_as_of_reaches_overdue_at(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        last = NOW - 2 * DAY
        await touch(admin, last)
        before = await status(admin, "c-1", last + 14 * DAY - timedelta(seconds=1))
        assert before["status"] == "due"
        at = await status(admin, "c-1", last + 14 * DAY)
        assert at["status"] == "overdue"
        assert codes(at) == ["overdue"]

    async def test_the_follow_up_is_not_moved_to_as_of(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        last = NOW - 2 * DAY
        await touch(admin, last)
        late = await status(admin, "c-1", NOW + 100 * DAY)
        assert late["next_follow_up"]["due_at"] == z(last + 7 * DAY)
        assert late["next_follow_up"]["overdue_at"] == z(last + 14 * DAY)

    async def test_a_contact_after_as_of_is_not_seen(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1")
        await touch(admin, NOW - 10 * DAY)
        await touch(admin, NOW - DAY)
        state = await status(admin, "c-1", NOW - 5 * DAY)
        assert state["last_contact_at"] == z(NOW - 10 * DAY)
        assert state["counts"]["7d"]["total"] == 1
        assert state["counts"]["90d"]["total"] == 1

    async def test_a_contact_at_exactly_as_of_is_seen(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await touch(admin, NOW - DAY)
        state = await status(admin, "c-1", NOW - DAY)
        assert state["last_contact_at"] == z(NOW - DAY)
        assert state["counts"]["7d"]["total"] == 1

    async def test_as_of_before_the_profile_existed_is_answered(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1")
        await touch(admin, NOW - 10 * DAY)
        earlier = await status(admin, "c-1", NOW - 20 * DAY)
        assert earlier["status"] == "due"
        assert "never_contacted" in codes(earlier)
        assert earlier["counts"]["90d"]["total"] == 0
        assert earlier["next_follow_up"]["due_at"] == z(NOW)
        between = await status(admin, "c-1", NOW - 5 * DAY)
        assert between["status"] == "on_track"
        assert between["next_follow_up"]["due_at"] == z(NOW - 3 * DAY)

    async def test_as_of_years_away_is_answered(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await touch(admin, NOW - DAY)
        for as_of in (NOW - 3000 * DAY, NOW + 3000 * DAY):
            assert (await status(admin, "c-1", as_of))["as_of"] == z(as_of)

    async def test_an_as_of_in_the_year_100_is_answered(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, complaint_pause_days=3650)
        await touch(admin, NOW - DAY)
        response = await admin.get(
            "/v1/customers/c-1/status", params={"as_of": "0100-01-01T00:00:00Z"}
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "as_of",
        [
            "2026-11-20T03:00:00",
            "2026-11-20",
            "yesterday",
            "1763607600",
            "2026-13-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-05:00",
        ],
    )
    async def test_an_as_of_without_an_offset_or_not_an_instant_is_rejected(
        self, admin: httpx.AsyncClient, as_of: str
    ) -> None:
        await put_customer(admin, "c-1")
        response = await admin.get("/v1/customers/c-1/status", params={"as_of": as_of})
        body = assert_problem(response, 422)
        assert ["query", "as_of"] in [error["loc"] for error in body["errors"]]
        response = await admin.get("/v1/customers/c-1/next-follow-up", params={"as_of": as_of})
        assert_problem(response, 422)


class TestCounts:
    async def test_contacts_of_both_directions_are_counted_by_channel_and_window(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1")
        await touch(admin, NOW - HOUR, "email")
        await touch(admin, NOW - 3 * DAY, "phone", direction="inbound")
        await touch(admin, NOW - 10 * DAY, "sms", automated=True)
        await touch(admin, NOW - 45 * DAY, "email")
        await touch(admin, NOW - 89 * DAY, "wechat-work")
        await touch(admin, NOW - 91 * DAY, "email")
        counts = (await status(admin, "c-1"))["counts"]
        assert counts["7d"] == {"total": 2, "by_channel": {"email": 1, "phone": 1}}
        assert counts["30d"] == {"total": 3, "by_channel": {"email": 1, "phone": 1, "sms": 1}}
        assert counts["90d"] == {
            "total": 5,
            "by_channel": {"email": 2, "phone": 1, "sms": 1, "wechat-work": 1},
        }

    async def test_engagements_and_purchases_are_not_counted(
        self, admin: httpx.AsyncClient
    ) -> None:
        sent = await touch(admin, NOW - 2 * DAY, "email")
        await touch(
            admin, NOW - DAY, kind="engagement", outcome="opened",
            ref_external_id=sent["external_id"],
        )  # fmt: skip
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="replied")
        await touch(admin, NOW - DAY, "web", kind="purchase", amount=99.5)
        counts = (await status(admin, "c-1"))["counts"]
        for label in ("7d", "30d", "90d"):
            assert counts[label] == {"total": 1, "by_channel": {"email": 1}}

    async def test_a_window_excludes_its_start_and_includes_its_end(
        self, admin: httpx.AsyncClient
    ) -> None:
        as_of = NOW - 5 * HOUR - timedelta(minutes=17)
        await touch(admin, as_of - 7 * DAY, "email")
        await touch(admin, as_of - 7 * DAY + timedelta(seconds=1), "phone")
        await touch(admin, as_of - 30 * DAY, "sms")
        await touch(admin, as_of - 30 * DAY + timedelta(seconds=1), "im")
        await touch(admin, as_of - 90 * DAY, "visit")
        await touch(admin, as_of - 90 * DAY + timedelta(seconds=1), "letter")
        await touch(admin, as_of, "chat")
        await touch(admin, as_of + timedelta(seconds=1), "video")
        counts = (await status(admin, "c-1", as_of))["counts"]
        assert counts["7d"]["by_channel"] == {"chat": 1, "phone": 1}
        assert counts["30d"]["by_channel"] == {"chat": 1, "email": 1, "im": 1, "phone": 1}
        assert counts["90d"]["total"] == 6
        assert "visit" not in counts["90d"]["by_channel"]
        assert "video" not in counts["90d"]["by_channel"]

    async def test_several_contacts_a_day_are_each_counted(self, admin: httpx.AsyncClient) -> None:
        for minutes in range(5):
            await touch(admin, NOW - 20 * DAY + timedelta(minutes=minutes), "phone")
        await touch(admin, NOW - 20 * DAY, "email", direction="inbound")
        counts = (await status(admin, "c-1"))["counts"]
        assert counts["30d"] == {"total": 6, "by_channel": {"email": 1, "phone": 5}}
        assert counts["7d"] == {"total": 0, "by_channel": {}}

    async def test_a_duplicate_touch_is_counted_once(self, admin: httpx.AsyncClient) -> None:
        body = {
            "customer_id": "c-1",
            "channel": "email",
            "occurred_at": z(NOW - DAY),
            "source": "crm",
            "external_id": "once",
        }
        assert (await admin.post("/v1/touches", json=body)).status_code == 201
        assert (await admin.post("/v1/touches", json=body)).status_code == 200
        assert (await status(admin, "c-1"))["counts"]["7d"]["total"] == 1


class TestCaps:
    CAPPED = rule(follow_up_days=3, overdue_after_days=6, caps=[{"window_days": 7, "max": 2}])

    async def test_a_cap_with_room_left_reports_its_use(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, self.CAPPED)
        await touch(admin, NOW - 5 * DAY)
        state = await status(admin, "c-1")
        [cap] = state["caps"]
        assert cap["window_days"] == 7
        assert cap["max"] == 2
        assert cap["used"] == 1
        assert cap["remaining"] == 1
        assert cap["frees_at"] is None
        assert "cap_reached" not in codes(state)
        assert state["contactable_now"] is True

    async def test_a_reached_cap_frees_when_its_oldest_contact_leaves_the_window(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.CAPPED)
        await touch(admin, NOW - 5 * DAY)
        await touch(admin, NOW - 2 * DAY)
        state = await status(admin, "c-1")
        [cap] = state["caps"]
        assert cap["used"] == 2
        assert cap["remaining"] == 0
        assert cap["frees_at"] == z(NOW + 2 * DAY)
        assert reason(state, "cap_reached")["until"] == z(NOW + 2 * DAY)
        assert state["status"] == "on_track"
        assert state["contactable_now"] is False

    async def test_a_reached_cap_holds_the_follow_up_until_it_frees(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.CAPPED)
        await touch(admin, NOW - 5 * DAY)
        await touch(admin, NOW - 2 * DAY)
        follow_up = (await status(admin, "c-1"))["next_follow_up"]
        assert follow_up["earliest_at"] == z(NOW + 2 * DAY)
        assert follow_up["due_at"] == z(NOW + 2 * DAY)
        assert follow_up["overdue_at"] == z(NOW + 4 * DAY)

    async def test_a_reached_cap_frees_at_frees_at(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, self.CAPPED)
        await touch(admin, NOW - 5 * DAY)
        await touch(admin, NOW - 2 * DAY)
        before = await status(admin, "c-1", NOW + 2 * DAY - timedelta(seconds=1))
        assert before["caps"][0]["used"] == 2
        after = await status(admin, "c-1", NOW + 2 * DAY)
        assert after["caps"][0]["used"] == 1
        assert after["caps"][0]["frees_at"] is None
        assert "cap_reached" not in codes(after)

    async def test_an_exceeded_cap_makes_the_customer_over_contacted(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.CAPPED)
        for days in (5, 4, 2):
            await touch(admin, NOW - days * DAY)
        state = await status(admin, "c-1")
        [cap] = state["caps"]
        assert cap["used"] == 3
        assert cap["remaining"] == 0
        assert cap["frees_at"] == z(NOW + 3 * DAY)
        assert state["status"] == "over_contacted"
        assert "cap_exceeded" in codes(state)
        assert "cap_reached" not in codes(state)

    async def test_an_exceeded_cap_ends_when_enough_contacts_leave(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.CAPPED)
        for days in (5, 4, 2):
            await touch(admin, NOW - days * DAY)
        still = await status(admin, "c-1", NOW + 2 * DAY - timedelta(seconds=1))
        assert still["status"] == "over_contacted"
        reached = await status(admin, "c-1", NOW + 2 * DAY)
        assert reached["status"] != "over_contacted"
        assert "cap_reached" in codes(reached)
        assert reached["caps"][0]["frees_at"] == z(NOW + 3 * DAY)

    async def test_a_cap_frees_at_the_exact_time_of_a_contact_inside_a_day(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 30, "max": 1}]))
        await touch(admin, utc("2026-10-31T10:00:00Z"))
        await touch(admin, utc("2026-10-31T15:00:00Z"))
        state = await status(admin, "c-1")
        assert state["status"] == "over_contacted"
        assert state["caps"][0]["used"] == 2
        assert state["caps"][0]["frees_at"] == "2026-11-30T15:00:00Z"
        assert reason(state, "cap_exceeded")["until"] == "2026-11-30T10:00:00Z"
        between = await status(admin, "c-1", utc("2026-11-30T12:00:00Z"))
        assert between["status"] != "over_contacted"
        assert reason(between, "cap_reached")["until"] == "2026-11-30T15:00:00Z"

    async def test_a_cap_of_some_channels_counts_only_those(self, admin: httpx.AsyncClient) -> None:
        capped = rule(caps=[{"window_days": 7, "max": 2, "channels": ["email"]}])
        await set_policy(admin, capped)
        await touch(admin, NOW - 3 * DAY, "phone")
        await touch(admin, NOW - 2 * DAY, "phone")
        await touch(admin, NOW - DAY, "email")
        [cap] = (await status(admin, "c-1"))["caps"]
        assert cap["used"] == 1
        assert cap["remaining"] == 1

    async def test_a_channel_cap_does_not_block_other_channels(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1, "channels": ["email"]}]))
        await touch(admin, NOW - DAY, "email")
        state = await status(admin, "c-1")
        assert "cap_reached" in codes(state)
        assert state["contactable_now"] is True

    async def test_automated_contacts_are_ignored_when_count_automated_is_false(
        self, admin: httpx.AsyncClient
    ) -> None:
        manual = rule(count_automated=False, caps=[{"window_days": 7, "max": 2}])
        await set_policy(admin, manual)
        await touch(admin, NOW - 3 * DAY, automated=True)
        await touch(admin, NOW - 2 * DAY, automated=True)
        await touch(admin, NOW - DAY)
        state = await status(admin, "c-1")
        assert state["caps"][0]["used"] == 1
        assert state["counts"]["7d"]["total"] == 3

    async def test_automated_contacts_count_by_default(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 2}]))
        await touch(admin, NOW - 3 * DAY, automated=True)
        await touch(admin, NOW - 2 * DAY, automated=True)
        assert (await status(admin, "c-1"))["caps"][0]["used"] == 2

    async def test_the_profile_max_contacts_per_30d_is_an_extra_cap(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 5}]))
        await put_customer(admin, "c-1", preferences={"max_contacts_per_30d": 1})
        await touch(admin, NOW - 10 * DAY)
        state = await status(admin, "c-1")
        caps = {cap["window_days"]: cap for cap in state["caps"]}
        assert set(caps) == {7, 30}
        assert caps[7]["used"] == 0
        assert caps[30]["max"] == 1
        assert caps[30]["used"] == 1
        assert caps[30]["remaining"] == 0
        assert caps[30]["frees_at"] == z(NOW + 20 * DAY)
        assert reason(state, "cap_reached")["until"] == z(NOW + 20 * DAY)

    async def test_the_profile_cap_applies_without_rule_caps(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"max_contacts_per_30d": 1})
        await touch(admin, NOW - 3 * DAY)
        await touch(admin, NOW - 2 * DAY)
        state = await status(admin, "c-1")
        assert [(c["window_days"], c["max"], c["used"]) for c in state["caps"]] == [(30, 1, 2)]
        assert state["status"] == "over_contacted"
        assert "cap_exceeded" in codes(state)

    async def test_an_inbound_contact_uses_no_cap(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1}]))
        await touch(admin, NOW - DAY, "phone", direction="inbound")
        state = await status(admin, "c-1")
        assert state["caps"][0]["used"] == 0
        assert "cap_reached" not in codes(state)

    async def test_a_cap_of_zero_is_always_reached(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 0}]))
        await touch(admin, NOW - 30 * DAY)
        state = await status(admin, "c-1")
        assert state["caps"][0]["used"] == 0
        assert state["caps"][0]["remaining"] == 0
        assert "cap_reached" in codes(state)
        assert state["contactable_now"] is False


class TestMinimumGap:
    async def test_the_gap_sets_the_earliest_follow_up(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(follow_up_days=1, overdue_after_days=3, min_gap_hours=48))
        await touch(admin, NOW - 24 * HOUR)
        state = await status(admin, "c-1")
        assert state["next_follow_up"]["earliest_at"] == z(NOW + 24 * HOUR)
        assert state["next_follow_up"]["due_at"] == z(NOW + 24 * HOUR)
        assert state["contactable_now"] is False
        later = await status(admin, "c-1", NOW + 24 * HOUR)
        assert later["contactable_now"] is True

    async def test_an_inbound_contact_starts_no_gap(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await touch(admin, NOW - 72 * HOUR)
        await touch(admin, NOW - HOUR, "phone", direction="inbound")
        state = await status(admin, "c-1")
        assert state["next_follow_up"]["earliest_at"] == z(NOW - 24 * HOUR)
        assert state["contactable_now"] is True


class TestInboundContact:
    async def test_an_inbound_contact_resets_the_follow_up_clock(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 30, "max": 5}]))
        await touch(admin, NOW - 20 * DAY)
        assert (await status(admin, "c-1"))["status"] == "overdue"
        await touch(admin, NOW - DAY, "phone", direction="inbound")
        state = await status(admin, "c-1")
        assert state["status"] == "on_track"
        assert state["last_contact_at"] == z(NOW - DAY)
        assert state["last_inbound_at"] == z(NOW - DAY)
        assert state["last_outbound_at"] == z(NOW - 20 * DAY)
        assert state["next_follow_up"]["due_at"] == z(NOW + 6 * DAY)
        assert state["next_follow_up"]["overdue_at"] == z(NOW + 13 * DAY)
        assert state["caps"][0]["used"] == 1


class TestTargets:
    TARGETED = rule(
        follow_up_days=30,
        overdue_after_days=60,
        targets=[{"window_days": 30, "min": 2}, {"window_days": 30, "min": 1, "depth": "value"}],
    )

    async def test_unmet_targets_are_reported_with_a_reason_each(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.TARGETED)
        await touch(admin, NOW - 3 * DAY, depth="light")
        await touch(admin, NOW - 40 * DAY, depth="deep")
        state = await status(admin, "c-1")
        assert [(t["window_days"], t["min"], t["done"], t["met"]) for t in state["targets"]] == [
            (30, 2, 1, False),
            (30, 1, 0, False),
        ]
        assert codes(state).count("target_unmet") == 2

    async def test_unmet_targets_do_not_change_the_status(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, self.TARGETED)
        await touch(admin, NOW - 3 * DAY, depth="light")
        state = await status(admin, "c-1")
        assert state["status"] == "on_track"
        assert state["next_follow_up"]["due_at"] == z(NOW + 27 * DAY)

    async def test_targets_are_met_by_contacts_of_either_direction_deep_enough(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.TARGETED)
        await touch(admin, NOW - 3 * DAY, depth="light")
        await touch(admin, NOW - DAY, "phone", direction="inbound", depth="deep")
        state = await status(admin, "c-1")
        assert [(t["done"], t["met"]) for t in state["targets"]] == [(2, True), (1, True)]
        assert "target_unmet" not in codes(state)

    async def test_a_contact_without_depth_meets_no_depth_target(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, self.TARGETED)
        await touch(admin, NOW - 3 * DAY)
        await touch(admin, NOW - 2 * DAY)
        state = await status(admin, "c-1")
        assert [(t["done"], t["met"]) for t in state["targets"]] == [(2, True), (0, False)]
        assert codes(state) == ["target_unmet"]


class TestUnsubscribe:
    async def test_an_unsubscribe_opts_the_channel_out_of_the_profile(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", preferences={"opted_out_channels": ["sms"]})
        sent = await touch(admin, NOW - 3 * DAY, "email")
        await touch(
            admin, NOW - 2 * DAY, "email", kind="engagement", outcome="unsubscribed",
            ref_external_id=sent["external_id"],
        )  # fmt: skip
        profile = (await admin.get("/v1/customers/c-1")).json()
        assert sorted(profile["preferences"]["opted_out_channels"]) == ["email", "sms"]

    async def test_a_recent_unsubscribe_makes_the_customer_over_contacted(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"preferred_channels": ["email", "phone"]})
        await touch(admin, NOW - 3 * DAY, "email")
        await touch(admin, NOW - 2 * DAY, "email", kind="engagement", outcome="unsubscribed")
        state = await status(admin, "c-1")
        assert state["status"] == "over_contacted"
        assert reason(state, "recent_unsubscribe")["until"] == z(NOW + 28 * DAY)
        assert state["fatigue"]["unsubscribed_channels"] == ["email"]
        assert state["next_follow_up"]["channel"] == "phone"

    async def test_an_unsubscribe_stops_counting_after_fatigue_days(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(follow_up_days=60, overdue_after_days=90), fatigue_days=10)
        await touch(admin, NOW - 3 * DAY, "email")
        await touch(admin, NOW - 2 * DAY, "email", kind="engagement", outcome="unsubscribed")
        still = await status(admin, "c-1", NOW + 8 * DAY - timedelta(seconds=1))
        assert still["status"] == "over_contacted"
        after = await status(admin, "c-1", NOW + 8 * DAY)
        assert after["status"] == "on_track"
        assert "recent_unsubscribe" not in codes(after)


ONLY_EMAIL = {"opted_out_channels": [c for c in WELL_KNOWN if c != "email"]}


class TestComplaint:
    async def test_a_complaint_pauses_the_channel_it_came_from(
        self, admin: httpx.AsyncClient
    ) -> None:
        """[1.1] Apologise, and switch channel: the customer is over-contacted, not
        suppressed, and the follow-up turns to another channel."""
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"preferred_channels": ["email"]})
        await touch(admin, NOW - 2 * DAY, "email")
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        state = await status(admin, "c-1")
        assert state["status"] == "over_contacted"
        assert codes(state)[:2] == ["recent_complaint", "complaint_pause"]
        assert reason(state, "complaint_pause")["until"] == z(NOW + 89 * DAY)
        assert state["fatigue"]["complaints_90d"] == 1
        assert state["contactable_now"] is True
        assert state["next_follow_up"]["channel"] == "phone"
        assert utc(state["next_follow_up"]["earliest_at"]) < NOW

    async def test_a_complaint_about_the_only_channel_left_suppresses_the_customer(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences=ONLY_EMAIL)
        await touch(admin, NOW - 2 * DAY, "email")
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert reason(state, "complaint_pause")["until"] == z(NOW + 89 * DAY)
        assert "recent_complaint" in codes(state)
        assert state["contactable_now"] is False
        assert utc(state["next_follow_up"]["earliest_at"]) >= NOW + 89 * DAY

    async def test_the_complaint_pause_ends_after_complaint_pause_days(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, complaint_pause_days=10, fatigue_days=30)
        await put_customer(admin, "c-1", preferences=ONLY_EMAIL)
        await touch(admin, NOW - 2 * DAY, "email")
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        paused = await status(admin, "c-1", NOW + 9 * DAY - timedelta(seconds=1))
        assert paused["status"] == "suppressed"
        over = await status(admin, "c-1", NOW + 9 * DAY)
        assert over["status"] == "over_contacted"
        assert "recent_complaint" in codes(over)
        assert "complaint_pause" not in codes(over)
        done = await status(admin, "c-1", NOW + 29 * DAY)
        assert done["status"] not in ("suppressed", "over_contacted")

    async def test_a_complaint_pause_longer_than_a_year_is_kept(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, complaint_pause_days=500)
        await put_customer(admin, "c-1", preferences=ONLY_EMAIL)
        await touch(admin, NOW - 400 * DAY, kind="engagement", outcome="complained")
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert reason(state, "complaint_pause")["until"] == z(NOW + 100 * DAY)
        assert (await status(admin, "c-1", NOW + 100 * DAY))["status"] == "due"

    async def test_a_complaint_pause_holds_a_follow_up_on_its_channel(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, complaint_pause_days=10)
        await put_customer(
            admin, "c-1", preferences={**ONLY_EMAIL, "preferred_channels": ["email"]}
        )
        await touch(admin, NOW - 2 * DAY, "email")
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        follow_up = (await status(admin, "c-1"))["next_follow_up"]
        assert follow_up["channel"] == "email"
        assert follow_up["earliest_at"] == z(NOW + 9 * DAY)
        assert follow_up["due_at"] == z(NOW + 9 * DAY)


class TestPause:
    async def test_a_pause_in_the_future_suppresses_the_customer(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"paused_until": z(NOW + 6 * DAY)})
        await touch(admin, NOW - 2 * DAY)
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert reason(state, "paused")["until"] == z(NOW + 6 * DAY)
        assert state["contactable_now"] is False
        assert state["next_follow_up"]["earliest_at"] == z(NOW + 6 * DAY)
        assert state["next_follow_up"]["due_at"] == z(NOW + 6 * DAY)

    async def test_a_pause_ends_at_paused_until(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"paused_until": z(NOW + 6 * DAY)})
        await touch(admin, NOW - 2 * DAY)
        still = await status(admin, "c-1", NOW + 6 * DAY - timedelta(seconds=1))
        assert still["status"] == "suppressed"
        after = await status(admin, "c-1", NOW + 6 * DAY)
        assert after["status"] == "due"
        assert "paused" not in codes(after)

    async def test_a_pause_until_the_last_representable_instant_is_answered(
        self, admin: httpx.AsyncClient
    ) -> None:
        await touch(admin, NOW - DAY)
        body = {"preferences": {"paused_until": "9999-12-31T23:59:59Z"}}
        response = await admin.put("/v1/customers/c-1", json=body)
        assert response.status_code == 200, response.text
        assert (await status(admin, "c-1"))["status"] == "suppressed"

    async def test_a_past_pause_does_not_suppress(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"paused_until": z(NOW - DAY)})
        await touch(admin, NOW - 2 * DAY)
        state = await status(admin, "c-1")
        assert state["status"] == "on_track"
        assert state["next_follow_up"]["due_at"] == z(NOW + 5 * DAY)

    async def test_a_paused_customer_never_contacted_is_due_when_the_pause_ends(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin)
        await put_customer(admin, "c-1", preferences={"paused_until": z(NOW + 5 * DAY)})
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert state["next_follow_up"]["due_at"] == z(NOW + 5 * DAY)


class TestOptedOut:
    async def test_opting_out_of_all_suppresses_the_customer(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", preferences={"opted_out_channels": ["all"]})
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert "opted_out_all" in codes(state)
        assert state["contactable_now"] is False

    async def test_opting_out_of_every_well_known_channel_suppresses_the_customer(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", preferences={"opted_out_channels": WELL_KNOWN})
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert "opted_out_all" in codes(state)

    async def test_opting_out_of_some_channels_does_not_suppress(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", preferences={"opted_out_channels": WELL_KNOWN[1:]})
        state = await status(admin, "c-1")
        assert state["status"] == "due"
        assert "opted_out_all" not in codes(state)
        assert state["contactable_now"] is True

    async def test_unsubscribing_from_the_last_open_channel_suppresses(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "c-1", preferences={"opted_out_channels": WELL_KNOWN[1:]})
        await touch(admin, NOW - DAY, "phone", kind="engagement", outcome="unsubscribed")
        state = await status(admin, "c-1")
        assert state["status"] == "suppressed"
        assert "opted_out_all" in codes(state)


async def emails(
    client: httpx.AsyncClient, customer_id: str, days_ago: list[int], opened: bool
) -> None:
    """Outbound emails, each with an opened engagement a day later if ``opened``."""
    for days in days_ago:
        sent = await touch(
            client, NOW - days * DAY, "email", customer_id=customer_id, automated=True
        )
        if opened:
            await touch(
                client, NOW - days * DAY + HOUR, "email", customer_id=customer_id,
                kind="engagement", outcome="opened", ref_external_id=sent["external_id"],
            )  # fmt: skip


class TestFallingEngagement:
    async def test_opens_falling_below_half_make_the_customer_over_contacted(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(follow_up_days=30, overdue_after_days=60))
        await emails(admin, "c-1", [80, 70, 60, 45], opened=True)
        await emails(admin, "c-1", [20, 15, 10], opened=False)
        state = await status(admin, "c-1")
        assert state["fatigue"]["open_rate_before"] == 1.0
        assert state["fatigue"]["open_rate_recent"] == 0.0
        assert state["status"] == "over_contacted"
        assert "falling_engagement" in codes(state)

    async def test_opens_holding_above_half_are_not_falling(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(follow_up_days=30, overdue_after_days=60))
        await emails(admin, "c-1", [80, 70, 60], opened=True)
        await emails(admin, "c-1", [20, 15], opened=True)
        await emails(admin, "c-1", [10], opened=False)
        state = await status(admin, "c-1")
        assert state["fatigue"]["open_rate_recent"] == pytest.approx(2 / 3, abs=1e-3)
        assert state["status"] == "on_track"
        assert "falling_engagement" not in codes(state)

    async def test_clicks_count_as_engagement(self, admin: httpx.AsyncClient) -> None:
        sent = await touch(admin, NOW - 50 * DAY, "email")
        await touch(
            admin, NOW - 49 * DAY, "email", kind="engagement", outcome="clicked",
            ref_external_id=sent["external_id"],
        )  # fmt: skip
        await emails(admin, "c-1", [60, 40], opened=False)
        assert (await status(admin, "c-1"))["fatigue"]["open_rate_before"] == pytest.approx(
            1 / 3, abs=1e-3
        )

    async def test_an_engagement_that_came_before_its_contact_still_counts(
        self, admin: httpx.AsyncClient
    ) -> None:
        for days in (60, 50, 40):
            external_id = f"mail-{days}"
            await touch(
                admin, NOW - days * DAY + HOUR, "email", kind="engagement",
                outcome="opened", ref_external_id=external_id,
            )  # fmt: skip
            await touch(admin, NOW - days * DAY, "email", external_id=external_id)
        assert (await status(admin, "c-1"))["fatigue"]["open_rate_before"] == 1.0

    async def test_an_email_opened_twice_counts_once(self, admin: httpx.AsyncClient) -> None:
        sent = await touch(admin, NOW - 50 * DAY, "email")
        for hours in (1, 2, 30):
            await touch(
                admin, NOW - 50 * DAY + hours * HOUR, "email", kind="engagement",
                outcome="opened" if hours < 30 else "clicked", ref_external_id=sent["external_id"],
            )  # fmt: skip
        await emails(admin, "c-1", [60, 40], opened=False)
        assert (await status(admin, "c-1"))["fatigue"]["open_rate_before"] == pytest.approx(
            1 / 3, abs=1e-3
        )

    async def test_fewer_than_three_emails_give_no_rate(self, admin: httpx.AsyncClient) -> None:
        await emails(admin, "c-1", [80, 70], opened=True)
        await emails(admin, "c-1", [20, 10], opened=False)
        fatigue = (await status(admin, "c-1"))["fatigue"]
        assert fatigue["open_rate_before"] is None
        assert fatigue["open_rate_recent"] is None


class TestNextFollowUpChannel:
    async def test_the_first_preferred_channel_not_opted_out_is_chosen(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(channel="visit"))
        prefs = {"preferred_channels": ["sms", "email"], "opted_out_channels": ["sms"]}
        await put_customer(admin, "c-1", preferences=prefs)
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] == "email"

    async def test_else_the_channel_that_last_got_a_response(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(channel="visit"))
        await touch(admin, NOW - 3 * DAY, "phone", direction="inbound")
        await touch(admin, NOW - DAY, "email")
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] == "phone"
        await touch(admin, NOW - HOUR, "im", kind="engagement", outcome="replied")
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] == "im"

    async def test_a_response_channel_opted_out_is_skipped(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(channel="visit"))
        await put_customer(admin, "c-1", preferences={"opted_out_channels": ["phone"]})
        await touch(admin, NOW - 3 * DAY, "phone", direction="inbound")
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] == "visit"

    async def test_else_the_rules_channel(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(channel="visit"))
        await touch(admin, NOW - DAY, "email")
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] == "visit"

    async def test_no_channel_at_all_is_null(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule())
        await touch(admin, NOW - DAY, "email")
        assert (await status(admin, "c-1"))["next_follow_up"]["channel"] is None


class TestCalendar:
    CN_POLICY: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "business_days": {"weekdays": [1, 2, 3, 4, 5], "holidays_country": "CN"},
    }

    async def test_business_days_skip_the_national_day_holidays(
        self, admin: httpx.AsyncClient
    ) -> None:
        # 2026-09-29 is a Tuesday. China's National Day break takes Oct 1-7 off (Oct 4 is a
        # Sunday), so the 3rd business day after is Friday Oct 9; [1.1] Saturday Oct 10 is
        # an official make-up working day, so the 6th is Tuesday Oct 13.
        await set_policy(admin, rule(follow_up_days=3, overdue_after_days=6), **self.CN_POLICY)
        await touch(admin, utc("2026-09-29T10:00:00+08:00"))
        state = await status(admin, "c-1", utc("2026-09-30T12:00:00+08:00"))
        assert state["status"] == "on_track"
        assert state["next_follow_up"]["due_at"] == "2026-10-09T02:00:00Z"
        assert state["next_follow_up"]["overdue_at"] == "2026-10-13T02:00:00Z"

    async def test_the_customers_country_holidays_win_over_the_policys(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(follow_up_days=3, overdue_after_days=6), **self.CN_POLICY)
        await put_customer(admin, "c-1", country="GB")
        await touch(admin, utc("2026-09-29T10:00:00+08:00"))
        state = await status(admin, "c-1", utc("2026-09-30T12:00:00+08:00"))
        assert state["next_follow_up"]["due_at"] == "2026-10-02T02:00:00Z"

    async def test_weekends_are_skipped(self, admin: httpx.AsyncClient) -> None:
        await set_policy(
            admin, rule(follow_up_days=2, overdue_after_days=5),
            business_days={"weekdays": [1, 2, 3, 4, 5]},
        )  # fmt: skip
        await touch(admin, utc("2026-11-13T10:00:00Z"))  # a Friday
        state = await status(admin, "c-1", utc("2026-11-14T00:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-11-17T10:00:00Z"
        assert state["next_follow_up"]["overdue_at"] == "2026-11-20T10:00:00Z"

    async def test_no_contact_is_possible_on_a_non_business_day(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, business_days={"weekdays": [1, 2, 3, 4, 5]})
        await put_customer(admin, "c-1", timezone="Asia/Shanghai")
        saturday = await status(admin, "c-1", utc("2026-11-21T12:00:00+08:00"))
        assert saturday["contactable_now"] is False
        monday = await status(admin, "c-1", utc("2026-11-23T12:00:00+08:00"))
        assert monday["contactable_now"] is True

    async def test_no_contact_is_possible_in_quiet_hours(self, admin: httpx.AsyncClient) -> None:
        quiet = {"start": "20:00", "end": "09:00"}
        await put_customer(
            admin, "c-1", timezone="Asia/Shanghai", preferences={"quiet_hours": quiet}
        )
        night = await status(admin, "c-1", utc("2026-11-20T23:30:00+08:00"))
        assert night["contactable_now"] is False
        day = await status(admin, "c-1", utc("2026-11-20T10:00:00+08:00"))
        assert day["contactable_now"] is True

    async def test_due_moves_into_contact_hours_in_the_customers_time_zone(
        self, admin: httpx.AsyncClient
    ) -> None:
        hours = {"start": "09:00", "end": "18:00"}
        await set_policy(admin, rule(follow_up_days=2, overdue_after_days=5), contact_hours=hours)
        await put_customer(admin, "c-1", timezone="America/New_York")
        await touch(admin, utc("2026-11-16T20:00:00-05:00"))
        state = await status(admin, "c-1", utc("2026-11-17T12:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-11-19T14:00:00Z"

    async def test_the_policy_time_zone_applies_when_the_customer_has_none(
        self, admin: httpx.AsyncClient
    ) -> None:
        hours = {"start": "09:00", "end": "18:00"}
        await set_policy(
            admin, rule(follow_up_days=2, overdue_after_days=5), contact_hours=hours,
            timezone="Asia/Shanghai",
        )  # fmt: skip
        await touch(admin, utc("2026-11-16T20:00:00+08:00"))
        state = await status(admin, "c-1", utc("2026-11-17T00:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-11-19T01:00:00Z"

    async def test_due_moves_out_of_the_customers_quiet_hours(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(follow_up_days=2, overdue_after_days=5))
        quiet = {"start": "20:00", "end": "09:30"}
        await put_customer(
            admin, "c-1", timezone="America/New_York", preferences={"quiet_hours": quiet}
        )
        await touch(admin, utc("2026-11-16T21:00:00-05:00"))
        state = await status(admin, "c-1", utc("2026-11-17T12:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-11-19T14:30:00Z"

    async def test_days_are_counted_on_the_local_wall_clock_across_dst_start(
        self, admin: httpx.AsyncClient
    ) -> None:
        # New York moves from -05:00 to -04:00 on 2026-03-08.
        await set_policy(admin, rule(follow_up_days=3, overdue_after_days=5))
        await put_customer(admin, "c-1", timezone="America/New_York")
        await touch(admin, utc("2026-03-06T10:00:00-05:00"))
        state = await status(admin, "c-1", utc("2026-03-07T12:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-03-09T14:00:00Z"
        assert state["next_follow_up"]["overdue_at"] == "2026-03-11T14:00:00Z"
        before = await status(admin, "c-1", utc("2026-03-09T13:59:59Z"))
        assert before["status"] == "on_track"
        assert (await status(admin, "c-1", utc("2026-03-09T14:00:00Z")))["status"] == "due"

    async def test_contact_hours_hold_across_dst_start(self, admin: httpx.AsyncClient) -> None:
        hours = {"start": "09:00", "end": "18:00"}
        await set_policy(admin, rule(follow_up_days=2, overdue_after_days=5), contact_hours=hours)
        await put_customer(admin, "c-1", timezone="America/New_York")
        await touch(admin, utc("2026-03-06T19:00:00-05:00"))
        state = await status(admin, "c-1", utc("2026-03-07T12:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-03-09T13:00:00Z"

    async def test_days_are_counted_on_the_local_wall_clock_across_dst_end(
        self, admin: httpx.AsyncClient
    ) -> None:
        # New York moves from -04:00 to -05:00 on 2026-11-01.
        await set_policy(admin, rule(follow_up_days=3, overdue_after_days=5))
        await put_customer(admin, "c-1", timezone="America/New_York")
        await touch(admin, utc("2026-10-30T10:00:00-04:00"))
        state = await status(admin, "c-1", utc("2026-10-31T12:00:00Z"))
        assert state["next_follow_up"]["due_at"] == "2026-11-02T15:00:00Z"


class TestLateTouches:
    async def test_a_late_touch_is_counted(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin)
        await touch(admin, NOW - DAY, "email")
        await touch(admin, NOW - 40 * DAY, "phone")
        state = await status(admin, "c-1")
        assert state["counts"]["90d"] == {"total": 2, "by_channel": {"email": 1, "phone": 1}}
        assert state["counts"]["30d"]["total"] == 1
        assert state["last_contact_at"] == z(NOW - DAY)

    async def test_a_late_touch_can_exceed_a_cap(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1}]))
        await touch(admin, NOW - DAY)
        assert (await status(admin, "c-1"))["status"] == "on_track"
        await touch(admin, NOW - 3 * DAY)
        state = await status(admin, "c-1")
        assert state["status"] == "over_contacted"
        assert state["caps"][0]["used"] == 2
        assert state["last_contact_at"] == z(NOW - DAY)

    async def test_a_late_touch_on_a_window_edge_day_is_counted(
        self, admin: httpx.AsyncClient
    ) -> None:
        await touch(admin, NOW - HOUR, "email")
        await touch(admin, NOW - 7 * DAY + HOUR, "email")
        await touch(admin, NOW - 7 * DAY - HOUR, "email")
        await touch(admin, NOW - 2 * HOUR, "email")
        counts = (await status(admin, "c-1"))["counts"]
        assert counts["7d"]["total"] == 3
        assert counts["30d"]["total"] == 4


CHANNELS = ["email", "phone", "sms", "im", "visit"]


def history(customer_id: str, n: int) -> list[dict[str, Any]]:
    """``n`` touches spread over 200 days: contacts of both directions, automated or not, and
    some engagements and purchases."""
    touches: list[dict[str, Any]] = []
    for i in range(n):
        at = NOW - timedelta(minutes=(i * 977) % (200 * 24 * 60))
        item: dict[str, Any] = {
            "customer_id": customer_id,
            "channel": CHANNELS[i % len(CHANNELS)],
            "occurred_at": z(at),
            "source": "bulk",
            "external_id": f"{customer_id}-{i}",
            "direction": "inbound" if i % 4 == 1 else "outbound",
            "automated": i % 6 == 0,
            "depth": ["light", "value", "deep", None][i % 4],
        }
        if i % 10 == 3:
            item.update(kind="engagement", outcome="opened", depth=None)
        if i % 10 == 7:
            item.update(kind="purchase", amount=12.5, depth=None)
        touches.append(item)
    return touches


def hand_count(
    touches: list[dict[str, Any]],
    as_of: datetime,
    days: int,
    *,
    outbound_only: bool = False,
    manual_only: bool = False,
    channels: set[str] | None = None,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in touches:
        at = utc(item["occurred_at"])
        if item.get("kind", "contact") != "contact" or not as_of - days * DAY < at <= as_of:
            continue
        if outbound_only and item["direction"] != "outbound":
            continue
        if manual_only and item["automated"]:
            continue
        if channels is not None and item["channel"] not in channels:
            continue
        counts[item["channel"]] = counts.get(item["channel"], 0) + 1
    return counts


class TestLongHistory:
    @pytest.mark.parametrize(
        "as_of",
        [
            NOW,
            NOW - 33 * DAY - 5 * HOUR - timedelta(minutes=17),
            NOW - 100 * DAY + timedelta(seconds=30),
            NOW - 150 * DAY,
        ],
        ids=["now", "mid-day", "just-after-midnight", "early"],
    )
    async def test_counts_caps_and_targets_equal_a_hand_count(
        self, admin: httpx.AsyncClient, as_of: datetime
    ) -> None:
        await set_policy(
            admin,
            rule(
                count_automated=False,
                caps=[
                    {"window_days": 7, "max": 10_000},
                    {"window_days": 45, "max": 10_000, "channels": ["email", "sms"]},
                ],
                targets=[{"window_days": 60, "min": 1, "depth": "value"}],
            ),
        )
        touches = history("c-1", 300)
        response = await admin.post("/v1/touches/batch", json={"touches": touches})
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 300
        state = await status(admin, "c-1", as_of)
        for label, days in (("7d", 7), ("30d", 30), ("90d", 90)):
            expected = hand_count(touches, as_of, days)
            assert state["counts"][label]["by_channel"] == expected, label
            assert state["counts"][label]["total"] == sum(expected.values()), label
        used = [cap["used"] for cap in state["caps"]]
        assert used == [
            sum(hand_count(touches, as_of, 7, outbound_only=True, manual_only=True).values()),
            sum(
                hand_count(
                    touches, as_of, 45, outbound_only=True, manual_only=True,
                    channels={"email", "sms"},
                ).values()
            ),
        ]  # fmt: skip
        deep_enough = [
            t
            for t in touches
            if t["depth"] in ("value", "deep") and t.get("kind", "contact") == "contact"
        ]
        assert state["targets"][0]["done"] == sum(hand_count(deep_enough, as_of, 60).values())

    async def test_a_full_cap_in_a_long_history_frees_when_a_counted_contact_leaves(
        self, admin: httpx.AsyncClient
    ) -> None:
        touches = history("c-1", 300)
        await admin.post("/v1/touches/batch", json={"touches": touches})
        leaving = sorted(
            utc(t["occurred_at"])
            for t in touches
            if t.get("kind", "contact") == "contact"
            and t["direction"] == "outbound"
            and NOW - 30 * DAY < utc(t["occurred_at"]) <= NOW
        )
        await set_policy(admin, rule(caps=[{"window_days": 30, "max": len(leaving) - 2}]))
        [cap] = (await status(admin, "c-1"))["caps"]
        assert cap["used"] == len(leaving)
        assert cap["frees_at"] == z(leaving[2] + 30 * DAY)


class TestNextFollowUpEndpoint:
    async def test_it_returns_the_statuss_next_follow_up(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(min_gap_hours=30, channel="phone"))
        await touch(admin, NOW - DAY)
        response = await admin.get("/v1/customers/c-1/next-follow-up")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) >= NEXT_FIELDS
        assert body == (await status(admin, "c-1"))["next_follow_up"]

    async def test_it_takes_as_of_like_the_status(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1}]))
        await touch(admin, NOW - 20 * DAY)
        await touch(admin, NOW - DAY)
        as_of = NOW - 10 * DAY
        params = {"as_of": z(as_of)}
        body = (await admin.get("/v1/customers/c-1/next-follow-up", params=params)).json()
        assert body == (await status(admin, "c-1", as_of))["next_follow_up"]
        assert body["due_at"] == z(NOW - 13 * DAY)

    async def test_a_customer_never_contacted_has_one(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, "c-1")
        body = (await admin.get("/v1/customers/c-1/next-follow-up")).json()
        assert body["due_at"] == z(NOW)
        assert body["overdue_at"] is None
        assert isinstance(body["reason"], str)
        assert body["reason"]


class TestUnknownCustomer:
    @pytest.mark.parametrize("path", ["status", "next-follow-up"])
    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient, path: str) -> None:
        assert_problem(await admin.get(f"/v1/customers/nobody/{path}"), 404)

    @pytest.mark.parametrize("path", ["status", "next-follow-up"])
    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant, path: str
    ) -> None:
        await touch(admin, NOW - DAY)
        theirs = await other_tenant.client("admin")
        assert_problem(await theirs.get(f"/v1/customers/c-1/{path}"), 404)


class TestStatusRoles:
    @pytest.mark.parametrize("role", ["admin", "ingest", "read"])
    @pytest.mark.parametrize("path", ["status", "next-follow-up"])
    async def test_these_roles_may_read(self, tenant: Tenant, role: str, path: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin, "c-1")
        client = await tenant.client(role)
        assert (await client.get(f"/v1/customers/c-1/{path}")).status_code == 200

    @pytest.mark.parametrize("path", ["status", "next-follow-up"])
    async def test_a_partner_may_not_read(self, tenant: Tenant, path: str) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin, "c-1")
        partner = await tenant.client("partner", "p-1")
        assert_problem(await partner.get(f"/v1/customers/c-1/{path}"), 403)
        assert_problem(await partner.get(f"/v1/customers/nobody/{path}"), 403)

    @pytest.mark.parametrize("path", ["status", "next-follow-up"])
    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient, path: str) -> None:
        assert_problem(await anonymous.get(f"/v1/customers/c-1/{path}"), 401)
        response = await anonymous.get(f"/v1/customers/c-1/{path}", params={"as_of": "bad"})
        assert_problem(response, 401)
