"""Analytics: contact volume, outcomes by follow-up number and cadence compliance, on small
data sets at fixed past dates, every count and rate worked out by hand."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.frequency.refreshing import fold_outcome_rollups
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    put_customer,
    rule,
    set_policy,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SHANGHAI = "Asia/Shanghai"
CONTACTS = "/v1/analytics/contacts"
OUTCOMES = "/v1/analytics/touch-outcomes"
COMPLIANCE = "/v1/analytics/compliance"
# October and November 2026 in Shanghai (UTC+8).
TWO_MONTHS_FROM, TWO_MONTHS_TO = "2026-10-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def report(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def counts(
    contacts: int, outbound: int, inbound: int, automated: int, customers: int,
    effective: int, responded: int, response_rate: float | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "contacts": contacts, "outbound": outbound, "inbound": inbound, "automated": automated,
        "customers": customers, "effective": effective, "responded": responded,
        "response_rate": response_rate,
    }  # fmt: skip


def row(period_start: str | None, group: dict[str, Any], *values: Any) -> dict[str, Any]:
    return {"period_start": period_start, "group": group, **counts(*values)}


async def engagement(
    client: httpx.AsyncClient, contact: dict[str, Any], outcome: str, after: timedelta = HOUR
) -> None:
    """An engagement pointing at ``contact``, ``after`` it."""
    await touch(
        client, at(contact["occurred_at"]) + after, contact["channel"],
        contact["customer_id"], kind="engagement", outcome=outcome,
        ref_external_id=contact["external_id"],
    )  # fmt: skip


async def a_shanghai_month(client: httpx.AsyncClient) -> None:
    """Two customers' contacts around the turn of October in Shanghai.

    c-1 (strategic, team north): outbound email 31 Oct 15:00Z (23:00 in Shanghai: October),
    outbound email 31 Oct 17:00Z (1 Nov 01:00 in Shanghai: November), both answered by its
    inbound call of 2 Nov 00:00Z (within 7 days). c-2 (standard, team south): an automated
    email (opened), a call that connected, an email replied to; plus an engagement and a
    purchase, which are no contacts."""
    await set_policy(client, timezone=SHANGHAI)
    await put_customer(client, "c-1", segment="strategic", owner={"team": "north"})
    await put_customer(client, "c-2", segment="standard", owner={"team": "south"})
    north = {"team": "north", "rep_id": "rep-1"}
    await touch(client, at("2026-10-31T15:00:00Z"), "email", "c-1", actor=north)
    await touch(client, at("2026-10-31T17:00:00Z"), "email", "c-1", actor=north)
    await touch(client, at("2026-11-02T00:00:00Z"), "phone", "c-1", direction="inbound")
    newsletter = await touch(
        client, at("2026-11-03T00:00:00Z"), "email", "c-2", automated=True, category="marketing"
    )
    await engagement(client, newsletter, "opened")
    south = {"team": "south", "partner_id": "dist-9"}
    await touch(
        client, at("2026-11-04T00:00:00Z"), "phone", "c-2", outcome="completed", actor=south
    )
    offer = await touch(client, at("2026-11-05T00:00:00Z"), "email", "c-2", category="sales")
    await engagement(client, offer, "replied", after=DAY)
    await touch(client, at("2026-11-06T00:00:00Z"), "web", "c-2", kind="purchase", amount=10)


class TestContacts:
    async def test_months_in_the_policy_zone_with_totals(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_shanghai_month(admin)
        body = await report(admin, CONTACTS, **{"from": TWO_MONTHS_FROM, "to": TWO_MONTHS_TO},
                            interval="month")  # fmt: skip
        assert body == {
            "from": "2026-09-30T16:00:00Z", "to": "2026-11-30T16:00:00Z", "interval": "month",
            "timezone": SHANGHAI, "group_by": [],
            "rows": [
                row("2026-10-01T00:00:00+08:00", {}, 1, 1, 0, 0, 1, 0, 1, 1.0),
                # outbound: c-1's (responded), c-2's three (the reply responded); effective:
                # the opened newsletter, the connected call, the replied offer
                row("2026-11-01T00:00:00+08:00", {}, 5, 4, 1, 1, 2, 3, 2, 0.5),
            ],
            "totals": counts(6, 5, 1, 1, 2, 3, 3, 0.6),
        }  # fmt: skip

    async def test_two_group_keys_without_interval(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_shanghai_month(admin)
        body = await report(admin, CONTACTS, **{"from": TWO_MONTHS_FROM, "to": TWO_MONTHS_TO},
                            group_by="channel,direction")  # fmt: skip
        assert body["interval"] is None
        assert body["group_by"] == ["channel", "direction"]
        assert body["rows"] == [
            row(None, {"channel": "email", "direction": "outbound"}, 4, 4, 0, 1, 2, 2, 3, 0.75),
            # no outbound contact: no response rate
            row(None, {"channel": "phone", "direction": "inbound"}, 1, 0, 1, 0, 1, 0, 0, None),
            row(None, {"channel": "phone", "direction": "outbound"}, 1, 1, 0, 0, 1, 1, 0, 0.0),
        ]
        assert body["totals"] == counts(6, 5, 1, 1, 2, 3, 3, 0.6)

    async def test_groups_of_actor_and_profile_nulls_last(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_shanghai_month(admin)
        window = {"from": TWO_MONTHS_FROM, "to": TWO_MONTHS_TO}
        by_team = await report(admin, CONTACTS, **window, group_by="team,automated")
        assert by_team["rows"] == [
            row(None, {"team": "north", "automated": False}, 2, 2, 0, 0, 1, 0, 2, 1.0),
            row(None, {"team": "south", "automated": False}, 1, 1, 0, 0, 1, 1, 0, 0.0),
            # touches naming no actor: the inbound call, the newsletter, the offer
            row(None, {"team": None, "automated": False}, 2, 1, 1, 0, 2, 1, 1, 1.0),
            row(None, {"team": None, "automated": True}, 1, 1, 0, 1, 1, 1, 0, 0.0),
        ]
        by_profile = await report(admin, CONTACTS, **window, group_by="owner_team,partner")
        assert [(r["group"], r["contacts"]) for r in by_profile["rows"]] == [
            ({"owner_team": "north", "partner": None}, 3),
            ({"owner_team": "south", "partner": "dist-9"}, 1),
            ({"owner_team": "south", "partner": None}, 2),
        ]
        by_segment = await report(admin, CONTACTS, **window, group_by="segment,category")
        assert [(r["group"], r["contacts"]) for r in by_segment["rows"]] == [
            ({"segment": "standard", "category": "marketing"}, 1),
            ({"segment": "standard", "category": "sales"}, 1),
            ({"segment": "standard", "category": None}, 1),
            ({"segment": "strategic", "category": None}, 3),
        ]
        by_rep = await report(admin, CONTACTS, **window, group_by="rep")
        assert [(r["group"], r["contacts"]) for r in by_rep["rows"]] == [
            ({"rep": "rep-1"}, 2),
            ({"rep": None}, 4),
        ]

    async def test_filters(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_shanghai_month(admin)
        window = {"from": TWO_MONTHS_FROM, "to": TWO_MONTHS_TO}
        email = await report(admin, CONTACTS, **window, channel="email", interval="month")
        assert email["rows"] == [
            row("2026-10-01T00:00:00+08:00", {}, 1, 1, 0, 0, 1, 0, 1, 1.0),
            # a response on another channel (c-1's call) still counts
            row("2026-11-01T00:00:00+08:00", {}, 3, 3, 0, 1, 2, 2, 2, 0.6667),
        ]
        assert email["totals"] == counts(4, 4, 0, 1, 2, 2, 3, 0.75)
        team = await report(admin, CONTACTS, **window, team="north")
        assert team["totals"] == counts(2, 2, 0, 0, 1, 0, 2, 1.0)
        rep = await report(admin, CONTACTS, **window, rep_id="rep-1")
        assert rep["totals"] == team["totals"]
        partner = await report(admin, CONTACTS, **window, partner_id="dist-9")
        assert partner["totals"] == counts(1, 1, 0, 0, 1, 1, 0, 0.0)
        sales = await report(admin, CONTACTS, **window, category="sales")
        assert sales["totals"] == counts(1, 1, 0, 0, 1, 1, 1, 1.0)
        personal = await report(admin, CONTACTS, **window, automated="false", channel="email")
        assert personal["totals"] == counts(3, 3, 0, 0, 2, 1, 3, 1.0)
        nobody = await report(admin, CONTACTS, **window, rep_id="rep-404", interval="day")
        assert nobody["rows"] == []
        assert nobody["totals"] == counts(0, 0, 0, 0, 0, 0, 0, None)

    async def test_iso_weeks_days_and_quarters(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await set_policy(admin)  # UTC
        await touch(admin, at("2026-09-30T23:00:00Z"))  # Wednesday, the third quarter
        await touch(admin, at("2026-10-01T00:00:00Z"))  # Thursday, the fourth quarter
        await touch(admin, at("2026-11-08T23:59:59Z"))  # Sunday
        await touch(admin, at("2026-11-09T00:00:00Z"))  # Monday: the next ISO week
        await touch(admin, at("2026-11-09T10:00:00Z"))
        window = {"from": "2026-09-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}

        def periods(body: dict[str, Any]) -> list[tuple[str, int]]:
            return [(r["period_start"], r["contacts"]) for r in body["rows"]]

        weeks = await report(admin, CONTACTS, **window, interval="week")
        assert periods(weeks) == [
            ("2026-09-28T00:00:00+00:00", 2),  # Monday 28 September: both sides of the quarter
            ("2026-11-02T00:00:00+00:00", 1),  # the weeks between have no contact: left out
            ("2026-11-09T00:00:00+00:00", 2),
        ]
        assert weeks["timezone"] == "UTC"
        days = await report(admin, CONTACTS, **window, interval="day")
        assert periods(days) == [
            ("2026-09-30T00:00:00+00:00", 1),
            ("2026-10-01T00:00:00+00:00", 1),
            ("2026-11-08T00:00:00+00:00", 1),
            ("2026-11-09T00:00:00+00:00", 2),
        ]
        quarters = await report(admin, CONTACTS, **window, interval="quarter")
        assert periods(quarters) == [
            ("2026-07-01T00:00:00+00:00", 1),
            ("2026-10-01T00:00:00+00:00", 4),
        ]
        # in Shanghai, 30 September 23:00Z is already 1 October, and Sunday 23:59:59Z Monday
        await set_policy(admin, timezone=SHANGHAI)
        quarters = await report(admin, CONTACTS, **window, interval="quarter")
        assert periods(quarters) == [("2026-10-01T00:00:00+08:00", 5)]
        weeks = await report(admin, CONTACTS, **window, interval="week")
        assert periods(weeks) == [
            ("2026-09-28T00:00:00+08:00", 2),
            ("2026-11-09T00:00:00+08:00", 3),
        ]

    async def test_the_range_is_half_open(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await touch(admin, at("2026-11-01T00:00:00Z"))
        await touch(admin, at("2026-11-02T00:00:00Z"))
        body = await report(admin, CONTACTS, **{"from": "2026-11-01T00:00:00Z",
                                                "to": "2026-11-02T00:00:00Z"})  # fmt: skip
        assert body["rows"] == [row(None, {}, 1, 1, 0, 0, 1, 0, 0, 0.0)]

    async def test_csv(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_shanghai_month(admin)
        params = {"from": TWO_MONTHS_FROM, "to": TWO_MONTHS_TO, "interval": "month",
                  "group_by": "channel,automated"}  # fmt: skip
        response = await admin.get(CONTACTS, params=params, headers={"Accept": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.text == (
            "period_start,channel,automated,contacts,outbound,inbound,automated,customers,"
            "effective,responded,response_rate\r\n"
            "2026-10-01T00:00:00+08:00,email,false,1,1,0,0,1,0,1,1.0\r\n"
            "2026-11-01T00:00:00+08:00,email,false,2,2,0,0,2,1,2,1.0\r\n"
            "2026-11-01T00:00:00+08:00,email,true,1,1,0,1,1,1,0,0.0\r\n"
            "2026-11-01T00:00:00+08:00,phone,false,2,1,1,0,2,1,0,0.0\r\n"
        )
        # JSON unless CSV is asked for at least as much
        for accept in ("application/json", "*/*", "text/*", "application/json, text/csv;q=0.5"):
            json = await admin.get(CONTACTS, params=params, headers={"Accept": accept})
            assert json.headers["content-type"] == "application/json", accept
        both = await admin.get(CONTACTS, params=params, headers={"Accept": "text/csv, */*"})
        assert both.text == response.text


async def outbound_run(
    client: httpx.AsyncClient, customer_id: str, channel: str, start: datetime, days: int,
    **fields: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """One outbound contact a day for ``days`` days from ``start``."""
    return [
        await touch(client, start + i * DAY, channel, customer_id, **fields) for i in range(days)
    ]


def outcome_row(
    n: int, group: dict[str, Any], contacts: int, opened: int = 0, clicked: int = 0,
    replied: int = 0, meeting_booked: int = 0, converted: int = 0, completed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    def rate(part: int) -> float:
        return round(part / contacts, 4)

    return {
        "n": n, "group": group, "contacts": contacts, "opened": opened, "clicked": clicked,
        "replied": replied, "meeting_booked": meeting_booked, "converted": converted,
        "completed": completed, "open_rate": rate(opened), "reply_rate": rate(replied),
        "meeting_rate": rate(meeting_booked), "connect_rate": rate(completed),
    }  # fmt: skip


OCTOBER = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}


class TestTouchOutcomes:
    async def test_numbers_reset_by_responses_and_capped_at_ten(self, tenant: Tenant) -> None:
        """c-1 by email: A, B (opened, clicked), C; its inbound call (more than 7 days
        after C) resets; D, E (a replied engagement resets); F (a meeting booked). c-2: 12
        calls in a row, the 1st, 2nd and 10th connected."""
        admin = await tenant.client()
        await put_customer(admin, "c-1", segment="strategic")
        await put_customer(admin, "c-2", segment="standard")
        _, b, _ = await outbound_run(admin, "c-1", "email", at("2026-10-01T09:00:00Z"), 3)
        await engagement(admin, b, "opened")
        await engagement(admin, b, "clicked", after=2 * HOUR)
        await touch(admin, at("2026-10-20T09:00:00Z"), "phone", "c-1", direction="inbound")
        _, e = await outbound_run(admin, "c-1", "email", at("2026-10-21T09:00:00Z"), 2)
        await engagement(admin, e, "replied")
        await touch(admin, at("2026-10-24T09:00:00Z"), "email", "c-1", outcome="meeting_booked")
        for i in range(12):
            outcome = "completed" if i in (0, 1, 9) else "no_answer"
            await touch(
                admin, at("2026-10-01T10:00:00Z") + i * DAY, "phone", "c-2", outcome=outcome
            )
        body = await report(admin, OUTCOMES, **OCTOBER, group_by="channel")
        email, phone = {"channel": "email"}, {"channel": "phone"}
        assert body == {
            "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "timezone": "UTC",
            "group_by": ["channel"],
            "rows": [
                outcome_row(1, email, 3, meeting_booked=1),  # A, D, F
                outcome_row(2, email, 2, opened=1, clicked=1, replied=1),  # B, E
                outcome_row(3, email, 1),  # C
                *(outcome_row(n, phone, 1, completed=int(n in (1, 2))) for n in range(1, 10)),
                outcome_row(10, phone, 3, completed=1),  # the 10th, 11th and 12th calls
            ],
        }  # fmt: skip

    async def test_converted_engagements_at_the_end(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        calls = await outbound_run(admin, "c-2", "phone", at("2026-10-01T10:00:00Z"), 12)
        for n in (1, 2, 10):
            await touch(
                admin, at("2026-10-31T00:00:00Z"), "phone", "c-2", kind="engagement",
                outcome="converted", ref_external_id=calls[n - 1]["external_id"],
            )  # fmt: skip
        body = await report(admin, OUTCOMES, **OCTOBER)
        # converted engagements are responses too, but only from when they occurred
        assert body["rows"] == [
            *(outcome_row(n, {}, 1, converted=int(n in (1, 2))) for n in range(1, 10)),
            outcome_row(10, {}, 3, converted=1),
        ]

    async def test_history_before_the_range_counts(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await outbound_run(admin, "c-1", "email", at("2026-09-28T09:00:00Z"), 5)
        body = await report(admin, OUTCOMES, **OCTOBER)
        assert body["rows"] == [outcome_row(4, {}, 1), outcome_row(5, {}, 1)]

    async def test_a_late_arriving_touch_renumbers_what_follows(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await touch(admin, at("2026-10-01T09:00:00Z"))
        await touch(admin, at("2026-10-05T09:00:00Z"))
        await touch(admin, at("2026-10-09T09:00:00Z"))

        async def numbers() -> list[tuple[int, int]]:
            body = await report(admin, OUTCOMES, **OCTOBER)
            return [(r["n"], r["contacts"]) for r in body["rows"]]

        assert await numbers() == [(1, 1), (2, 1), (3, 1)]
        await touch(admin, at("2026-10-03T09:00:00Z"))  # posted late, occurred second
        assert await numbers() == [(1, 1), (2, 1), (3, 1), (4, 1)]
        # an inbound contact posted late, before the third: it and the fourth start over
        await touch(admin, at("2026-10-04T09:00:00Z"), "phone", direction="inbound")
        assert await numbers() == [(1, 2), (2, 2)]
        body = await report(admin, OUTCOMES, **OCTOBER)
        assert body["rows"][0]["replied"] == 1  # the first email: the call 3 days later

    async def test_group_by_segment_team_automated_and_filters(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await put_customer(admin, "c-1", segment="strategic")
        await put_customer(admin, "c-2")
        first = at("2026-10-02T09:00:00Z")
        await touch(admin, first, "email", "c-1", automated=True)
        await touch(admin, first + DAY, "phone", "c-1", actor={"team": "north"})
        await touch(admin, first, "phone", "c-2", actor={"team": "north"})
        by_segment = await report(admin, OUTCOMES, **OCTOBER, group_by="segment")
        assert by_segment["rows"] == [
            outcome_row(1, {"segment": "strategic"}, 1),
            outcome_row(2, {"segment": "strategic"}, 1),
            outcome_row(1, {"segment": None}, 1),
        ]
        by_automated = await report(admin, OUTCOMES, **OCTOBER, group_by="automated")
        assert [(r["group"], r["n"], r["contacts"]) for r in by_automated["rows"]] == [
            ({"automated": False}, 1, 1), ({"automated": False}, 2, 1),
            ({"automated": True}, 1, 1),
        ]  # fmt: skip
        by_team = await report(admin, OUTCOMES, **OCTOBER, group_by="team")
        assert [(r["group"], r["n"], r["contacts"]) for r in by_team["rows"]] == [
            ({"team": "north"}, 1, 1), ({"team": "north"}, 2, 1), ({"team": None}, 1, 1),
        ]  # fmt: skip
        # filters pick the contacts; their numbers still count every outbound contact
        phone = await report(admin, OUTCOMES, **OCTOBER, channel="phone")
        assert [(r["n"], r["contacts"]) for r in phone["rows"]] == [(1, 1), (2, 1)]
        personal = await report(admin, OUTCOMES, **OCTOBER, automated="false", team="north")
        assert personal["rows"] == phone["rows"]

    async def test_a_range_cutting_days_counts_their_hours_inside(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        """Whole UTC months are read from the month rollups, other whole UTC days from the day
        rollups, the hours at either end from the facts: a range in Shanghai's time cuts the
        UTC days it starts and ends in, one within a day has no whole day, one over October
        has a whole month. Folding the deltas into the rollups changes no answer."""
        admin = await tenant.client()
        for instant in (
            "2026-10-01T15:00:00Z", "2026-10-01T17:00:00Z", "2026-10-02T09:00:00Z",
            "2026-10-03T12:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:30:00Z",
            "2026-10-31T23:00:00Z", "2026-11-01T01:00:00Z",
        ):  # fmt: skip
            await touch(admin, at(instant), "phone", outcome="completed")
        windows = {
            "shanghai": {"from": "2026-10-02T00:00:00+08:00", "to": "2026-10-04T00:00:00+08:00"},
            "hours": {"from": "2026-10-03T10:00:00Z", "to": "2026-10-03T16:00:00Z"},
            "october": {"from": "2026-09-30T12:00:00Z", "to": "2026-11-01T00:30:00Z"},
        }
        expected = {
            "shanghai": [(2, 1, 1), (3, 1, 1), (4, 1, 1), (5, 1, 1)],
            "hours": [(4, 1, 1), (5, 1, 1)],
            "october": [(n, 1, 1) for n in range(1, 8)],
        }

        async def numbers(window: dict[str, str]) -> list[tuple[int, int, int]]:
            rolled_up = (await report(admin, OUTCOMES, **window))["rows"]
            # grouped by segment (the profile now, not rolled up), every contact is a fact
            counted = (await report(admin, OUTCOMES, **window, group_by="segment"))["rows"]
            assert rolled_up == [{**r, "group": {}} for r in counted]
            assert (await report(admin, OUTCOMES, **window, channel="email"))["rows"] == []
            return [(r["n"], r["contacts"], r["completed"]) for r in rolled_up]

        assert {name: await numbers(w) for name, w in windows.items()} == expected
        while await fold_outcome_rollups(app.state.database, 2):
            pass
        assert {name: await numbers(w) for name, w in windows.items()} == expected

    async def test_csv(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        sent = await touch(admin, at("2026-10-02T09:00:00Z"))
        await engagement(admin, sent, "opened")
        await touch(admin, at("2026-10-03T09:00:00Z"), "phone", outcome="completed")
        response = await admin.get(
            OUTCOMES, params={**OCTOBER, "group_by": "channel"}, headers={"Accept": "text/csv"}
        )
        assert response.text == (
            "n,channel,contacts,opened,clicked,replied,meeting_booked,converted,completed,"
            "open_rate,reply_rate,meeting_rate,connect_rate\r\n"
            "1,email,1,1,0,0,0,0,0,1.0,0.0,0.0,0.0\r\n"
            "2,phone,1,0,0,0,0,0,1,0.0,0.0,0.0,1.0\r\n"
        )


def compliance_row(owner: str | None, *values: Any) -> dict[str, Any]:
    names = ("customers", "due_now", "overdue_now", "over_contacted_now", "suppressed_now",
             "follow_ups", "late", "on_time_rate")  # fmt: skip
    return {"owner": owner, **dict(zip(names, values, strict=True))}


async def a_book_of_owners(client: httpx.AsyncClient) -> None:
    """Follow up after 7 days, overdue after 14 (UTC). In October: late-1's second follow-up
    comes 19 days after its first (late), on-time-1's 9 days after (on time), edge's exactly
    14 days after (at overdue_at: late); every first contact is on time (no overdue_at yet).
    Now (20 November): late-1 due, on-time-1 on track, edge overdue, paused suppressed, unsub
    over-contacted, orphan (no owner, an automated email in October) overdue, never (no
    owner) due."""
    await set_policy(client, rule())
    rep_1 = {"owner": {"rep_id": "rep-1", "team": "north"}}
    await put_customer(client, "late-1", **rep_1)
    await put_customer(client, "on-time-1", **rep_1)
    await put_customer(client, "edge", owner={"rep_id": "rep-2", "team": "south"})
    await put_customer(client, "unsub", owner={"rep_id": "rep-2", "team": "south"})
    paused = {"paused_until": z(NOW + 3 * DAY)}
    await put_customer(
        client, "paused", owner={"rep_id": "rep-2", "team": "north"}, preferences=paused
    )
    await put_customer(client, "orphan")
    await put_customer(client, "never")
    october = at("2026-10-01T00:00:00Z")
    for customer_id, later in (("late-1", 19), ("on-time-1", 9), ("edge", 14)):
        await touch(client, october, "phone", customer_id)
        await touch(client, october + later * DAY, "phone", customer_id)
    await touch(client, october, "email", "orphan", automated=True)
    await touch(client, october + DAY, "email", "orphan", direction="inbound")  # no follow-up
    await touch(client, at("2026-11-10T00:00:00Z"), "phone", "late-1")  # after the range
    await touch(client, at("2026-11-15T00:00:00Z"), "phone", "on-time-1")
    sent = await touch(client, at("2026-11-18T00:00:00Z"), "email", "unsub")
    await engagement(client, sent, "unsubscribed")


class TestCompliance:
    async def test_per_rep_with_a_row_for_no_owner(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_book_of_owners(admin)
        body = await report(admin, COMPLIANCE, **OCTOBER)
        assert body == {
            "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z",
            "group_by": "owner_rep",
            "rows": [
                compliance_row("rep-1", 2, 1, 0, 0, 0, 4, 1, 0.75),
                compliance_row("rep-2", 3, 0, 1, 1, 1, 2, 1, 0.5),
                compliance_row(None, 2, 1, 1, 0, 0, 0, 0, None),
            ],
            "totals": {
                "customers": 7, "due_now": 2, "overdue_now": 2, "over_contacted_now": 1,
                "suppressed_now": 1, "follow_ups": 6, "late": 2, "on_time_rate": 0.6667,
            },
        }  # fmt: skip
        by_status = {
            item["customer_id"]: item["status"]
            for item in (await admin.get("/v1/statuses")).json()["items"]
        }
        assert by_status == {
            "edge": "overdue", "late-1": "due", "never": "due", "on-time-1": "on_track",
            "orphan": "overdue", "paused": "suppressed", "unsub": "over_contacted",
        }  # fmt: skip

    async def test_late_is_judged_just_before_each_follow_up(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_book_of_owners(admin)
        # the status an instant before edge's second call: overdue since that very instant
        before = at("2026-10-15T00:00:00Z") - timedelta(microseconds=1)
        response = await admin.get("/v1/customers/edge/status", params={"as_of": z(before)})
        assert response.json()["next_follow_up"]["overdue_at"] == "2026-10-15T00:00:00Z"
        # a range holding only edge's first call: on time
        first = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
        rows = (await report(admin, COMPLIANCE, **first))["rows"]
        assert [(r["owner"], r["follow_ups"], r["late"]) for r in rows] == [
            ("rep-1", 2, 0), ("rep-2", 1, 0), (None, 0, 0),
        ]  # fmt: skip

    async def test_late_agrees_with_status_as_of_an_instant_earlier(self, tenant: Tenant) -> None:
        """Business days, a rule that ignores automated contacts, inbound calls between:
        every follow-up counts late exactly when /status an instant before it says so."""
        admin = await tenant.client()
        quick = rule(name="quick", match={"stage": ["lead"]}, follow_up_days=2,
                     overdue_after_days=3, count_automated=False)  # fmt: skip
        await set_policy(admin, quick, rule(), timezone=SHANGHAI,
                         business_days={"weekdays": [1, 2, 3, 4, 5]})  # fmt: skip
        await put_customer(admin, "lead", stage="lead", owner={"rep_id": "rep-1"})
        await put_customer(admin, "other", owner={"rep_id": "rep-2"})
        start = at("2026-10-01T02:00:00Z")  # a Thursday
        for day, fields in (
            (0, {}),
            (1, {}),
            (4, {"automated": True}),
            (5, {}),
            (6, {"direction": "inbound"}),
            (9, {}),
            (13, {}),
            (13.5, {"automated": True}),
            (19, {}),
            (20, {}),
        ):
            await touch(admin, start + day * DAY, "phone", "lead", **fields)
        for day in (0, 20, 22):  # 14 business days after 1 October: 21 October, at its hour
            await touch(admin, start + day * DAY, "phone", "other")
        expected: dict[str, int] = {}
        for customer_id, owner in (("lead", "rep-1"), ("other", "rep-2")):
            listed = await admin.get(f"/v1/customers/{customer_id}/touches", params={"limit": 100})
            for item in listed.json()["items"]:
                if item["direction"] == "inbound" or item["automated"]:
                    continue
                then = at(item["occurred_at"])
                before = await admin.get(
                    f"/v1/customers/{customer_id}/status",
                    params={"as_of": z(then - timedelta(microseconds=1))},
                )
                overdue_at = before.json()["next_follow_up"]["overdue_at"]
                late = overdue_at is not None and then >= at(overdue_at)
                expected[owner] = expected.get(owner, 0) + late
        assert expected == {"rep-1": 2, "rep-2": 1}
        window = {"from": "2026-09-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
        rows = (await report(admin, COMPLIANCE, **window))["rows"]
        assert {r["owner"]: r["late"] for r in rows} == expected
        assert {r["owner"]: r["follow_ups"] for r in rows} == {"rep-1": 7, "rep-2": 3}

    async def test_a_touch_that_comes_in_late_has_what_follows_it_judged_again(
        self, tenant: Tenant
    ) -> None:
        """Lateness is judged once and kept; a contact stored later that occurred before a
        follow-up changes the status just before it, so the follow-up is judged again."""
        admin = await tenant.client()
        await set_policy(admin, rule(follow_up_days=7, overdue_after_days=14))
        await put_customer(admin, "c-1", owner={"rep_id": "rep-1"})
        start = at("2026-10-01T02:00:00Z")
        await touch(admin, start, "phone")
        await touch(admin, start + 20 * DAY, "phone")  # 20 days after the first: late
        window = {"from": "2026-10-15T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
        assert [
            (r["follow_ups"], r["late"])
            for r in (await report(admin, COMPLIANCE, **window))["rows"]
        ] == [(1, 1)]
        # a call on day 10, recorded only now: overdue from day 24, so day 20 was on time
        await touch(admin, start + 10 * DAY, "phone", direction="inbound")
        assert [
            (r["follow_ups"], r["late"])
            for r in (await report(admin, COMPLIANCE, **window))["rows"]
        ] == [(1, 0)]

    async def test_per_team_and_csv(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        await a_book_of_owners(admin)
        body = await report(admin, COMPLIANCE, **OCTOBER, group_by="owner_team")
        assert body["group_by"] == "owner_team"
        assert body["rows"] == [
            compliance_row("north", 3, 1, 0, 0, 1, 4, 1, 0.75),
            compliance_row("south", 2, 0, 1, 1, 0, 2, 1, 0.5),
            compliance_row(None, 2, 1, 1, 0, 0, 0, 0, None),
        ]
        response = await admin.get(
            COMPLIANCE, params={**OCTOBER, "group_by": "owner_team"},
            headers={"Accept": "text/csv"},
        )  # fmt: skip
        assert response.text == (
            "owner_team,customers,due_now,overdue_now,over_contacted_now,suppressed_now,"
            "follow_ups,late,on_time_rate\r\n"
            "north,3,1,0,0,1,4,1,0.75\r\n"
            "south,2,0,1,1,0,2,1,0.5\r\n"
            ",2,1,1,0,0,0,0,\r\n"
        )

    async def test_a_tenant_without_customers(self, tenant: Tenant) -> None:
        admin = await tenant.client()
        body = await report(admin, COMPLIANCE, **OCTOBER)
        assert body["rows"] == []
        totals = compliance_row(None, 0, 0, 0, 0, 0, 0, 0, None)
        del totals["owner"]
        assert body["totals"] == totals


VALID = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}


class TestRefusals:
    @pytest.mark.parametrize(
        ("path", "params", "loc"),
        [
            (CONTACTS, {"to": VALID["to"]}, ["query", "from"]),
            (OUTCOMES, {"from": VALID["from"]}, ["query", "to"]),
            (COMPLIANCE, {"to": VALID["to"]}, ["query", "from"]),
            (CONTACTS, {**VALID, "from": "2026-10-01T00:00:00"}, ["query", "from"]),  # no offset
            (CONTACTS, {**VALID, "to": "2026-10-01"}, ["query", "to"]),
            (CONTACTS, {"from": "2025-10-01T00:00:00Z", "to": "2026-10-02T00:00:01Z"},
             ["query", "to"]),  # 366 days and a second
            (OUTCOMES, {"from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
             ["query", "to"]),
            (COMPLIANCE, {"from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
             ["query", "to"]),
            (CONTACTS, {**VALID, "to": VALID["from"]}, ["query", "to"]),  # empty
            (CONTACTS, {"from": VALID["to"], "to": VALID["from"]}, ["query", "to"]),
            (CONTACTS, {**VALID, "group_by": "colour"}, ["query", "group_by"]),
            (CONTACTS, {**VALID, "group_by": "channel,team,rep"}, ["query", "group_by"]),
            (CONTACTS, {**VALID, "group_by": "channel,channel"}, ["query", "group_by"]),
            (CONTACTS, {**VALID, "group_by": "channel,"}, ["query", "group_by"]),
            (OUTCOMES, {**VALID, "group_by": "channel,team"}, ["query", "group_by"]),
            (OUTCOMES, {**VALID, "group_by": "direction"}, ["query", "group_by"]),
            (COMPLIANCE, {**VALID, "group_by": "segment"}, ["query", "group_by"]),
            (CONTACTS, {**VALID, "interval": "year"}, ["query", "interval"]),
            (CONTACTS, {**VALID, "category": "spam"}, ["query", "category"]),
            (CONTACTS, {**VALID, "automated": "maybe"}, ["query", "automated"]),
            (OUTCOMES, {**VALID, "channel": "Email!"}, ["query", "channel"]),
            (CONTACTS, {**VALID, "rep_id": "a b"}, ["query", "rep_id"]),
            (CONTACTS, {**VALID, "from": "0001-01-01T00:00:00Z"}, ["query", "from"]),
        ],
    )  # fmt: skip
    async def test_bad_input_is_a_422_naming_the_field(
        self, tenant: Tenant, path: str, params: dict[str, str], loc: list[str]
    ) -> None:
        reader = await tenant.client("read")
        body = assert_problem(await reader.get(path, params=params), 422)
        assert loc in [error["loc"] for error in body["errors"]], body

    async def test_a_range_of_exactly_366_days_is_allowed(self, tenant: Tenant) -> None:
        reader = await tenant.client("read")
        window = {"from": "2025-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
        for path in (CONTACTS, OUTCOMES, COMPLIANCE):
            await report(reader, path, **window)

    @pytest.mark.parametrize("path", [CONTACTS, OUTCOMES, COMPLIANCE])
    async def test_who_may_read(
        self, tenant: Tenant, anonymous: httpx.AsyncClient, path: str
    ) -> None:
        assert_problem(await anonymous.get(path, params=VALID), 401)
        assert_problem(await anonymous.get(path), 401)  # the key before the parameters
        partner = await tenant.client("partner", partner_id="dist-1")
        assert_problem(await partner.get(path, params=VALID), 403)
        assert_problem(await partner.get(path, params={"group_by": "x"}), 403)
        for role in ("admin", "ingest", "read"):
            await report(await tenant.client(role), path, **VALID)

    async def test_another_tenants_touches_are_not_counted(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await touch(await other_tenant.client(), at("2026-10-02T00:00:00Z"))
        body = await report(await tenant.client("read"), CONTACTS, **VALID)
        assert body["totals"]["contacts"] == 0
