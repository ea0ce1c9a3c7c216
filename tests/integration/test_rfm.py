"""RFM [1.1]: purchases scored by recency, frequency and money against the tenant's population,
in a snapshot that POST /v1/rfm/recompute takes; read by GET /v1/customers/{id}/rfm, GET /v1/rfm
and GET /v1/rfm/summary; the policy's ``rfm.window_days`` and the ``rfm_segment`` match key.

Every expected score is worked by hand from the contract's formula: a metric scores
``1 + floor(5 * w / n)`` (at most 5), ``n`` the population's size and ``w`` the number of its
customers strictly worse on that metric (more ``recency_days``; fewer purchases; less money).
In a population of 5 whose metrics are all distinct, a customer with ``w`` worse customers
scores ``1 + floor(5 * w / 5) = 1 + w``: its rank from the bottom, 1..5.

Purchases are placed a whole number of days and 5 hours before the snapshot's ``as_of`` (the 5
hours are what the rounding down of ``recency_days`` drops), and well inside or well outside the
window, never on its edge. The snapshot is always taken explicitly: what a read answers before
any recompute is left to the implementation, and the clock is never moved an hour or more past
a snapshot, so the service's own hourly recompute never comes into play."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FixedClock
from app.rfm.service import recompute_due
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_full_problem,
    assert_problem,
    drain_refresh_marks,
    listing,
    put_customer,
    put_policy,
    rule,
    set_policy,
    status,
    touch,
    z,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

SEGMENTS = (
    "champions", "cant_lose", "at_risk", "loyal", "new", "promising", "potential_loyalist",
    "need_attention", "about_to_sleep", "lost", "hibernating", "others",
)  # fmt: skip
RFM_FIELDS = {
    "customer_id", "as_of", "recency_days", "frequency", "monetary", "r", "f", "m", "segment",
}  # fmt: skip
SUMMARY_FIELDS = {"as_of", "population", "segments"}
SEGMENT_ROW_FIELDS = {"segment", "customers", "monetary"}
READERS = ("admin", "ingest", "read")
READ_PATHS = ("/v1/customers/buyer/rfm", "/v1/rfm", "/v1/rfm/summary")
EARLIER_AMOUNT = 45  # what each purchase before a buyer's last one costs (see ``buyer``)

STARS = {
    "name": "stars",
    "match": {"rfm_segment": ["champions"]},
    "follow_up_days": 30,
    "overdue_after_days": 40,
}


# Purchases and buyers


async def buy(
    client: httpx.AsyncClient, customer_id: str, at: datetime, amount: float | None
) -> None:
    """One purchase of ``customer_id`` on the web, occurring ``at`` (``amount`` None: null)."""
    await touch(client, at, "web", customer_id, kind="purchase", amount=amount)


async def buyer(
    client: httpx.AsyncClient, customer_id: str, recency_days: int, frequency: int, monetary: int
) -> None:
    """A customer whose metrics at NOW (with the default window) are exactly these: its last
    purchase ``recency_days`` days and 5 hours before NOW, ``frequency - 1`` earlier ones a day
    apart before it at EARLIER_AMOUNT each, and the last one bringing the total to
    ``monetary`` (so the last purchase alone does not order customers as their totals do)."""
    last = NOW - recency_days * DAY - 5 * HOUR
    for days_before in range(frequency - 1, 0, -1):
        await buy(client, customer_id, last - days_before * DAY, EARLIER_AMOUNT)
    await buy(client, customer_id, last, monetary - EARLIER_AMOUNT * (frequency - 1))


# Reading RFM


async def recompute(client: httpx.AsyncClient) -> dict[str, Any]:
    """POST /v1/rfm/recompute: a snapshot now; returns its summary."""
    response = await client.post("/v1/rfm/recompute")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rfm(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    """GET /v1/customers/{customer_id}/rfm."""
    response = await client.get(f"/v1/customers/{customer_id}/rfm")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= RFM_FIELDS
    return body


async def summary(client: httpx.AsyncClient) -> dict[str, Any]:
    """GET /v1/rfm/summary."""
    response = await client.get("/v1/rfm/summary")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every item of GET /v1/rfm for these parameters, page after page."""
    return await listing(client, "/v1/rfm", **params)


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["customer_id"] for item in await listed(client, **params)]


def metrics(document: dict[str, Any]) -> tuple[int | None, int | None, float]:
    """``recency_days``, ``frequency`` and ``monetary`` (as a number, whatever its JSON form)."""
    return document["recency_days"], document["frequency"], float(document["monetary"])


