"""Conflict checks: POST /v1/conflict-checks judges one contact at one instant (allow, warn or
deny with every reason) and, with ``reserve``, reserves it against the customer's caps."""

import re
from datetime import UTC, datetime, timedelta
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
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CHECK_FIELDS = {"decision", "reasons", "plan"}
PLAN_FIELDS = {
    "id", "customer_id", "kind", "channel", "actor", "planned_at", "expires_at", "status",
    "reasons", "note", "created_at", "decided_at", "touch_id",
}  # fmt: skip
# Names a partner key must never be shown: another holder, owner, team or rep.
HIDDEN = ("dist-hidden", "team-hidden", "rep-hidden", "owner-hidden", "owners-team")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_body(
    channel: str = "email",
    actor: dict[str, Any] | None = None,
    customer_id: str = "c-1",
    at: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"customer_id": customer_id, "channel": channel, **fields}
    if actor is not None:
        body["actor"] = actor
    if at is not None:
        body["at"] = z(at)
    return body


async def check(
    client: httpx.AsyncClient,
    channel: str = "email",
    actor: dict[str, Any] | None = None,
    customer_id: str = "c-1",
    at: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/conflict-checks", json=check_body(channel, actor, customer_id, at, **fields)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == CHECK_FIELDS
    for item in body["reasons"]:
        assert set(item) == {"code", "message", "until"}
    return body


def reason(result: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in result["reasons"] if r["code"] == code]
    assert len(found) == 1, (code, result["reasons"])
    return found[0]


async def claim(
    client: httpx.AsyncClient,
    holder: dict[str, Any] | None,
    customer_id: str = "c-1",
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/locks", json={"customer_id": customer_id, "holder": holder, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def plan(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/contact-plans/{plan_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def one_cap(max_: int, window_days: int = 7, **changes: Any) -> dict[str, Any]:
    return rule(caps=[{"window_days": window_days, "max": max_}], **changes)


class TestCheckBasics:
    async def test_a_contact_without_conflicts_is_allowed_with_no_reasons_and_no_plan(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        result = await check(admin, actor={"rep_id": "rep-1"})
        assert result == {"decision": "allow", "reasons": [], "plan": None}

    async def test_the_actor_may_be_left_out(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert (await check(admin))["decision"] == "allow"

    async def test_at_defaults_to_the_clock(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + HOUR)})
        assert (await check(admin))["decision"] == "deny"
        clock.set(NOW + HOUR)
        assert (await check(admin))["decision"] == "allow"

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/conflict-checks", json=check_body(customer_id="nobody"))
        assert_problem(response, 404)

    async def test_an_unknown_customer_is_404_also_when_reserving(
        self, admin: httpx.AsyncClient
    ) -> None:
        body = check_body(customer_id="nobody", reserve=True)
        assert_problem(await admin.post("/v1/conflict-checks", json=body), 404)

    async def test_a_check_does_not_create_the_customer(self, admin: httpx.AsyncClient) -> None:
        await admin.post("/v1/conflict-checks", json=check_body(customer_id="nobody"))
        assert_problem(await admin.get("/v1/customers/nobody"), 404)

    @pytest.mark.parametrize("role", ["admin", "ingest", "read", "partner"])
    async def test_every_role_may_check(self, tenant: Tenant, role: str) -> None:
        await put_customer(await tenant.client("admin"))
        client = await tenant.client(role, "dist-1" if role == "partner" else None)
        assert (await check(client))["decision"] == "allow"

    async def test_any_channel_slug_is_accepted(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert (await check(admin, channel="trade-fair_booth"))["decision"] == "allow"

    async def test_an_at_with_an_offset_is_judged_as_that_instant(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + HOUR)})
        body = check_body()
        body["at"] = "2026-11-20T11:30:00+08:00"  # NOW + 30 min
        response = await admin.post("/v1/conflict-checks", json=body)
        assert response.status_code == 200, response.text
        assert reason(response.json(), "paused")["until"] == z(NOW + HOUR)
        body["at"] = "2026-11-20T12:00:00+08:00"  # NOW + 1 h
        response = await admin.post("/v1/conflict-checks", json=body)
        assert response.json()["decision"] == "allow"

    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await put_customer(admin)
        other = await other_tenant.client("admin")
        assert_problem(await other.post("/v1/conflict-checks", json=check_body()), 404)
        reserving = check_body(reserve=True)
        assert_problem(await other.post("/v1/conflict-checks", json=reserving), 404)


class TestCheckAuthentication:
    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.post("/v1/conflict-checks", json=check_body()), 401)

    async def test_an_unknown_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        headers = {"Authorization": "Bearer tb_not_a_key"}
        response = await anonymous.post("/v1/conflict-checks", json=check_body(), headers=headers)
        assert_problem(response, 401)

    async def test_a_revoked_key_is_401(
        self, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        created = (await admin.post("/v1/api-keys", json={"role": "read"})).json()
        assert (await admin.delete(f"/v1/api-keys/{created['id']}")).status_code == 204
        headers = {"Authorization": f"Bearer {created['key']}"}
        response = await anonymous.post("/v1/conflict-checks", json=check_body(), headers=headers)
        assert_problem(response, 401)

    async def test_401_comes_before_body_validation(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.post("/v1/conflict-checks", json={"channel": "Not A Slug"})
        assert_problem(response, 401)


class TestCheckValidation:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            pytest.param({"channel": "Phone"}, "channel", id="channel-upper-case"),
            pytest.param({"channel": "e mail"}, "channel", id="channel-space"),
            pytest.param({"channel": ""}, "channel", id="channel-empty"),
            pytest.param({"channel": "9lives"}, "channel", id="channel-digit-first"),
            pytest.param({"channel": 5}, "channel", id="channel-number"),
            pytest.param({"at": "2026-11-20T03:00:00"}, "at", id="at-naive"),
            pytest.param({"at": "2026-11-20"}, "at", id="at-date-only"),
            pytest.param({"at": 1795143600}, "at", id="at-unix-time"),
            pytest.param({"at": "tomorrow"}, "at", id="at-text"),
            pytest.param({"reserve_minutes": 0}, "reserve_minutes", id="reserve-minutes-0"),
            pytest.param({"reserve_minutes": 1441}, "reserve_minutes", id="reserve-minutes-1441"),
            pytest.param({"reserve_minutes": -5}, "reserve_minutes", id="reserve-minutes-negative"),
            pytest.param({"reserve": "yes"}, "reserve", id="reserve-not-boolean"),
            pytest.param({"actor": {"team": "North Sales"}}, "team", id="actor-team-not-slug"),
            pytest.param({"actor": {"rep_id": "rep 7"}}, "rep_id", id="actor-rep-bad-chars"),
            pytest.param({"actor": {"partner_id": ""}}, "partner_id", id="actor-partner-empty"),
            pytest.param({"actor": {"boss": "x"}}, "boss", id="actor-unknown-key"),
            pytest.param({"customer_id": "c 1"}, "customer_id", id="customer-id-bad-chars"),
            pytest.param({"customer_id": "c" * 129}, "customer_id", id="customer-id-too-long"),
            pytest.param({"bogus": True}, "bogus", id="unknown-key"),
        ],
    )
    async def test_a_bad_field_is_422_naming_it(
        self, admin: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        await put_customer(admin)
        body = {**check_body(reserve=True), **changes}
        problem = assert_problem(await admin.post("/v1/conflict-checks", json=body), 422)
        assert any(field in item["loc"] for item in problem["errors"]), problem["errors"]

    @pytest.mark.parametrize("at", ["9999-12-31T23:30:00Z", "0001-01-01T00:00:00Z"])
    @pytest.mark.parametrize("reserve", [False, True])
    async def test_an_instant_out_of_range_is_422_not_500(
        self, admin: httpx.AsyncClient, at: str, reserve: bool
    ) -> None:
        await put_customer(admin)
        body = {**check_body(reserve=reserve), "at": at}
        problem = assert_problem(await admin.post("/v1/conflict-checks", json=body), 422)
        assert any("at" in item["loc"] for item in problem["errors"]), problem["errors"]

    @pytest.mark.parametrize("missing", ["customer_id", "channel"])
    async def test_a_missing_required_field_is_422(
        self, admin: httpx.AsyncClient, missing: str
    ) -> None:
        body = check_body()
        del body[missing]
        problem = assert_problem(await admin.post("/v1/conflict-checks", json=body), 422)
        assert any(missing in item["loc"] for item in problem["errors"]), problem["errors"]

    @pytest.mark.parametrize("minutes", [1, 1440])
    async def test_the_reserve_minutes_bounds_are_accepted(
        self, admin: httpx.AsyncClient, minutes: int
    ) -> None:
        await put_customer(admin)
        result = await check(admin, reserve=True, reserve_minutes=minutes)
        assert result["plan"]["expires_at"] == z(NOW + minutes * MINUTE)

    async def test_a_rejected_reservation_stores_no_plan(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        body = check_body(reserve=True, reserve_minutes=0)
        assert_problem(await admin.post("/v1/conflict-checks", json=body), 422)
        listed = (await admin.get("/v1/contact-plans", params={"customer_id": "c-1"})).json()
        assert listed["items"] == []


class TestOptedOut:
    async def test_an_opted_out_channel_is_denied_without_until(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"opted_out_channels": ["sms"]})
        result = await check(admin, "sms")
        assert result["decision"] == "deny"
        assert reason(result, "opted_out")["until"] is None

    async def test_other_channels_stay_allowed(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"opted_out_channels": ["sms"]})
        assert (await check(admin, "email"))["decision"] == "allow"

    @pytest.mark.parametrize("channel", ["email", "visit", "any-other-channel"])
    async def test_opting_out_of_all_denies_every_channel(
        self, admin: httpx.AsyncClient, channel: str
    ) -> None:
        await put_customer(admin, preferences={"opted_out_channels": ["all"]})
        result = await check(admin, channel)
        assert codes(result) == ["opted_out"]

    async def test_an_unsubscribe_engagement_opts_the_channel_out(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, "email", kind="engagement", outcome="unsubscribed")
        assert codes(await check(admin, "email")) == ["opted_out"]
        assert (await check(admin, "phone"))["decision"] == "allow"


