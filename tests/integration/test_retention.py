"""Retention: the policy's ``retention_days`` expires touches that occurred longer ago, in
rounds of customers, driven by the injectable clock; statuses and analytics stay as they
were (what a status reads is kept; per-day counts and contact facts are not touches)."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FixedClock
from app.touches import retention
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    drain_refresh_marks,
    judge_lateness,
    listing,
    put_customer,
    set_policy,
    touch,
    utc,
)

DAY = timedelta(days=1)
OLD_DAYS = {"from": (NOW - 700 * DAY).isoformat(), "to": (NOW - 350 * DAY).isoformat()}


async def contacts_report(admin: httpx.AsyncClient) -> dict[str, Any]:
    response = await admin.get("/v1/analytics/contacts", params={**OLD_DAYS, "interval": "month"})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def histories(admin: httpx.AsyncClient) -> dict[str, list[int]]:
    """Each customer's touches, as days before NOW."""
    return {
        customer: sorted(
            round((NOW - utc(t["occurred_at"])) / DAY)
            for t in await listing(admin, f"/v1/customers/{customer}/touches")
        )
        for customer in ("c-1", "c-2")
    }


@pytest.mark.parametrize("days", [399, 3651, "400"])
async def test_retention_days_is_null_or_400_to_3650(admin: httpx.AsyncClient, days: Any) -> None:
    response = await admin.put("/v1/policy", json={"retention_days": days, "rules": [
        {"name": "main", "match": {}, "follow_up_days": 7}]})  # fmt: skip
    assert_problem(response, 422)


async def test_old_touches_expire_in_rounds_and_nothing_read_changes(
    app: FastAPI,
    tenant: Tenant,
    admin: httpx.AsyncClient,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past 400 days: a customer's older contacts go, its latest of each kind a status reads
    stays (the last inbound call, another customer's only contact), an old purchase goes.
    The statuses and the analytics of those days are unchanged; a second sweep deletes
    nothing more."""
    await set_policy(admin, retention_days=400)
    for customer in ("c-1", "c-2"):
        await put_customer(admin, customer)
    await touch(admin, NOW - 600 * DAY, "email", "c-1")
    await touch(admin, NOW - 500 * DAY, "phone", "c-1")
    await touch(admin, NOW - 450 * DAY, "phone", "c-1", direction="inbound")
    await touch(admin, NOW - 600 * DAY, "shop", "c-1", kind="purchase", amount="12.00")
    await touch(admin, NOW - 10 * DAY, "email", "c-1")
    await touch(admin, NOW - 700 * DAY, "visit", "c-2")
    await drain_refresh_marks(app, clock)
    await judge_lateness(app, tenant.name)
    statuses = [(await admin.get(f"/v1/customers/{c}/status")).json() for c in ("c-1", "c-2")]
    report = await contacts_report(admin)
    assert report["totals"]["contacts"] == 4

    monkeypatch.setattr(retention, "CUSTOMERS_PER_ROUND", 1)
    assert await retention.sweep(app.state.database, clock) == 3

    assert await histories(admin) == {"c-1": [10, 450], "c-2": [700]}
    after = [(await admin.get(f"/v1/customers/{c}/status")).json() for c in ("c-1", "c-2")]
    assert after == statuses
    await drain_refresh_marks(app, clock)
    assert await contacts_report(admin) == report
    assert await retention.sweep(app.state.database, clock) == 0
    # a touch from before the limit, arriving late, recounts nothing there (the expired
    # contacts' facts stay), is not counted itself, and goes at the next sweep
    await touch(admin, NOW - 530 * DAY, "sms", "c-1")
    await drain_refresh_marks(app, clock)
    await judge_lateness(app, tenant.name)
    assert await contacts_report(admin) == report
    assert await retention.sweep(app.state.database, clock) == 1


async def test_without_retention_days_nothing_expires(
    app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
) -> None:
    await set_policy(admin)
    await put_customer(admin, "c-1")
    await touch(admin, NOW - 900 * DAY, "email", "c-1")
    await touch(admin, NOW - 800 * DAY, "email", "c-1")
    await retention.sweep(app.state.database, clock)
    assert len(await listing(admin, "/v1/customers/c-1/touches")) == 2


async def test_the_limit_moves_with_the_clock(
    app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> None:
    """A touch 390 days old stays until the clock passes its 400th day; a customer whose
    contact facts a refresh has yet to count, or whose follow-ups are yet to be judged, waits
    for the next sweep."""
    await set_policy(admin, retention_days=400)
    await put_customer(admin, "c-1")
    await touch(admin, NOW - 390 * DAY, "email", "c-1")
    await touch(admin, NOW - 5 * DAY, "email", "c-1")
    assert await retention.sweep(app.state.database, clock) == 0  # facts not counted yet
    await drain_refresh_marks(app, clock)
    assert await retention.sweep(app.state.database, clock) == 0
    clock.set(NOW + 11 * DAY)
    assert await retention.sweep(app.state.database, clock) == 0  # lateness not judged yet
    await judge_lateness(app, tenant.name)
    assert len(await listing(admin, "/v1/customers/c-1/touches")) == 2
    assert await retention.sweep(app.state.database, clock) == 1
    assert len(await listing(admin, "/v1/customers/c-1/touches")) == 1