def scores(document: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    """``r``, ``f``, ``m`` and ``segment``."""
    return document["r"], document["f"], document["m"], document["segment"]


def assert_outside(document: dict[str, Any], customer_id: str, as_of: datetime = NOW) -> None:
    """A customer outside the population: segment none, no scores (its metrics are not judged:
    the contract names no value for them)."""
    assert document["customer_id"] == customer_id
    assert document["as_of"] == z(as_of)
    assert scores(document) == (None, None, None, "none")


def summary_rows(body: dict[str, Any]) -> list[tuple[str, int, float]]:
    """The summary's segments as (segment, customers, monetary as a number). The monetary of
    `none` (customers without a purchase in the window) may be null or 0: the contract is
    silent; every other segment's is a number, 0 for an empty one."""
    assert set(body) >= SUMMARY_FIELDS
    rows: list[tuple[str, int, float]] = []
    for row in body["segments"]:
        assert set(row) >= SEGMENT_ROW_FIELDS
        money = row["monetary"]
        if row["segment"] == "none" and money is None:
            money = 0
        rows.append((row["segment"], row["customers"], float(money)))
    return rows


def expected_rows(none: int = 0, **segments: tuple[int, float]) -> list[tuple[str, int, float]]:
    """Every segment of the table in its order, then none: these (customers, monetary), the
    others (0, 0)."""
    assert set(segments) <= set(SEGMENTS)
    rows = [(name, *segments.get(name, (0, 0.0))) for name in SEGMENTS]
    return [*rows, ("none", none, 0.0)]


# Populations of 5 with every metric distinct, so that each score is the customer's rank from
# the bottom (see the module's docstring). A buyer scoring (r, f, m) has recency_days 60 - 10r
# (r 5: 10 days ... r 1: 50 days), frequency f and monetary 100m; each segment is checked row by
# row against the table (first row that holds, inclusive bounds).
Buyer = tuple[str, int, int, int, tuple[int, int, int], str]

POPULATION_A: list[Buyer] = [
    # id, recency_days, frequency, monetary, (r, f, m), segment
    ("cant-lose", 50, 5, 400, (1, 5, 4), "cant_lose"),
    # r: nobody has more days than 50 -> w 0 -> 1; f: 4 have fewer than 5 -> 5; m: 3 have less
    # than 400 -> 4. champions needs r 4-5: no; cant_lose (1, 4-5, 4-5): yes.
    ("champion", 10, 4, 500, (5, 4, 5), "champions"),
    # r: 4 have more days -> 5; f: 3 have fewer -> 4; m: 4 have less -> 5. champions: yes.
    ("loyal", 30, 3, 300, (3, 3, 3), "loyal"),
    # r: 2 have more days (40, 50) -> 3; f: 2 fewer (1, 2) -> 3; m: 2 less -> 3. champions,
    # cant_lose, at_risk (r 1-2): no; loyal (3-5, 3-5, 3-5): yes.
    ("need-attention", 40, 2, 200, (2, 2, 2), "need_attention"),
    # r: 1 has more days -> 2; f: 1 fewer -> 2; m: 1 less -> 2. at_risk needs f 3-5, loyal,
    # new, promising, potential_loyalist need r >= 3: no; need_attention (2, 2-3, 2-3): yes.
    ("new", 20, 1, 100, (4, 1, 1), "new"),
    # r: 3 have more days -> 4; f: nobody fewer -> 1; m: nobody less -> 1. champions, loyal
    # need f >= 3: no; new (4-5, 1, 1): yes.
]
SUMMARY_A = {
    "cant_lose": (1, 400.0),
    "champions": (1, 500.0),
    "loyal": (1, 300.0),
    "need_attention": (1, 200.0),
    "new": (1, 100.0),
}

POPULATION_B: list[Buyer] = [
    ("at-risk", 40, 3, 400, (2, 3, 4), "at_risk"),
    # r: 1 has more days -> 2; f: 2 fewer (1, 2) -> 3; m: 3 less -> 4. champions r no;
    # cant_lose r 1 no; at_risk (1-2, 3-5, 3-5): yes.
    ("cant-lose", 50, 5, 500, (1, 5, 5), "cant_lose"),
    # r: w 0 -> 1; f: 4 fewer -> 5; m: 4 less -> 5. cant_lose: yes.
    ("others", 10, 4, 200, (5, 4, 2), "others"),
    # r: 4 more days -> 5; f: 3 fewer -> 4; m: 1 less -> 2. champions, loyal need m >= 3; new,
    # promising need f 1; potential_loyalist needs f <= 3; need_attention, about_to_sleep need
    # r 2; lost, hibernating need r <= 2: none holds, so others.
    ("potential-loyalist", 20, 2, 300, (4, 2, 3), "potential_loyalist"),
    # r: 3 more days -> 4; f: 1 fewer -> 2; m: 2 less -> 3. champions, loyal need f >= 3; new
    # needs f 1; promising r 3; potential_loyalist (3-5, 1-3, 1-3): yes.
    ("promising", 30, 1, 100, (3, 1, 1), "promising"),
    # r: 2 more days -> 3; f: 0 fewer -> 1; m: 0 less -> 1. loyal needs f >= 3; new needs
    # r 4-5; promising (3, 1, 1): yes.
]
SUMMARY_B = {
    "at_risk": (1, 400.0),
    "cant_lose": (1, 500.0),
    "others": (1, 200.0),
    "potential_loyalist": (1, 300.0),
    "promising": (1, 100.0),
}

POPULATION_C: list[Buyer] = [
    ("about-to-sleep", 40, 1, 200, (2, 1, 2), "about_to_sleep"),
    # r: 1 more days -> 2; f: 0 fewer -> 1; m: 1 less -> 2. at_risk needs f >= 3; the rows for
    # r >= 3 do not hold; need_attention needs f 2-3; about_to_sleep (2, 1-2, 1-2): yes.
    ("champion", 10, 4, 500, (5, 4, 5), "champions"),
    # r: 4 more days -> 5; f: 3 fewer (1, 2, 3) -> 4; m: 4 less -> 5. champions: yes.
    ("hibernating", 50, 2, 100, (1, 2, 1), "hibernating"),
    # r: w 0 -> 1; f: 1 fewer -> 2; m: 0 less -> 1. cant_lose, at_risk need f >= 3/4;
    # need_attention, about_to_sleep need r 2; lost needs f 1; hibernating (1-2, 1-2, 1-2): yes.
    ("loyal-1", 30, 5, 400, (3, 5, 4), "loyal"),
    # r: 2 more days -> 3; f: 4 fewer -> 5; m: 3 less -> 4. champions needs r 4-5; at_risk r
    # 1-2; loyal: yes.
    ("loyal-2", 20, 3, 300, (4, 3, 3), "loyal"),
    # r: 3 more days -> 4; f: 2 fewer (1, 2) -> 3; m: 2 less (100, 200) -> 3. champions needs f
    # 4-5; loyal: yes.
]
SUMMARY_C = {
    "about_to_sleep": (1, 200.0),
    "champions": (1, 500.0),
    "hibernating": (1, 100.0),
    "loyal": (2, 700.0),  # 400 + 300
}
# With the population of 1 and the ties below (both lost), these three populations reach every
# row of the table.
POPULATIONS = [
    pytest.param(POPULATION_A, SUMMARY_A, id="A"),
    pytest.param(POPULATION_B, SUMMARY_B, id="B"),
    pytest.param(POPULATION_C, SUMMARY_C, id="C"),
]


async def build(client: httpx.AsyncClient, population: list[Buyer]) -> None:
    """The buyers of a population, in the reverse of their id order (so that the order of a
    list is the service's doing)."""
    for customer_id, recency_days, frequency, monetary, _, _ in reversed(population):
        await buyer(client, customer_id, recency_days, frequency, monetary)


class TestRecompute:
    async def test_it_answers_the_summary_of_a_snapshot_taken_now(
        self, admin: httpx.AsyncClient
    ) -> None:
        await buyer(admin, "buyer", 3, 1, 80)
        body = await recompute(admin)
        assert set(body) >= SUMMARY_FIELDS
        assert body["as_of"] == z(NOW)
        assert body["population"] == 1

    async def test_the_summary_lists_every_segment_in_table_order_then_none(
        self, admin: httpx.AsyncClient
    ) -> None:
        await buyer(admin, "buyer", 3, 1, 80)
        body = await recompute(admin)
        assert [row["segment"] for row in body["segments"]] == [*SEGMENTS, "none"]

    async def test_a_tenant_without_purchases_has_an_empty_population(
        self, admin: httpx.AsyncClient
    ) -> None:
        await put_customer(admin, "bare")
        body = await recompute(admin)
        assert body["population"] == 0
        assert summary_rows(body) == expected_rows(none=1)

    async def test_as_of_is_the_clock_now_of_the_recompute(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await buyer(admin, "buyer", 3, 1, 80)
        clock.set(NOW + 17 * MINUTE)
        assert (await recompute(admin))["as_of"] == z(NOW + 17 * MINUTE)
        assert (await rfm(admin, "buyer"))["as_of"] == z(NOW + 17 * MINUTE)


class TestEverySegment:
    def test_the_populations_and_the_lost_ones_reach_every_row(self) -> None:
        reached = {member[5] for p in (POPULATION_A, POPULATION_B, POPULATION_C) for member in p}
        assert reached | {"lost"} == set(SEGMENTS)  # lost: TestScores

    @pytest.mark.parametrize(("population", "expected"), POPULATIONS)
    async def test_each_customer_gets_its_hand_worked_scores_and_segment(
        self,
        admin: httpx.AsyncClient,
        population: list[Buyer],
        expected: dict[str, tuple[int, float]],
    ) -> None:
        await build(admin, population)
        await recompute(admin)
        for customer_id, recency_days, frequency, monetary, (r, f, m), segment in population:
            document = await rfm(admin, customer_id)
            assert document["customer_id"] == customer_id
            assert document["as_of"] == z(NOW)
            assert metrics(document) == (recency_days, frequency, monetary), customer_id
            assert scores(document) == (r, f, m, segment), customer_id

    @pytest.mark.parametrize(("population", "expected"), POPULATIONS)
    async def test_the_summary_counts_customers_and_sums_their_money_per_segment(
        self,
        admin: httpx.AsyncClient,
        population: list[Buyer],
        expected: dict[str, Any],
    ) -> None:
        await build(admin, population)
        body = await recompute(admin)
        assert body["population"] == 5
        assert summary_rows(body) == expected_rows(**expected)

    @pytest.mark.parametrize(("population", "expected"), POPULATIONS)
    async def test_the_list_is_the_population_by_customer_id(
        self,
        admin: httpx.AsyncClient,
        population: list[Buyer],
        expected: dict[str, tuple[int, float]],
    ) -> None:
        await build(admin, population)
        await recompute(admin)
        items = await listed(admin)
        ids = [member[0] for member in population]
        assert [item["customer_id"] for item in items] == sorted(ids)
        for item in items:  # the same documents as GET /v1/customers/{id}/rfm
            assert item == await rfm(admin, item["customer_id"])

    @pytest.mark.parametrize(("population", "expected"), POPULATIONS)
    async def test_the_segment_filter_keeps_exactly_that_segment(
        self,
        admin: httpx.AsyncClient,
        population: list[Buyer],
        expected: dict[str, tuple[int, float]],
    ) -> None:
        await build(admin, population)
        await recompute(admin)
        for segment in SEGMENTS:
            members = sorted(member[0] for member in population if member[5] == segment)
            assert await listed_ids(admin, segment=segment) == members, segment
        assert await listed_ids(admin, segment="none") == []


class TestScores:
    async def test_a_population_of_one_is_lost(self, admin: httpx.AsyncClient) -> None:
        await buyer(admin, "solo", 3, 1, 80)
        body = await recompute(admin)
        # n 1: nobody is worse on any metric -> w 0 -> 1 + floor(0) = 1 each -> (1, 1, 1): lost
        document = await rfm(admin, "solo")
        assert metrics(document) == (3, 1, 80.0)
        assert scores(document) == (1, 1, 1, "lost")
        assert body["population"] == 1
        assert summary_rows(body) == expected_rows(lost=(1, 80.0))

    async def test_equal_metrics_score_alike(self, admin: httpx.AsyncClient) -> None:
        for twin in ("a-twin", "b-twin"):  # each: recency 10 days, 2 purchases, 200
            await buy(admin, twin, NOW - 11 * DAY - 5 * HOUR, 100)
            await buy(admin, twin, NOW - 10 * DAY - 5 * HOUR, 100)
        await buy(admin, "c-worst", NOW - 20 * DAY - 5 * HOUR, 50)  # 20 days, 1, 50
        for days in (7, 6, 5):  # 5 days, 3 purchases, 300
            await buy(admin, "d-best", NOW - days * DAY - 5 * HOUR, 100)
        body = await recompute(admin)
        # n 4. The twins: worse on each metric is c-worst alone (20 days; 1 purchase; 50) -> w 1
        # -> 1 + floor(5/4) = 2 each -> (2, 2, 2): need_attention, both of them.
        # c-worst: w 0 -> (1, 1, 1): lost.
        # d-best: the three others are worse -> w 3 -> 1 + floor(15/4) = 4 -> (4, 4, 4):
        # champions (the best of 4 scores 4, not 5).
        for twin in ("a-twin", "b-twin"):
            document = await rfm(admin, twin)
            assert metrics(document) == (10, 2, 200.0)
            assert scores(document) == (2, 2, 2, "need_attention")
        assert scores(await rfm(admin, "c-worst")) == (1, 1, 1, "lost")
        assert scores(await rfm(admin, "d-best")) == (4, 4, 4, "champions")
        assert summary_rows(body) == expected_rows(
            champions=(1, 300.0), need_attention=(2, 400.0), lost=(1, 50.0)
        )

    async def test_recency_is_whole_days_of_24_hours_rounded_down(
        self, admin: httpx.AsyncClient
    ) -> None:
        await buy(admin, "a-hours", NOW - 5 * HOUR, 10)  # 5 h -> 0 days
        await buy(admin, "b-almost-3", NOW - 3 * DAY + HOUR, 10)  # 2 d 23 h -> 2 days
        await buy(admin, "c-exactly-3", NOW - 3 * DAY, 10)  # 72 h -> 3 days
        await recompute(admin)
        # n 3; frequency (1) and monetary (10) tie for all: w 0 -> f 1, m 1.
        # r: c-exactly-3 w 0 -> 1; b-almost-3 w 1 -> 1 + floor(5/3) = 2;
        # a-hours w 2 -> 1 + floor(10/3) = 4.
        # (4, 1, 1): new; (2, 1, 1): about_to_sleep (need_attention needs f 2-3); (1, 1, 1): lost.
        a_hours = await rfm(admin, "a-hours")
        b_almost = await rfm(admin, "b-almost-3")
        c_exactly = await rfm(admin, "c-exactly-3")
        assert metrics(a_hours) == (0, 1, 10.0)
        assert metrics(b_almost) == (2, 1, 10.0)
        assert metrics(c_exactly) == (3, 1, 10.0)
        assert scores(a_hours) == (4, 1, 1, "new")
        assert scores(b_almost) == (2, 1, 1, "about_to_sleep")
        assert scores(c_exactly) == (1, 1, 1, "lost")

    async def test_ten_customers_score_in_pairs(self, admin: httpx.AsyncClient) -> None:
        for k in range(10, 0, -1):  # k: one purchase k days (and 5 h) ago, of 10k
            await buy(admin, f"k{k:02d}", NOW - k * DAY - 5 * HOUR, 10 * k)
        body = await recompute(admin)
        # n 10, score 1 + floor(5w/10) = 1 + floor(w/2). f: one purchase each, w 0 -> 1.
        # r: 10 - k customers have more days; m: k - 1 have less money.
        # k01, k02: r w 9, 8 -> 1 + 4 = 5; m w 0, 1 -> 1 + 0 = 1: (5, 1, 1) new.
        # k03, k04: r w 7, 6 -> 1 + 3 = 4; m w 2, 3 -> 1 + 1 = 2: (4, 1, 2) potential_loyalist
        #   (new needs m 1).
        # k05, k06: r w 5, 4 -> 1 + 2 = 3; m w 4, 5 -> 1 + 2 = 3: (3, 1, 3) potential_loyalist
        #   (promising needs m 1).
        # k07, k08: r w 3, 2 -> 1 + 1 = 2; m w 6, 7 -> 1 + 3 = 4: (2, 1, 4) others (at_risk needs
        #   f 3-5; need_attention, about_to_sleep and hibernating need m <= 3).
        # k09, k10: r w 1, 0 -> 1 + 0 = 1; m w 8, 9 -> 1 + 4 = 5: (1, 1, 5) others (cant_lose and
        #   at_risk need f >= 3; lost and hibernating need m <= 2).
        expected = {
            "k01": (5, 1, 1, "new"),
            "k02": (5, 1, 1, "new"),
            "k03": (4, 1, 2, "potential_loyalist"),
            "k04": (4, 1, 2, "potential_loyalist"),
            "k05": (3, 1, 3, "potential_loyalist"),
            "k06": (3, 1, 3, "potential_loyalist"),
            "k07": (2, 1, 4, "others"),
            "k08": (2, 1, 4, "others"),
            "k09": (1, 1, 5, "others"),
            "k10": (1, 1, 5, "others"),
        }
        for customer_id, expected_scores in expected.items():
            k = int(customer_id[1:])
            document = await rfm(admin, customer_id)
            assert metrics(document) == (k, 1, 10.0 * k), customer_id
            assert scores(document) == expected_scores, customer_id
        assert body["population"] == 10
        assert summary_rows(body) == expected_rows(
            new=(2, 30.0),  # 10 + 20
            potential_loyalist=(4, 180.0),  # 30 + 40 + 50 + 60
            others=(4, 340.0),  # 70 + 80 + 90 + 100
        )

    async def test_an_amount_of_null_counts_as_0(self, admin: httpx.AsyncClient) -> None:
        await buy(admin, "mixed", NOW - 5 * DAY - 5 * HOUR, 7.25)
        await buy(admin, "mixed", NOW - 4 * DAY - 5 * HOUR, None)
        await buy(admin, "mixed", NOW - 3 * DAY - 5 * HOUR, 12.5)
        await buy(admin, "nothing-paid", NOW - 3 * DAY - 5 * HOUR, None)
        body = await recompute(admin)
        # mixed: 3 days, 3 purchases, 7.25 + 0 + 12.5 = 19.75; nothing-paid: 3 days, 1, 0 (still
        # a member: a purchase is a purchase). n 2. r: tie at 3 days -> w 0 -> 1 both.
        # f, m: mixed has nothing-paid worse -> w 1 -> 1 + floor(5/2) = 3; nothing-paid 1.
        # mixed (1, 3, 3): at_risk (cant_lose needs f 4-5); nothing-paid (1, 1, 1): lost.
        mixed = await rfm(admin, "mixed")
        nothing_paid = await rfm(admin, "nothing-paid")
        assert metrics(mixed) == (3, 3, 19.75)
        assert metrics(nothing_paid) == (3, 1, 0.0)
        assert scores(mixed) == (1, 3, 3, "at_risk")
        assert scores(nothing_paid) == (1, 1, 1, "lost")
        assert body["population"] == 2
        assert summary_rows(body) == expected_rows(at_risk=(1, 19.75), lost=(1, 0.0))


class TestOutsideThePopulation:
    async def _book(self, admin: httpx.AsyncClient) -> None:
        await buy(admin, "buyer", NOW - 3 * DAY - 5 * HOUR, 10)
        await put_customer(admin, "bare")
        await touch(admin, NOW - DAY, customer_id="contacted")  # a contact, not a purchase
        await buy(admin, "old-buyer", NOW - 400 * DAY - 5 * HOUR, 1000)  # before 365 days

    async def test_customers_without_a_purchase_in_the_window_are_none(
        self, admin: httpx.AsyncClient
    ) -> None:
        await self._book(admin)
        body = await recompute(admin)
        for customer_id in ("bare", "contacted", "old-buyer"):
            assert_outside(await rfm(admin, customer_id), customer_id)
        assert scores(await rfm(admin, "buyer")) == (1, 1, 1, "lost")  # n 1: w 0 everywhere
        assert body["population"] == 1
        assert summary_rows(body) == expected_rows(none=3, lost=(1, 10.0))

    async def test_segment_none_lists_them_by_customer_id(self, admin: httpx.AsyncClient) -> None:
        await self._book(admin)
        await recompute(admin)
        items = await listed(admin, segment="none")
        assert [item["customer_id"] for item in items] == ["bare", "contacted", "old-buyer"]
        for item in items:
            assert set(item) >= RFM_FIELDS
            assert_outside(item, item["customer_id"])
        assert await listed_ids(admin) == ["buyer"]  # without a segment: the population

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient) -> None:
        await self._book(admin)
        await recompute(admin)
        assert_full_problem(await admin.get("/v1/customers/nobody/rfm"), 404)

    async def test_another_tenants_customer_is_404(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await self._book(admin)
        await recompute(admin)
        theirs = await other_tenant.client("admin")
        assert_problem(await theirs.get("/v1/customers/buyer/rfm"), 404)
        await recompute(theirs)
        assert await listed_ids(theirs) == []
        assert await listed_ids(theirs, segment="none") == []


class TestList:
    @pytest.mark.parametrize("limit", [1, 2, 4, 5])
    async def test_pages_walk_every_customer_once(
        self, admin: httpx.AsyncClient, limit: int
    ) -> None:
        await build(admin, POPULATION_C)
        await recompute(admin)
        assert await listed_ids(admin, limit=limit) == [
            "about-to-sleep", "champion", "hibernating", "loyal-1", "loyal-2",
        ]  # fmt: skip

    async def test_a_segment_filter_holds_across_pages(self, admin: httpx.AsyncClient) -> None:
        await build(admin, POPULATION_C)
        await recompute(admin)
        assert await listed_ids(admin, segment="loyal", limit=1) == ["loyal-1", "loyal-2"]

    @pytest.mark.parametrize("segment", ["vip", "Champions", "star_customers", "all"])
    async def test_an_unknown_segment_is_422(self, admin: httpx.AsyncClient, segment: str) -> None:
        await buyer(admin, "buyer", 3, 1, 80)
        await recompute(admin)
        body = assert_full_problem(await admin.get("/v1/rfm", params={"segment": segment}), 422)
        assert ["query", "segment"] in [error["loc"] for error in body["errors"]]

    async def test_the_summary_reads_the_snapshot_the_recompute_answered(
        self, admin: httpx.AsyncClient
    ) -> None:
        await build(admin, POPULATION_B)
        body = await recompute(admin)
        assert await summary(admin) == body


class TestWindow:
    async def test_only_purchases_in_the_window_count(self, admin: httpx.AsyncClient) -> None:
        # the default window: 365 days
        await buy(admin, "in", NOW - 300 * DAY - 5 * HOUR, 10)  # 300 days, 1, 10
        await buy(admin, "mixed", NOW - 400 * DAY, 1000)  # before the window: not counted
        await buy(admin, "mixed", NOW - 100 * DAY - 5 * HOUR, 20)  # 100 days, 1, 20
        await buy(admin, "out", NOW - 400 * DAY - 5 * HOUR, 1000)  # nothing in the window
        body = await recompute(admin)
        # n 2 (in, mixed). r: in w 0 -> 1; mixed (100 days < 300) w 1 -> 1 + floor(5/2) = 3.
        # f: tie at 1 -> 1 both. m: in w 0 -> 1; mixed (20 > 10) w 1 -> 3.
        # in (1, 1, 1): lost; mixed (3, 1, 3): potential_loyalist (promising needs m 1).
        inside = await rfm(admin, "in")
        mixed = await rfm(admin, "mixed")
        assert metrics(inside) == (300, 1, 10.0)
        assert metrics(mixed) == (100, 1, 20.0)
        assert scores(inside) == (1, 1, 1, "lost")
        assert scores(mixed) == (3, 1, 3, "potential_loyalist")
        assert_outside(await rfm(admin, "out"), "out")
        assert summary_rows(body) == expected_rows(
            none=1, lost=(1, 10.0), potential_loyalist=(1, 20.0)
        )

    async def test_the_policy_sets_the_window(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(), rfm={"window_days": 30})
        await buy(admin, "recent", NOW - 20 * DAY - 5 * HOUR, 50)
        await buy(admin, "older", NOW - 300 * DAY - 5 * HOUR, 70)
        await buy(admin, "older", NOW - 40 * DAY - 5 * HOUR, 30)
        body = await recompute(admin)
        # window 30: older's purchases (40 and 300 days ago) are outside; n 1: recent (1, 1, 1)
        assert metrics(await rfm(admin, "recent")) == (20, 1, 50.0)
        assert scores(await rfm(admin, "recent")) == (1, 1, 1, "lost")
        assert_outside(await rfm(admin, "older"), "older")
        assert summary_rows(body) == expected_rows(none=1, lost=(1, 50.0))

        await set_policy(admin, rule())  # back to the default window, 365 days
        assert scores(await rfm(admin, "recent")) == (1, 1, 1, "lost")  # the snapshot stays
        assert_outside(await rfm(admin, "older"), "older")
        body = await recompute(admin)
        # n 2: recent (20 days, 1, 50), older (40 days, 2, 100).
        # r: recent w 1 -> 1 + floor(5/2) = 3; older w 0 -> 1.
        # f: recent w 0 -> 1; older w 1 -> 3. m: recent w 0 -> 1; older w 1 -> 3.
        # recent (3, 1, 1): promising; older (1, 3, 3): at_risk (cant_lose needs f 4-5).
        older = await rfm(admin, "older")
        assert metrics(older) == (40, 2, 100.0)
        assert scores(older) == (1, 3, 3, "at_risk")
        assert scores(await rfm(admin, "recent")) == (3, 1, 1, "promising")
        assert summary_rows(body) == expected_rows(at_risk=(1, 100.0), promising=(1, 50.0))

    async def test_a_window_of_one_day(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, rule(), rfm={"window_days": 1})
        await buy(admin, "today", NOW - 23 * HOUR, 10)
        await buy(admin, "yesterday", NOW - 25 * HOUR, 10)
        await recompute(admin)
        document = await rfm(admin, "today")
        assert metrics(document) == (0, 1, 10.0)
        assert scores(document) == (1, 1, 1, "lost")  # n 1
        assert_outside(await rfm(admin, "yesterday"), "yesterday")

    async def test_the_window_is_stored_with_the_policy(self, admin: httpx.AsyncClient) -> None:
        stored = await put_policy(admin, {"rfm": {"window_days": 30}, "rules": [rule()]})
        assert stored["rfm"]["window_days"] == 30
        response = await admin.get("/v1/policy")
        assert response.status_code == 200, response.text
        assert response.json()["rfm"]["window_days"] == 30

    @pytest.mark.parametrize("window_days", [1, 3650])
    async def test_the_bounds_are_accepted(
        self, admin: httpx.AsyncClient, window_days: int
    ) -> None:
        stored = await put_policy(admin, {"rfm": {"window_days": window_days}, "rules": [rule()]})
        assert stored["rfm"]["window_days"] == window_days

    @pytest.mark.parametrize("window_days", [0, 3651, -1])
    async def test_a_window_out_of_range_is_422(
        self, admin: httpx.AsyncClient, window_days: int
    ) -> None:
        document = {"rfm": {"window_days": window_days}, "rules": [rule()]}
        body = assert_full_problem(await admin.put("/v1/policy", json=document), 422)
        assert ["body", "rfm", "window_days"] in [error["loc"] for error in body["errors"]]

    async def test_an_unknown_key_in_rfm_is_422(self, admin: httpx.AsyncClient) -> None:
        document = {"rfm": {"window_days": 30, "colour": 1}, "rules": [rule()]}
        body = assert_full_problem(await admin.put("/v1/policy", json=document), 422)
        assert ["body", "rfm", "colour"] in [error["loc"] for error in body["errors"]]


class TestSnapshot:
    async def test_a_purchase_changes_nothing_until_a_recompute(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await buy(admin, "a", NOW - 10 * DAY - 5 * HOUR, 100)
        first = await recompute(admin)
        assert first["as_of"] == z(NOW)
        before = await rfm(admin, "a")
        assert metrics(before) == (10, 1, 100.0)
        assert scores(before) == (1, 1, 1, "lost")  # n 1

        await buy(admin, "a", NOW - HOUR, 50)
        await buy(admin, "b", NOW - 2 * DAY - 5 * HOUR, 500)
        assert await rfm(admin, "a") == before
        assert await listed_ids(admin) == ["a"]
        assert await summary(admin) == first
        clock.set(NOW + 30 * MINUTE)  # under an hour: the service's own recompute stays away
        assert await rfm(admin, "a") == before
        assert await summary(admin) == first

        second = await recompute(admin)
        assert second["as_of"] == z(NOW + 30 * MINUTE)
        # as of NOW + 30 min: a: last purchase 1 h 30 min ago -> 0 days, 2 purchases, 150;
        # b: 2 d 5 h 30 min -> 2 days, 1, 500. n 2.
        # r: a w 1 -> 1 + floor(5/2) = 3; b w 0 -> 1. f: a w 1 -> 3; b w 0 -> 1.
        # m: a (150 < 500) w 0 -> 1; b w 1 -> 3.
        # a (3, 3, 1): potential_loyalist (loyal needs m 3-5); b (1, 1, 3): others (lost needs
        # m 1, hibernating m 1-2, cant_lose and at_risk f >= 3).
        a = await rfm(admin, "a")
        b = await rfm(admin, "b")
        assert a["as_of"] == b["as_of"] == z(NOW + 30 * MINUTE)
        assert metrics(a) == (0, 2, 150.0)
        assert metrics(b) == (2, 1, 500.0)
        assert scores(a) == (3, 3, 1, "potential_loyalist")
        assert scores(b) == (1, 1, 3, "others")
        assert await listed_ids(admin) == ["a", "b"]
        assert second["population"] == 2
        assert summary_rows(second) == expected_rows(
            potential_loyalist=(1, 150.0), others=(1, 500.0)
        )
        assert await summary(admin) == second


class TestRfmSegmentMatch:
    async def _three_buyers(self, admin: httpx.AsyncClient) -> None:
        await set_policy(admin, STARS, rule())
        await buyer(admin, "a", 1, 3, 300)
        await buyer(admin, "b", 20, 2, 200)
        await buyer(admin, "c", 30, 1, 100)
        # n 3. a: b and c worse on every metric -> w 2 -> 1 + floor(10/3) = 4 -> (4, 4, 4):
        # champions. b: c worse -> w 1 -> 1 + floor(5/3) = 2 -> (2, 2, 2): need_attention.
        # c: w 0 -> (1, 1, 1): lost.

    async def test_the_policy_accepts_the_key(self, admin: httpx.AsyncClient) -> None:
        stored = await put_policy(admin, {"rules": [STARS, rule()]})
        assert stored["rules"][0]["match"]["rfm_segment"] == ["champions"]

    async def test_a_champion_gets_the_rule_for_champions(self, admin: httpx.AsyncClient) -> None:
        await self._three_buyers(admin)
        await recompute(admin)
        assert scores(await rfm(admin, "a")) == (4, 4, 4, "champions")
        assert scores(await rfm(admin, "b")) == (2, 2, 2, "need_attention")
        assert (await status(admin, "a"))["rule"] == "stars"
        assert (await status(admin, "b"))["rule"] == "main"
        assert (await status(admin, "c"))["rule"] == "main"

    async def test_the_statuses_list_follows_a_recompute(
        self, app: FastAPI, clock: FixedClock, admin: httpx.AsyncClient
    ) -> None:
        await self._three_buyers(admin)
        await recompute(admin)
        await drain_refresh_marks(app, clock)
        rules = {item["customer_id"]: item["rule"] for item in await listing(admin, "/v1/statuses")}
        assert rules == {"a": "stars", "b": "main", "c": "main"}

    async def test_the_rule_reads_the_snapshot(
        self, app: FastAPI, clock: FixedClock, admin: httpx.AsyncClient
    ) -> None:
        await self._three_buyers(admin)
        await recompute(admin)
        await buy(admin, "b", NOW - 2 * HOUR, 1000)
        await buy(admin, "b", NOW - HOUR, 1000)
        # the snapshot still has b need_attention and a champions
        assert (await status(admin, "b"))["rule"] == "main"
        assert (await status(admin, "a"))["rule"] == "stars"

        clock.set(NOW + 30 * MINUTE)
        await recompute(admin)
        # as of NOW + 30 min: a 1 day (1 d 5 h 30 min), 3 purchases, 300; b 0 days (1 h 30 min),
        # 4 purchases, 200 + 2000 = 2200; c 30 days, 1, 100.
        # b: a and c worse on every metric -> w 2 -> 4 -> (4, 4, 4): champions;
        # a: c worse -> w 1 -> 2 -> (2, 2, 2): need_attention; c: (1, 1, 1): lost.
        assert scores(await rfm(admin, "b")) == (4, 4, 4, "champions")
        assert scores(await rfm(admin, "a")) == (2, 2, 2, "need_attention")
        assert (await status(admin, "b"))["rule"] == "stars"
        assert (await status(admin, "a"))["rule"] == "main"
        await drain_refresh_marks(app, clock)
        rules = {item["customer_id"]: item["rule"] for item in await listing(admin, "/v1/statuses")}
        assert rules == {"a": "main", "b": "stars", "c": "main"}


class TestRoles:
    async def _snapshot(self, tenant: Tenant) -> None:
        admin = await tenant.client("admin")
        await buyer(admin, "buyer", 3, 1, 80)
        await recompute(admin)

    @pytest.mark.parametrize("path", READ_PATHS)
    @pytest.mark.parametrize("role", READERS)
    async def test_these_roles_may_read(self, tenant: Tenant, role: str, path: str) -> None:
        await self._snapshot(tenant)
        client = await tenant.client(role)
        response = await client.get(path)
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize("path", [*READ_PATHS, "/v1/customers/nobody/rfm"])
    async def test_a_partner_may_not_read(self, tenant: Tenant, path: str) -> None:
        await self._snapshot(tenant)
        partner = await tenant.client("partner", "p-1")
        assert_problem(await partner.get(path), 403)

    @pytest.mark.parametrize("path", READ_PATHS)
    async def test_reading_without_a_key_is_401(
        self, anonymous: httpx.AsyncClient, path: str
    ) -> None:
        assert_problem(await anonymous.get(path), 401)

    @pytest.mark.parametrize("role", ["ingest", "read", "partner"])
    async def test_only_an_admin_may_recompute(self, tenant: Tenant, role: str) -> None:
        await self._snapshot(tenant)
        client = await tenant.client(role, "p-1" if role == "partner" else None)
        assert_problem(await client.post("/v1/rfm/recompute"), 403)

    async def test_recomputing_without_a_key_is_401(self, anonymous: httpx.AsyncClient) -> None:
        assert_problem(await anonymous.post("/v1/rfm/recompute"), 401)

    async def test_an_unknown_segment_with_a_partner_key_is_403(self, tenant: Tenant) -> None:
        partner = await tenant.client("partner", "p-1")
        assert_problem(await partner.get("/v1/rfm", params={"segment": "vip"}), 403)


class TestTheServiceRecomputesByItself:
    """A snapshot over an hour old is recomputed once a purchase or a policy came since (the
    scheduler's look, run here with the test clock; other tests' tenants may be due too)."""

    @staticmethod
    async def look(app: FastAPI, clock: FixedClock) -> None:
        while await recompute_due(app.state.database, clock):
            pass

    async def test_a_purchase_since_an_hour_old_snapshot(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await buy(admin, "a", NOW - 2 * DAY, 100)
        first = await recompute(admin)
        clock.set(NOW + 10 * MINUTE)
        await buy(admin, "b", NOW, 50)
        clock.set(NOW + 59 * MINUTE)
        await self.look(app, clock)
        assert await summary(admin) == first  # not an hour old yet
        clock.set(NOW + 61 * MINUTE)
        await self.look(app, clock)
        second = await summary(admin)
        assert second["as_of"] == z(NOW + 61 * MINUTE)
        assert second["population"] == 2

    async def test_nothing_new_no_recompute(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await buy(admin, "a", NOW - 2 * DAY, 100)
        first = await recompute(admin)
        await put_customer(admin, "a", segment="vip")  # a profile is not what RFM scores
        clock.set(NOW + 5 * HOUR)
        await self.look(app, clock)
        assert await summary(admin) == first

    async def test_a_policy_change_since(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        await buy(admin, "a", NOW - 40 * DAY, 100)
        first = await recompute(admin)
        assert first["population"] == 1
        clock.set(NOW + 2 * HOUR)
        await put_policy(admin, {"rfm": {"window_days": 30}, "rules": [rule()]})
        await self.look(app, clock)
        second = await summary(admin)
        assert second["as_of"] == z(NOW + 2 * HOUR)
        assert second["population"] == 0  # the purchase is now outside the window

    async def test_a_tenant_without_a_snapshot_an_hour_after_its_first_purchase(
        self, app: FastAPI, tenant: Tenant, clock: FixedClock
    ) -> None:
        admin = await tenant.client()
        await buy(admin, "a", NOW - DAY, 100)
        async with app.state.database.driver() as driver:
            count = "SELECT count(*) FROM rfm_snapshots s JOIN tenants t ON t.id = s.tenant_id"
            snapshots = f"{count} WHERE t.name = $1"
            clock.set(NOW + 30 * MINUTE)
            await self.look(app, clock)
            assert await driver.fetchval(snapshots, tenant.name) == 0
            clock.set(NOW + 61 * MINUTE)
            await self.look(app, clock)
            assert await driver.fetchval(snapshots, tenant.name) == 1
        assert (await rfm(admin, "a"))["as_of"] == z(NOW + 61 * MINUTE)