class TestPaused:
    async def test_a_pause_denies_until_paused_until(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + 3 * DAY)})
        result = await check(admin)
        assert result["decision"] == "deny"
        assert reason(result, "paused")["until"] == z(NOW + 3 * DAY)

    async def test_a_check_at_paused_until_is_no_longer_paused(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + 3 * DAY)})
        assert (await check(admin, at=NOW + 3 * DAY - MINUTE))["decision"] == "deny"
        assert (await check(admin, at=NOW + 3 * DAY))["decision"] == "allow"

    async def test_a_past_pause_does_not_deny(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW - HOUR)})
        assert (await check(admin))["decision"] == "allow"

    async def test_a_complaint_pauses_its_channel_for_complaint_pause_days(
        self, admin: httpx.AsyncClient
    ) -> None:
        """[1.1] Only the channel complained about: the owner may still call and apologise."""
        await put_customer(admin)
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        email = await check(admin, "email")
        assert email["decision"] == "deny"
        assert codes(email) == ["complaint_pause"]
        assert reason(email, "complaint_pause")["until"] == z(NOW + 89 * DAY)
        phone = await check(admin, "phone")
        assert phone["decision"] == "warn"
        assert codes(phone) == ["recent_complaint"]
        assert reason(phone, "recent_complaint")["until"] == z(NOW + 29 * DAY)

    async def test_the_complaint_pause_follows_the_policy(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, complaint_pause_days=10)
        await put_customer(admin)
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        assert reason(await check(admin, "email"), "complaint_pause")["until"] == z(NOW + 9 * DAY)
        assert (await check(admin, "email", at=NOW + 9 * DAY))["decision"] == "allow"
        assert codes(await check(admin, "phone", at=NOW + 9 * DAY)) == ["recent_complaint"]
        assert codes(await check(admin, "phone", at=NOW + 29 * DAY)) == []

    async def test_a_complaint_pauses_the_channel_of_the_contact_it_points_at(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY, "sms", external_id="sms-1")
        await touch(
            admin, NOW - DAY, "email", kind="engagement", outcome="complained",
            ref_external_id="sms-1",
        )  # fmt: skip
        assert codes(await check(admin, "sms")) == ["complaint_pause"]
        assert codes(await check(admin, "email")) == ["recent_complaint"]

    async def test_a_complaint_after_at_does_not_pause_a_check_before_it(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, "email", kind="engagement", outcome="complained")
        assert (await check(admin, at=NOW - 2 * HOUR))["decision"] == "allow"

    async def test_a_preference_pause_and_a_complaint_pause_are_both_named(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, preferences={"paused_until": z(NOW + 2 * DAY)})
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="complained")
        result = await check(admin, "email")
        assert reason(result, "paused")["until"] == z(NOW + 2 * DAY)
        assert reason(result, "complaint_pause")["until"] == z(NOW + 89 * DAY)


