"""RFM scored in SQL equals the contract's formula computed by hand in Python, for any
population: ties, equal amounts, purchases without an amount, some outside the window."""

import math
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cadence.rfm import score, segment_of
from tests.conftest import NOW, Tenant
from tests.integration.helpers import listing, z

WINDOW_DAYS = 30
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Purchase:
    customer: int
    hours_ago: int  # before NOW; past WINDOW_DAYS * 24 it is outside the window
    amount: Decimal | None


purchases = st.builds(
    Purchase,
    customer=st.integers(0, 7),
    hours_ago=st.integers(0, (WINDOW_DAYS + 5) * 24),
    amount=st.one_of(st.none(), st.decimals(0, 500, places=2)),
)


def expected(drawn: list[Purchase]) -> dict[str, tuple[int, int, Decimal, int, int, int, str]]:
    """The contract's formula, customer by customer, as plainly as it reads."""
    window = [p for p in drawn if p.hours_ago < WINDOW_DAYS * 24]
    metrics = {}
    for customer in {p.customer for p in window}:
        mine = [p for p in window if p.customer == customer]
        recency = math.floor(min(p.hours_ago for p in mine) / 24)
        money = sum((p.amount or Decimal(0) for p in mine), Decimal(0))
        metrics[f"c-{customer}"] = (recency, len(mine), money)
    n = len(metrics)
    scored = {}
    for name, (recency, frequency, money) in metrics.items():
        r = score(sum(1 for x, _, _ in metrics.values() if x > recency), n)
        f = score(sum(1 for _, x, _ in metrics.values() if x < frequency), n)
        m = score(sum(1 for _, _, x in metrics.values() if x < money), n)
        scored[name] = (recency, frequency, money, r, f, m, segment_of(r, f, m))
    return scored


@settings(
    max_examples=int(os.environ.get("TOUCHBASE_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=st.lists(purchases, min_size=1, max_size=25))
async def test_scores_in_sql_equal_the_formula(app: FastAPI, drawn: list[Purchase]) -> None:
    tenant = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
    try:
        admin = await tenant.client("admin")
        policy = {"rfm": {"window_days": WINDOW_DAYS}, "rules": [
            {"name": "main", "match": {}, "follow_up_days": 7, "overdue_after_days": 14}
        ]}  # fmt: skip
        assert (await admin.put("/v1/policy", json=policy)).status_code == 200
        touches = [
            {
                "customer_id": f"c-{p.customer}", "channel": "store", "kind": "purchase",
                "occurred_at": z(NOW - timedelta(hours=p.hours_ago)),
                "amount": str(p.amount) if p.amount is not None else None,
                "source": "pos", "external_id": f"p-{i}",
            }
            for i, p in enumerate(drawn)
        ]  # fmt: skip
        response = await admin.post("/v1/touches/batch", json={"touches": touches})
        assert response.json()["created"] == len(drawn), response.text
        summary = (await admin.post("/v1/rfm/recompute")).json()

        want = expected(drawn)
        got = {
            item["customer_id"]: (
                item["recency_days"], item["frequency"], Decimal(str(item["monetary"])),
                item["r"], item["f"], item["m"], item["segment"],
            )
            for item in await listing(admin, "/v1/rfm")
        }  # fmt: skip
        assert got == want
        assert summary["population"] == len(want)
        outside = await listing(admin, "/v1/rfm", segment="none")
        everyone = {f"c-{p.customer}" for p in drawn}
        assert {item["customer_id"] for item in outside} == everyone - set(want)
    finally:
        await tenant.close()