class TestCapReached:
    async def test_a_reached_cap_denies_until_its_frees_at(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY)
        result = await check(admin)
        assert result["decision"] == "deny"
        assert reason(result, "cap_reached")["until"] == z(NOW + 5 * DAY)
        cap = (await status(admin))["caps"][0]
        assert (cap["used"], cap["max"], cap["frees_at"]) == (1, 1, z(NOW + 5 * DAY))

    async def test_the_contact_is_allowed_once_the_cap_frees(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY)
        assert codes(await check(admin, at=NOW + 5 * DAY - MINUTE)) == ["cap_reached"]
        assert (await check(admin, at=NOW + 5 * DAY))["decision"] == "allow"

    async def test_a_cap_with_room_left_allows(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, one_cap(2))
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY)
        assert (await check(admin))["decision"] == "allow"

    async def test_a_full_cap_frees_when_its_oldest_contact_leaves(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(2))
        await put_customer(admin)
        await touch(admin, NOW - 3 * DAY)
        await touch(admin, NOW - DAY, "phone")
        assert reason(await check(admin), "cap_reached")["until"] == z(NOW + 4 * DAY)

    async def test_a_cap_of_some_channels_denies_only_those(self, admin: httpx.AsyncClient) -> None:
        await set_policy(
            admin, rule(caps=[{"window_days": 7, "max": 1, "channels": ["phone", "sms"]}])
        )
        await put_customer(admin)
        await touch(admin, NOW - DAY, "phone")
        assert codes(await check(admin, "sms")) == ["cap_reached"]
        assert (await check(admin, "email"))["decision"] == "allow"

    async def test_contacts_on_other_channels_do_not_fill_a_channel_cap(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1, "channels": ["phone"]}]))
        await put_customer(admin)
        await touch(admin, NOW - DAY, "email")
        assert (await check(admin, "phone"))["decision"] == "allow"

    async def test_the_profiles_monthly_maximum_is_a_cap(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"max_contacts_per_30d": 2})
        await touch(admin, NOW - 20 * DAY)
        await touch(admin, NOW - 10 * DAY, "phone")
        result = await check(admin, "visit")
        assert codes(result) == ["cap_reached"]
        assert reason(result, "cap_reached")["until"] == z(NOW + 10 * DAY)

    async def test_a_maximum_of_zero_denies_for_good(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"max_contacts_per_30d": 0})
        result = await check(admin)
        assert codes(result) == ["cap_reached"]
        assert reason(result, "cap_reached")["until"] is None

    async def test_inbound_contacts_and_engagements_do_not_use_a_cap(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await touch(admin, NOW - DAY, "phone", direction="inbound")
        await touch(admin, NOW - DAY, "email", kind="engagement", outcome="opened")
        assert (await check(admin))["decision"] == "allow"

    async def test_automated_contacts_count_unless_the_rule_says_not(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await touch(admin, NOW - DAY, automated=True)
        assert codes(await check(admin)) == ["cap_reached"]
        await set_policy(admin, one_cap(1, count_automated=False))
        assert (await check(admin))["decision"] == "allow"

    async def test_two_reached_caps_are_both_named(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin, preferences={"max_contacts_per_30d": 1})
        await touch(admin, NOW - 2 * DAY)
        untils = sorted(r["until"] for r in (await check(admin))["reasons"])
        assert untils == [z(NOW + 5 * DAY), z(NOW + 28 * DAY)]


class TestMinGap:
    async def test_a_contact_inside_the_minimum_gap_is_denied_until_it_ends(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - 10 * HOUR, "phone")
        result = await check(admin, "email")
        assert codes(result) == ["min_gap"]
        assert reason(result, "min_gap")["until"] == z(NOW + 38 * HOUR)

    async def test_the_gap_ends_exactly_at_until(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - 10 * HOUR)
        assert codes(await check(admin, at=NOW + 38 * HOUR - MINUTE)) == ["min_gap"]
        assert (await check(admin, at=NOW + 38 * HOUR))["decision"] == "allow"

    async def test_the_gap_counts_from_the_last_outbound_contact(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - 40 * HOUR)
        await touch(admin, NOW - 4 * HOUR)
        assert reason(await check(admin), "min_gap")["until"] == z(NOW + 44 * HOUR)

    async def test_an_inbound_contact_starts_no_gap(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - HOUR, "phone", direction="inbound")
        assert (await check(admin))["decision"] == "allow"

    async def test_no_minimum_gap_no_denial(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(min_gap_hours=0))
        await put_customer(admin)
        await touch(admin, NOW - MINUTE)
        assert (await check(admin))["decision"] == "allow"


class TestQuietHours:
    @pytest.mark.parametrize(
        ("at", "until"),
        [
            pytest.param("2026-11-20T13:00:00Z", "2026-11-21T01:00:00Z", id="evening"),
            pytest.param("2026-11-20T12:00:00Z", "2026-11-21T01:00:00Z", id="at-the-start"),
            pytest.param("2026-11-20T16:00:00Z", "2026-11-21T01:00:00Z", id="after-midnight"),
            pytest.param("2026-11-20T00:30:00Z", "2026-11-20T01:00:00Z", id="early-morning"),
        ],
    )
    async def test_quiet_hours_in_the_customers_zone_deny_until_they_end(
        self, admin: httpx.AsyncClient, at: str, until: str
    ) -> None:
        await put_customer(
            admin,
            timezone="Asia/Shanghai",
            preferences={"quiet_hours": {"start": "20:00", "end": "09:00"}},
        )
        result = await check(admin, at=datetime.fromisoformat(at))
        assert codes(result) == ["quiet_hours"]
        assert reason(result, "quiet_hours")["until"] == until

    @pytest.mark.parametrize(
        "at", ["2026-11-20T01:00:00Z", "2026-11-20T03:00:00Z", "2026-11-20T11:59:00Z"]
    )
    async def test_outside_the_quiet_hours_is_allowed(
        self, admin: httpx.AsyncClient, at: str
    ) -> None:
        await put_customer(
            admin,
            timezone="Asia/Shanghai",
            preferences={"quiet_hours": {"start": "20:00", "end": "09:00"}},
        )
        assert (await check(admin, at=datetime.fromisoformat(at)))["decision"] == "allow"

    async def test_quiet_hours_within_one_day(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"quiet_hours": {"start": "12:00", "end": "14:00"}})
        assert (await check(admin))["decision"] == "allow"
        result = await check(admin, at=datetime(2026, 11, 20, 12, 30, tzinfo=UTC))
        assert reason(result, "quiet_hours")["until"] == "2026-11-20T14:00:00Z"
        at_end = await check(admin, at=datetime(2026, 11, 20, 14, tzinfo=UTC))
        assert at_end["decision"] == "allow"

    async def test_a_customer_without_a_zone_keeps_the_policys(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, timezone="Asia/Tokyo")
        await put_customer(admin, preferences={"quiet_hours": {"start": "20:00", "end": "09:00"}})
        result = await check(admin, at=datetime(2026, 11, 20, 12, tzinfo=UTC))  # 21:00 JST
        assert reason(result, "quiet_hours")["until"] == "2026-11-21T00:00:00Z"

    async def test_the_policys_contact_hours_deny_until_they_open(
        self, admin: httpx.AsyncClient
    ) -> None:
        """[1.1] outside_contact_hours, until the next start of contact hours."""
        await set_policy(admin, contact_hours={"start": "09:00", "end": "18:00"})
        await put_customer(admin)
        result = await check(admin, at=datetime(2026, 11, 20, 22, tzinfo=UTC))
        assert result["decision"] == "deny"
        assert codes(result) == ["outside_contact_hours"]
        assert reason(result, "outside_contact_hours")["until"] == "2026-11-21T09:00:00Z"
        inside = await check(admin, at=datetime(2026, 11, 20, 9, tzinfo=UTC))
        assert inside == {"decision": "allow", "reasons": [], "plan": None}

    async def test_contact_hours_open_on_the_next_business_day(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(
            admin, business_days=WEEKDAYS, contact_hours={"start": "09:00", "end": "18:00"}
        )
        await put_customer(admin, timezone="Asia/Shanghai")
        friday_evening = datetime(2026, 11, 20, 11, tzinfo=UTC)  # 19:00 in Shanghai
        result = await check(admin, at=friday_evening)
        assert codes(result) == ["outside_contact_hours"]
        assert reason(result, "outside_contact_hours")["until"] == "2026-11-23T01:00:00Z"
        saturday = await check(admin, at=datetime(2026, 11, 21, 2, tzinfo=UTC))
        assert codes(saturday) == ["non_business_day"]
        assert reason(saturday, "non_business_day")["until"] == "2026-11-23T01:00:00Z"


WEEKDAYS = {"weekdays": [1, 2, 3, 4, 5]}


class TestNonBusinessDay:
    async def test_a_weekend_denies_until_monday_begins(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, business_days=WEEKDAYS)
        await put_customer(admin)
        result = await check(admin, at=datetime(2026, 11, 21, 10, tzinfo=UTC))  # Saturday
        assert codes(result) == ["non_business_day"]
        assert reason(result, "non_business_day")["until"] == "2026-11-23T00:00:00Z"

    async def test_the_day_is_the_customers_local_day(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, business_days=WEEKDAYS)
        await put_customer(admin, timezone="Asia/Shanghai")
        friday_night = await check(admin, at=datetime(2026, 11, 20, 15, tzinfo=UTC))
        assert friday_night["decision"] == "allow"  # 23:00 on Friday in Shanghai
        saturday = await check(admin, at=datetime(2026, 11, 20, 17, tzinfo=UTC))
        assert reason(saturday, "non_business_day")["until"] == "2026-11-22T16:00:00Z"

    async def test_a_business_day_begins_at_until(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, business_days=WEEKDAYS)
        await put_customer(admin, timezone="Asia/Shanghai")
        assert (await check(admin, at=datetime(2026, 11, 22, 16, tzinfo=UTC)))["reasons"] == []
        sunday = await check(admin, at=datetime(2026, 11, 22, 15, 59, tzinfo=UTC))
        assert codes(sunday) == ["non_business_day"]

    async def test_the_customers_countrys_holiday_wins_over_the_policys(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, business_days={**WEEKDAYS, "holidays_country": "CN"})
        await put_customer(admin, timezone="America/New_York", country="US")
        thanksgiving = await check(admin, at=datetime(2026, 11, 26, 15, tzinfo=UTC))
        assert codes(thanksgiving) == ["non_business_day"]
        assert reason(thanksgiving, "non_business_day")["until"] == "2026-11-27T05:00:00Z"

    async def test_the_policys_holidays_apply_to_a_customer_without_a_country(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, business_days={**WEEKDAYS, "holidays_country": "CN"})
        await put_customer(admin, timezone="Asia/Shanghai")
        national_day = await check(admin, at=datetime(2026, 10, 1, 4, tzinfo=UTC))
        # October 1-7 are all holidays or weekend days; Thursday the 8th is the next business day
        assert reason(national_day, "non_business_day")["until"] == "2026-10-07T16:00:00Z"

    async def test_without_business_days_every_day_counts(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, country="US")
        result = await check(admin, at=datetime(2026, 11, 26, 15, tzinfo=UTC))
        assert result["decision"] == "allow"


class TestLocked:
    async def test_another_partners_lock_denies_until_it_expires(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-1"}, days=30)
        result = await check(admin, actor={"partner_id": "dist-2"})
        assert codes(result) == ["locked"]
        assert reason(result, "locked")["until"] == z(NOW + 30 * DAY)

    @pytest.mark.parametrize(
        ("holder", "actor"),
        [
            pytest.param({"partner_id": "dist-1"}, {"partner_id": "dist-1"}, id="partner"),
            pytest.param(
                {"partner_id": "dist-1"}, {"partner_id": "dist-1", "rep_id": "r9"}, id="partner-rep"
            ),
            pytest.param({"team": "north"}, {"team": "north", "rep_id": "r1"}, id="team"),
            pytest.param({"rep_id": "rep-7"}, {"rep_id": "rep-7", "team": "south"}, id="rep"),
        ],
    )
    async def test_the_holder_is_not_locked_out(
        self, admin: httpx.AsyncClient, holder: dict[str, str], actor: dict[str, str]
    ) -> None:
        await put_customer(admin)
        await claim(admin, holder)
        assert (await check(admin, actor=actor))["decision"] == "allow"

    @pytest.mark.parametrize(
        ("holder", "actor"),
        [
            pytest.param({"partner_id": "dist-1"}, {}, id="partner-vs-nobody"),
            pytest.param({"partner_id": "dist-1"}, {"team": "north"}, id="partner-vs-team"),
            pytest.param({"team": "north"}, {"team": "south"}, id="team-vs-team"),
            pytest.param({"team": "north"}, {"rep_id": "r1"}, id="team-vs-rep"),
            pytest.param({"team": "north"}, {"partner_id": "dist-1"}, id="team-vs-partner"),
            pytest.param({"rep_id": "rep-7"}, {"rep_id": "rep-8", "team": "north"}, id="rep"),
        ],
    )
    async def test_anyone_else_is_locked_out(
        self, admin: httpx.AsyncClient, holder: dict[str, str], actor: dict[str, str]
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, holder)
        result = await check(admin, actor=actor)
        assert codes(result) == ["locked"]
        assert reason(result, "locked")["until"] == lock["expires_at"]

    async def test_a_check_at_the_locks_expiry_is_not_locked(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-1"}, days=10)
        actor = {"partner_id": "dist-2"}
        assert codes(await check(admin, actor=actor, at=NOW + 10 * DAY - MINUTE)) == ["locked"]
        assert (await check(admin, actor=actor, at=NOW + 10 * DAY))["decision"] == "allow"

    async def test_a_check_before_the_lock_began_is_not_locked(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-1"})
        result = await check(admin, actor={"partner_id": "dist-2"}, at=NOW - MINUTE)
        assert result["decision"] == "allow"

    async def test_a_released_lock_no_longer_denies(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        lock = await claim(admin, {"partner_id": "dist-1"})
        clock.set(NOW + HOUR)
        assert (await admin.delete(f"/v1/locks/{lock['id']}")).status_code == 204
        assert (await check(admin, actor={"partner_id": "dist-2"}))["decision"] == "allow"
        between = await check(admin, actor={"partner_id": "dist-2"}, at=NOW + 30 * MINUTE)
        assert reason(between, "locked")["until"] == z(NOW + HOUR)

    async def test_an_expired_lock_no_longer_denies(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-1"}, days=1)
        clock.set(NOW + DAY)
        assert (await check(admin, actor={"partner_id": "dist-2"}))["decision"] == "allow"


OWNER = {"rep_id": "rep-7", "team": "north"}


class TestOwnedByOther:
    @pytest.mark.parametrize(
        ("owner", "actor", "warned"),
        [
            pytest.param(OWNER, {"rep_id": "rep-9", "team": "north"}, True, id="other-rep"),
            pytest.param(OWNER, {"rep_id": "rep-9"}, True, id="other-rep-no-team"),
            pytest.param(OWNER, {"rep_id": "rep-7", "team": "south"}, False, id="same-rep"),
            pytest.param(OWNER, {"team": "south"}, True, id="other-team-no-rep"),
            pytest.param(OWNER, {"team": "north"}, False, id="same-team-no-rep"),
            pytest.param(OWNER, {"partner_id": "dist-1"}, False, id="partner-only"),
            pytest.param(OWNER, {}, False, id="no-actor"),
            pytest.param({"team": "north"}, {"rep_id": "rep-9", "team": "south"}, True, id="team"),
            pytest.param({"team": "north"}, {"rep_id": "rep-9"}, False, id="team-vs-rep"),
            pytest.param({"rep_id": "rep-7"}, {"team": "south"}, False, id="rep-vs-team"),
            pytest.param({}, {"rep_id": "rep-9", "team": "south"}, False, id="no-owner"),
        ],
    )
    async def test_ownership_warns_when_the_owner_differs(
        self,
        admin: httpx.AsyncClient,
        owner: dict[str, str],
        actor: dict[str, str],
        warned: bool,
    ) -> None:
        await put_customer(admin, owner=owner)
        result = await check(admin, actor=actor)
        if warned:
            assert result["decision"] == "warn"
            assert codes(result) == ["owned_by_other"]
            assert reason(result, "owned_by_other")["until"] is None
        else:
            assert result == {"decision": "allow", "reasons": [], "plan": None}


class TestRecentContactByOther:
    @pytest.mark.parametrize(
        ("by", "actor", "warned"),
        [
            pytest.param({"team": "north"}, {"team": "south"}, True, id="other-team"),
            pytest.param({"team": "north"}, {"team": "north", "rep_id": "r2"}, False, id="team"),
            pytest.param({"team": "north"}, {"rep_id": "r2"}, False, id="actor-without-team"),
            pytest.param({"partner_id": "d1"}, {"partner_id": "d2"}, True, id="other-partner"),
            pytest.param({"partner_id": "d1"}, {"partner_id": "d1"}, False, id="same-partner"),
            pytest.param({"partner_id": "d1"}, {"team": "north"}, True, id="partner-vs-company"),
            pytest.param({"team": "north"}, {"partner_id": "d1"}, True, id="company-vs-partner"),
            pytest.param({"rep_id": "r1"}, {"rep_id": "r2"}, False, id="reps-only"),
            pytest.param(None, {"team": "south"}, False, id="touch-without-actor"),
            pytest.param(None, {"partner_id": "d1"}, False, id="no-actor-vs-partner"),
        ],
    )
    async def test_a_recent_contact_by_another_team_or_partner_warns(
        self,
        admin: httpx.AsyncClient,
        by: dict[str, str] | None,
        actor: dict[str, str],
        warned: bool,
    ) -> None:
        await put_customer(admin)
        fields: dict[str, Any] = {"actor": by} if by is not None else {}
        await touch(admin, NOW - 2 * HOUR, **fields)
        result = await check(admin, actor=actor)
        if warned:
            assert result["decision"] == "warn"
            assert codes(result) == ["recent_contact_by_other"]
            assert reason(result, "recent_contact_by_other")["until"] == z(NOW + 22 * HOUR)
        else:
            assert result == {"decision": "allow", "reasons": [], "plan": None}

    async def test_until_is_the_last_such_contact_plus_the_window(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - 5 * HOUR, actor={"team": "north"})
        await touch(admin, NOW - 3 * HOUR, actor={"team": "west", "rep_id": "w1"})
        await touch(admin, NOW - 4 * HOUR, actor={"team": "north"})
        await touch(admin, NOW - HOUR, actor={"team": "south"})  # the actor's own team
        result = await check(admin, actor={"team": "south"})
        assert reason(result, "recent_contact_by_other")["until"] == z(NOW + 21 * HOUR)

    async def test_an_inbound_contact_counts(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, "phone", direction="inbound", actor={"team": "north"})
        assert codes(await check(admin, actor={"team": "south"})) == ["recent_contact_by_other"]

    async def test_an_engagement_is_no_contact(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, kind="engagement", outcome="opened", actor={"team": "north"})
        assert (await check(admin, actor={"team": "south"}))["decision"] == "allow"

    async def test_a_contact_older_than_the_window_does_not_count(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - 24 * HOUR, actor={"team": "north"})
        assert (await check(admin, actor={"team": "south"}))["decision"] == "allow"
        inside = await check(admin, actor={"team": "south"}, at=NOW - MINUTE)
        assert reason(inside, "recent_contact_by_other")["until"] == z(NOW)

    async def test_the_window_is_the_policys_recent_contact_hours(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, recent_contact_hours=48)
        await put_customer(admin)
        await touch(admin, NOW - 30 * HOUR, actor={"partner_id": "d1"})
        result = await check(admin, actor={"partner_id": "d2"})
        assert reason(result, "recent_contact_by_other")["until"] == z(NOW + 18 * HOUR)

    async def test_a_contact_after_at_does_not_count(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, actor={"team": "north"})
        result = await check(admin, actor={"team": "south"}, at=NOW - 2 * HOUR)
        assert result["decision"] == "allow"

    async def test_a_future_check_sees_the_contact_until_it_leaves_the_window(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        await touch(admin, NOW - HOUR, actor={"team": "north"})
        actor = {"team": "south"}
        assert codes(await check(admin, actor=actor, at=NOW + 22 * HOUR)) == [
            "recent_contact_by_other"
        ]
        assert (await check(admin, actor=actor, at=NOW + 23 * HOUR))["decision"] == "allow"


A = {"rep_id": "rep-a", "team": "north"}
B = {"rep_id": "rep-b", "team": "south"}


class TestPlannedByOther:
    async def test_another_actors_reservation_warns(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await check(admin, actor=A, reserve=True)
        result = await check(admin, actor=B)
        assert result["decision"] == "warn"
        assert codes(result) == ["planned_by_other"]
        assert reason(result, "planned_by_other")["until"] == z(NOW + HOUR)

    @pytest.mark.parametrize(
        ("actor", "warned"),
        [
            pytest.param(A, False, id="same-actor"),
            pytest.param({"team": "north"}, False, id="same-team-only"),
            pytest.param({"rep_id": "rep-a"}, False, id="same-rep-only"),
            # a partner's rep is never the company's own, whatever its id
            pytest.param({"rep_id": "rep-a", "partner_id": "d1"}, True, id="rep-and-partner"),
            pytest.param({"rep_id": "rep-b", "team": "north"}, True, id="other-rep-same-team"),
            pytest.param({"partner_id": "d1"}, True, id="nothing-in-common"),
            pytest.param({}, True, id="no-actor"),
        ],
    )
    async def test_actors_are_the_same_when_all_shared_ids_agree(
        self, admin: httpx.AsyncClient, actor: dict[str, str], warned: bool
    ) -> None:
        await put_customer(admin)
        await check(admin, actor=A, reserve=True)
        result = await check(admin, actor=actor)
        assert codes(result) == (["planned_by_other"] if warned else [])

    async def test_a_filed_plan_warns_within_the_window_of_its_time(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        body = {
            "customer_id": "c-1",
            "actor": A,
            "channel": "visit",
            "planned_at": z(NOW + 10 * HOUR),
        }
        assert (await admin.post("/v1/contact-plans", json=body)).status_code == 201
        assert codes(await check(admin, actor=B)) == ["planned_by_other"]
        assert codes(await check(admin, actor=B, at=NOW - 13 * HOUR)) == ["planned_by_other"]
        assert codes(await check(admin, actor=B, at=NOW + 33 * HOUR)) == ["planned_by_other"]
        assert (await check(admin, actor=B, at=NOW - 15 * HOUR))["decision"] == "allow"
        assert (await check(admin, actor=B, at=NOW + 35 * HOUR))["decision"] == "allow"

    async def test_an_expired_reservation_no_longer_warns(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        await check(admin, actor=A, reserve=True, reserve_minutes=30)
        clock.set(NOW + 30 * MINUTE)
        assert (await check(admin, actor=B))["decision"] == "allow"

    async def test_a_rejected_plan_no_longer_warns(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, owner={"team": "east"})
        body = {"customer_id": "c-1", "actor": A, "channel": "visit", "planned_at": z(NOW + HOUR)}
        filed = (await admin.post("/v1/contact-plans", json=body)).json()
        assert filed["status"] == "pending"
        assert "planned_by_other" in codes(await check(admin, actor={"team": "east"}))
        rejected = await admin.post(f"/v1/contact-plans/{filed['id']}/reject")
        assert rejected.status_code == 200, rejected.text
        assert (await check(admin, actor={"team": "east"}))["decision"] == "allow"

    async def test_a_consumed_reservation_no_longer_warns(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        await check(admin, actor=A, reserve=True)
        await touch(admin, NOW, actor=A)
        other_rep = {"rep_id": "rep-b", "team": "north"}
        assert (await check(admin, actor=other_rep))["decision"] == "allow"


class TestDecision:
    async def test_a_deny_reason_beats_warn_reasons_and_all_are_listed(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner=OWNER, preferences={"opted_out_channels": ["sms"]})
        await touch(admin, NOW - HOUR, actor={"team": "west"})
        result = await check(admin, "sms", actor={"rep_id": "rep-9", "team": "south"})
        assert result["decision"] == "deny"
        assert sorted(codes(result)) == ["opted_out", "owned_by_other", "recent_contact_by_other"]

    async def test_warn_reasons_alone_warn(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, owner=OWNER)
        await touch(admin, NOW - HOUR, actor={"team": "west"})
        await check(admin, actor={"team": "west"}, reserve=True)
        result = await check(admin, actor={"rep_id": "rep-9", "team": "south"})
        assert result["decision"] == "warn"
        assert sorted(codes(result)) == [
            "owned_by_other", "planned_by_other", "recent_contact_by_other",
        ]  # fmt: skip

    async def test_every_deny_reason_is_listed(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, one_cap(1, min_gap_hours=24), business_days=WEEKDAYS)
        await put_customer(
            admin,
            preferences={
                "opted_out_channels": ["sms"],
                "paused_until": z(NOW + 5 * DAY),
                "quiet_hours": {"start": "00:00", "end": "23:59"},
            },
        )
        await touch(admin, NOW - HOUR, "phone")
        await claim(admin, {"partner_id": "dist-1"})
        result = await check(admin, "sms", actor={"partner_id": "dist-2"})
        assert result["decision"] == "deny"
        assert sorted(codes(result)) == [
            "cap_reached", "locked", "min_gap", "opted_out", "paused", "quiet_hours",
        ]  # fmt: skip
        weekend = await check(
            admin, "sms", actor={"partner_id": "dist-2"}, at=datetime(2026, 11, 21, tzinfo=UTC)
        )
        assert "non_business_day" in codes(weekend)


class TestPastAndFutureInstants:
    async def test_a_past_check_ignores_what_happened_after_it(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1, min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - HOUR)
        assert (await check(admin, at=NOW - 2 * HOUR))["decision"] == "allow"
        now = await check(admin)
        assert sorted(codes(now)) == ["cap_reached", "min_gap"]

    async def test_a_future_check_sees_reasons_that_have_passed_by_then(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1, min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - HOUR)
        assert codes(await check(admin, at=NOW + 3 * DAY)) == ["cap_reached"]
        assert (await check(admin, at=NOW + 7 * DAY - HOUR))["decision"] == "allow"

    async def test_a_past_check_sees_a_contact_from_before_it(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(min_gap_hours=48))
        await put_customer(admin)
        await touch(admin, NOW - 30 * DAY)
        result = await check(admin, at=NOW - 29 * DAY)
        assert reason(result, "min_gap")["until"] == z(NOW - 28 * DAY)


class TestReserve:
    async def test_an_allowed_reservation_returns_an_approved_plan(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        result = await check(admin, "phone", actor=A, reserve=True)
        assert result["decision"] == "allow"
        made = result["plan"]
        assert set(made) == PLAN_FIELDS
        assert made["customer_id"] == "c-1"
        assert made["kind"] == "reservation"
        assert made["status"] == "approved"
        assert made["channel"] == "phone"
        assert made["actor"] == {**A, "partner_id": None}
        assert made["planned_at"] == z(NOW)
        assert made["expires_at"] == z(NOW + HOUR)
        assert made["created_at"] == z(NOW)
        assert made["reasons"] == []
        assert made["touch_id"] is None
        assert made["note"] is None
        assert await plan(admin, made["id"]) == made

    async def test_reserve_minutes_sets_the_expiry_from_at(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        at = NOW + 2 * DAY
        made = (await check(admin, at=at, reserve=True, reserve_minutes=90))["plan"]
        assert (made["planned_at"], made["expires_at"]) == (z(at), z(at + 90 * MINUTE))

    async def test_a_warned_reservation_is_made_with_its_reasons(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, owner=OWNER)
        result = await check(admin, actor={"rep_id": "rep-9"}, reserve=True)
        assert result["decision"] == "warn"
        assert result["plan"]["status"] == "approved"
        assert [r["code"] for r in result["plan"]["reasons"]] == ["owned_by_other"]

    async def test_a_denied_reservation_makes_no_plan(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin, preferences={"opted_out_channels": ["all"]})
        result = await check(admin, reserve=True)
        assert result["decision"] == "deny"
        assert result["plan"] is None
        listed = (await admin.get("/v1/contact-plans", params={"customer_id": "c-1"})).json()
        assert listed["items"] == []

    async def test_a_check_without_reserve_makes_no_plan(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        assert (await check(admin, reserve=False))["plan"] is None
        listed = (await admin.get("/v1/contact-plans", params={"customer_id": "c-1"})).json()
        assert listed["items"] == []

    async def test_a_reservation_counts_against_the_cap_until_it_expires(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await check(admin, actor=A, reserve=True, reserve_minutes=45)
        result = await check(admin, actor=A)
        assert codes(result) == ["cap_reached"]
        assert reason(result, "cap_reached")["until"] == z(NOW + 45 * MINUTE)
        assert (await check(admin, actor=A, at=NOW + 45 * MINUTE))["decision"] == "allow"

    async def test_a_reservation_shows_in_the_status_caps(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, one_cap(2))
        await put_customer(admin)
        await check(admin, actor=A, reserve=True)
        cap = (await status(admin))["caps"][0]
        assert (cap["used"], cap["remaining"], cap["frees_at"]) == (1, 1, None)
        await check(admin, actor=A, reserve=True)
        cap = (await status(admin))["caps"][0]
        assert (cap["used"], cap["remaining"], cap["frees_at"]) == (2, 0, z(NOW + HOUR))

    async def test_a_reservation_counts_for_every_channel_cap_that_takes_its_channel(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, rule(caps=[{"window_days": 7, "max": 1, "channels": ["phone"]}]))
        await put_customer(admin)
        await check(admin, "email", actor=A, reserve=True)
        assert (await check(admin, "phone", actor=A))["decision"] == "allow"
        await check(admin, "phone", actor=A, reserve=True)
        assert codes(await check(admin, "phone", actor=A)) == ["cap_reached"]

    async def test_a_reservation_counts_from_the_moment_it_is_made(
        self, admin: httpx.AsyncClient
    ) -> None:
        """[1.1] Whatever instant it reserves: one made now for tomorrow leaves no room now."""
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await check(admin, at=NOW + DAY, reserve=True)
        cap = (await status(admin))["caps"][0]
        assert (cap["used"], cap["frees_at"]) == (1, z(NOW + DAY + HOUR))
        assert (await status(admin, as_of=NOW + DAY))["caps"][0]["used"] == 1
        assert (await status(admin, as_of=NOW + DAY + HOUR))["caps"][0]["used"] == 0
        assert (await status(admin, as_of=NOW - MINUTE))["caps"][0]["used"] == 0
        assert codes(await check(admin, at=NOW)) == ["cap_reached"]

    async def test_a_reservation_ahead_leaves_no_room_for_another_now(
        self, admin: httpx.AsyncClient
    ) -> None:
        """The race of issue 8: 2 contacts of a cap of 3, one reserved 10 minutes ahead."""
        await set_policy(admin, one_cap(3))
        await put_customer(admin)
        await touch(admin, NOW - 2 * DAY)
        await touch(admin, NOW - DAY)
        first = await check(admin, actor=A, at=NOW + 10 * MINUTE, reserve=True)
        assert first["decision"] != "deny"
        cap = (await status(admin))["caps"][0]
        assert (cap["used"], cap["remaining"]) == (3, 0)
        second = await check(admin, actor=A, at=NOW, reserve=True)
        assert second["decision"] == "deny"
        assert second["plan"] is None
        assert reason(second, "cap_reached")["until"] == z(NOW + 10 * MINUTE + HOUR)

    async def test_an_expired_reservation_stops_counting(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        made = (await check(admin, actor=A, reserve=True))["plan"]
        clock.set(NOW + HOUR)
        assert (await status(admin))["caps"][0]["used"] == 0
        assert (await plan(admin, made["id"]))["status"] == "expired"
        assert (await check(admin, actor=A))["decision"] == "allow"

    async def test_a_reservation_expired_through_the_clock_lists_as_expired(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        made = (await check(admin, reserve=True, reserve_minutes=5))["plan"]
        params = {"customer_id": "c-1", "status": "expired"}
        assert (await admin.get("/v1/contact-plans", params=params)).json()["items"] == []
        clock.set(NOW + 5 * MINUTE)
        listed = (await admin.get("/v1/contact-plans", params=params)).json()["items"]
        assert [item["id"] for item in listed] == [made["id"]]


class TestReservationConsumption:
    async def test_a_matching_contact_consumes_the_reservation(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(2))
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        stored = await touch(admin, NOW, "phone", actor=A)
        done = await plan(admin, made["id"])
        assert done["status"] == "done"
        assert done["touch_id"] == stored["id"]

    async def test_after_consumption_the_contact_counts_once(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(2))
        await put_customer(admin)
        await check(admin, "phone", actor=A, reserve=True)
        assert (await status(admin))["caps"][0]["used"] == 1
        await touch(admin, NOW + MINUTE, "phone", actor=A)
        cap = (await status(admin, as_of=NOW + MINUTE))["caps"][0]
        assert (cap["used"], cap["remaining"]) == (1, 1)
        assert (await check(admin, "phone", actor=A, at=NOW + MINUTE))["decision"] == "allow"

    async def test_the_contact_then_holds_the_cap_for_its_whole_window(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        await check(admin, "phone", actor=A, reserve=True)
        await touch(admin, NOW, "phone", actor=A)
        clock.set(NOW + 2 * HOUR)
        assert reason(await check(admin, actor=A), "cap_reached")["until"] == z(NOW + 7 * DAY)

    async def test_the_oldest_matching_reservation_is_consumed_first(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        first = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        clock.set(NOW + MINUTE)
        second = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        await touch(admin, NOW + MINUTE, "phone", actor=A)
        assert (await plan(admin, first["id"]))["status"] == "done"
        assert (await plan(admin, second["id"]))["status"] == "approved"

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"channel": "email", "actor": A}, id="other-channel"),
            pytest.param({"channel": "phone", "actor": B}, id="other-actor"),
            pytest.param(
                {"channel": "phone", "actor": {"rep_id": "rep-z", "team": "north"}},
                id="other-rep-of-the-team",
            ),
            pytest.param({"channel": "phone"}, id="no-actor"),
            pytest.param({"channel": "phone", "actor": A, "direction": "inbound"}, id="inbound"),
            pytest.param(
                {"channel": "phone", "actor": A, "kind": "engagement", "outcome": "replied"},
                id="engagement",
            ),
        ],
    )
    async def test_a_contact_that_does_not_match_leaves_it_open(
        self, admin: httpx.AsyncClient, fields: dict[str, Any]
    ) -> None:
        await set_policy(admin, one_cap(5))
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        await touch(admin, NOW, **fields)
        assert (await plan(admin, made["id"]))["status"] == "approved"

    async def test_a_contact_with_a_subset_of_the_actor_matches(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        await touch(admin, NOW, "phone", actor={"rep_id": "rep-a"})
        assert (await plan(admin, made["id"]))["status"] == "done"

    async def test_an_unconsumed_reservation_and_its_contact_both_count(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(5))
        await put_customer(admin)
        await check(admin, "phone", actor=A, reserve=True)
        await touch(admin, NOW, "email", actor=A)
        assert (await status(admin))["caps"][0]["used"] == 2

    async def test_a_contact_up_to_five_minutes_before_the_check_consumes_it(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        await touch(admin, NOW - 5 * MINUTE, "phone", actor=A)
        assert (await plan(admin, made["id"]))["status"] == "done"

    async def test_an_older_contact_does_not_consume_it(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        await touch(admin, NOW - 6 * MINUTE, "phone", actor=A)
        assert (await plan(admin, made["id"]))["status"] == "approved"

    async def test_a_contact_after_the_expiry_does_not_consume_it(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        clock.set(NOW + HOUR)
        await touch(admin, NOW + HOUR, "phone", actor=A)
        assert (await plan(admin, made["id"]))["status"] == "expired"

    async def test_a_contact_just_before_the_expiry_consumes_it(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        clock.set(NOW + HOUR - MINUTE)
        await touch(admin, NOW + HOUR - MINUTE, "phone", actor=A)
        assert (await plan(admin, made["id"]))["status"] == "done"

    async def test_a_batch_contact_consumes_it_too(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        made = (await check(admin, "phone", actor=A, reserve=True))["plan"]
        item = {
            "customer_id": "c-1", "channel": "phone", "occurred_at": z(NOW), "actor": A,
            "source": "crm", "external_id": "b-1",
        }  # fmt: skip
        response = await admin.post("/v1/touches/batch", json={"touches": [item]})
        assert response.status_code == 200, response.text
        done = await plan(admin, made["id"])
        assert (done["status"], done["touch_id"]) == ("done", response.json()["results"][0]["id"])

    async def test_a_partners_reservation_is_consumed_by_that_partners_contact(
        self, tenant: Tenant
    ) -> None:
        admin = await tenant.client("admin")
        partner = await tenant.client("partner", "dist-1")
        await put_customer(admin)
        made = (await check(partner, "visit", reserve=True))["plan"]
        assert made["actor"]["partner_id"] == "dist-1"
        stored = await touch(admin, NOW, "visit", actor={"partner_id": "dist-1"})
        done = await plan(partner, made["id"])
        assert (done["status"], done["touch_id"]) == ("done", stored["id"])


class TestPartnerChecks:
    async def test_a_partner_always_acts_as_its_own_partner(self, tenant: Tenant) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        await claim(admin, {"partner_id": "dist-1"})
        holder = await tenant.client("partner", "dist-1")
        other = await tenant.client("partner", "dist-2")
        assert (await check(holder, actor={"partner_id": "dist-2"}))["decision"] == "allow"
        assert codes(await check(other, actor={"partner_id": "dist-1"})) == ["locked"]

    async def test_a_partners_reservation_is_its_own_whatever_the_body_says(
        self, tenant: Tenant
    ) -> None:
        await put_customer(await tenant.client("admin"))
        partner = await tenant.client("partner", "dist-1")
        made = (
            await check(partner, actor={"partner_id": "dist-9", "rep_id": "p-rep"}, reserve=True)
        )["plan"]
        assert made["actor"] == {"rep_id": "p-rep", "team": None, "partner_id": "dist-1"}

    async def test_a_partner_cannot_pass_for_a_team_that_holds_the_lock(
        self, tenant: Tenant
    ) -> None:
        admin = await tenant.client("admin")
        await put_customer(admin)
        await claim(admin, {"team": "north"})
        partner = await tenant.client("partner", "dist-1")
        assert codes(await check(partner, actor={"team": "north", "rep_id": "r-1"})) == ["locked"]

    async def test_a_partner_gets_generic_reasons_and_only_calendar_and_lock_untils(
        self, tenant: Tenant
    ) -> None:
        admin = await tenant.client("admin")
        await set_policy(admin, one_cap(1, min_gap_hours=48))
        await put_customer(
            admin,
            owner={"rep_id": "owner-hidden", "team": "owners-team"},
            preferences={
                "paused_until": z(NOW + DAY),
                "quiet_hours": {"start": "00:00", "end": "23:59"},
            },
        )
        await touch(admin, NOW - HOUR, actor={"partner_id": "dist-hidden", "team": "team-hidden"})
        filed = {
            "customer_id": "c-1", "channel": "visit", "planned_at": z(NOW + HOUR),
            "actor": {"rep_id": "rep-hidden", "team": "team-hidden"},
        }  # fmt: skip
        assert (await admin.post("/v1/contact-plans", json=filed)).status_code == 201
        await claim(admin, {"partner_id": "dist-hidden"})
        full = await check(admin, actor={"partner_id": "dist-1", "team": "pteam", "rep_id": "p1"})
        partner = await tenant.client("partner", "dist-1")
        response = await partner.post(
            "/v1/conflict-checks",
            json=check_body(actor={"team": "pteam", "rep_id": "p1"}, reserve=True),
        )
        assert response.status_code == 200, response.text
        seen = response.json()
        assert seen["decision"] == "deny"
        assert seen["plan"] is None
        assert sorted(codes(seen)) == sorted(codes(full))
        assert set(codes(seen)) == {
            "cap_reached", "locked", "paused", "min_gap", "quiet_hours", "owned_by_other",
            "recent_contact_by_other", "planned_by_other",
        }  # fmt: skip
        for item in seen["reasons"]:
            # [1.1] the calendar's and the lock's instants tell nothing of the history
            if item["code"] in ("quiet_hours", "locked"):
                assert item["until"] == reason(full, item["code"])["until"]
            else:
                assert item["until"] is None
            assert item["message"]
            assert not TIMESTAMP.search(item["message"]), item
        for name in HIDDEN:
            assert name not in response.text
        assert any(name in str(full["reasons"]) for name in HIDDEN)  # admins are told

    async def test_a_partner_is_told_of_another_partners_plan_without_its_name(
        self, tenant: Tenant
    ) -> None:
        await put_customer(await tenant.client("admin"))
        await check(await tenant.client("partner", "dist-hidden"), reserve=True)
        partner = await tenant.client("partner", "dist-1")
        response = await partner.post("/v1/conflict-checks", json=check_body(reserve=True))
        assert response.status_code == 200, response.text
        seen = response.json()
        assert seen["decision"] == "warn"
        assert codes(seen) == ["planned_by_other"]
        assert seen["reasons"][0]["until"] is None
        assert seen["plan"]["reasons"] == seen["reasons"]
        assert "dist-hidden" not in response.text


class TestReservingIdempotently:
    async def test_a_repeat_with_the_same_key_returns_the_first_reservation(
        self, admin: httpx.AsyncClient
    ) -> None:
        await set_policy(admin, one_cap(1))
        await put_customer(admin)
        headers = {"Idempotency-Key": "reserve-1"}
        body = check_body(actor=A, reserve=True)
        first = await admin.post("/v1/conflict-checks", json=body, headers=headers)
        again = await admin.post("/v1/conflict-checks", json=body, headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert again.json() == first.json()
        assert first.json()["decision"] == "allow"
        listed = (await admin.get("/v1/contact-plans", params={"customer_id": "c-1"})).json()
        assert len(listed["items"]) == 1
        assert (await status(admin))["caps"][0]["used"] == 1

    async def test_the_same_key_with_another_body_is_422(self, admin: httpx.AsyncClient) -> None:
        await put_customer(admin)
        headers = {"Idempotency-Key": "reserve-1"}
        first = await admin.post(
            "/v1/conflict-checks", json=check_body(reserve=True), headers=headers
        )
        assert first.status_code == 200, first.text
        other = check_body("phone", reserve=True)
        assert_problem(await admin.post("/v1/conflict-checks", json=other, headers=headers), 422)
