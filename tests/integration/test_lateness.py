"""Whether follow-ups came late (compliance's ``late``): read off the stored status by the
refresh when a follow-up comes in order, judged by the engine in the background otherwise;
either way what ``/status?as_of=`` an instant before the follow-up says."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.analytics import lateness
from app.clock import FixedClock
from app.facts import repository as facts
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    drain_refresh_marks,
    put_customer,
    set_policy,
    tenant_id_of,
    touch,
    z,
)

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
COMPLIANCE = "/v1/analytics/compliance"

FOLLOW_UPS = text(
    "SELECT f.customer_id, f.occurred_at, f.late FROM contact_facts f"
    " JOIN tenants t ON t.id = f.tenant_id WHERE t.name = :name"
    " AND f.direction = 'outbound' AND NOT f.automated ORDER BY f.occurred_at, f.customer_id"
)


async def follow_ups(tenant: Tenant) -> list[tuple[str, datetime, bool | None]]:
    """The tenant's follow-ups as stored: (customer, instant, late or None: not judged)."""
    async with tenant.app.state.sessionmaker() as session:
        rows = (await session.execute(FOLLOW_UPS, {"name": tenant.name})).all()
    return [(row.customer_id, row.occurred_at, row.late) for row in rows]


async def tenant_id(tenant: Tenant) -> uuid.UUID:
    return await tenant_id_of(tenant.app, tenant.name)


async def late_by_the_engine(client: httpx.AsyncClient, customer_id: str, then: datetime) -> bool:
    """What /status an instant before ``then`` says: at or after its ``overdue_at``."""
    response = await client.get(
        f"/v1/customers/{customer_id}/status",
        params={"as_of": z(then - timedelta(microseconds=1))},
    )
    assert response.status_code == 200, response.text
    overdue_at = response.json()["next_follow_up"]["overdue_at"]
    return overdue_at is not None and then >= datetime.fromisoformat(overdue_at)


async def follow_up_now(
    client: httpx.AsyncClient, app: FastAPI, clock: FixedClock, customer_id: str, at: datetime
) -> None:
    """At ``at``: the customer's verdict stored afresh (a profile write), then a call to it a
    minute later that is posted at once, and the refresher's round."""
    clock.set(at)
    await put_customer(client, customer_id, owner={"rep_id": "rep-1"})
    await drain_refresh_marks(app, clock)
    clock.set(at + HOUR)
    await touch(client, at + HOUR - MINUTE, "phone", customer_id)
    await drain_refresh_marks(app, clock)


async def test_a_follow_up_that_comes_in_order_is_judged_by_its_refresh(
    tenant: Tenant, clock: FixedClock
) -> None:
    """Follow up after 7 days, overdue after 14: a second call 9 days after the first is on
    time, one 20 days after is late; each is judged when the refresher counts it, before any
    report, exactly as the engine judges it an instant before."""
    admin = await tenant.client()
    await set_policy(admin)
    for customer_id in ("on-time", "late"):
        await follow_up_now(admin, tenant.app, clock, customer_id, NOW)
    await follow_up_now(admin, tenant.app, clock, "on-time", NOW + 9 * DAY)
    await follow_up_now(admin, tenant.app, clock, "late", NOW + 20 * DAY)
    stored = await follow_ups(tenant)
    assert [(customer_id, late) for customer_id, _, late in stored] == [
        ("late", False), ("on-time", False), ("on-time", False), ("late", True),
    ]  # fmt: skip
    for customer_id, then, late in stored:
        assert late == await late_by_the_engine(admin, customer_id, then)
    window = {"from": z(NOW), "to": z(NOW + 30 * DAY)}
    body = (await admin.get(COMPLIANCE, params=window)).json()
    assert [(r["owner"], r["follow_ups"], r["late"]) for r in body["rows"]] == [("rep-1", 4, 1)]


async def a_past_history(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Calls of October, posted now: every stored verdict was computed after them."""
    await set_policy(client)
    await put_customer(client, "c-1", owner={"rep_id": "rep-1"})
    await put_customer(client, "c-2", owner={"rep_id": "rep-2"})
    start = datetime.fromisoformat("2026-10-01T09:00:00+00:00")
    return [
        await touch(client, start + days * DAY, "phone", customer_id)
        for customer_id, days in (("c-1", 0), ("c-1", 9), ("c-1", 30), ("c-2", 0), ("c-2", 14))
    ]


async def test_a_history_posted_late_is_judged_in_the_background(
    tenant: Tenant, clock: FixedClock
) -> None:
    admin = await tenant.client()
    await a_past_history(admin)
    await drain_refresh_marks(tenant.app, clock)
    assert {late for _, _, late in await follow_ups(tenant)} == {None}
    async with tenant.app.state.database.driver() as driver:
        assert await tenant_id(tenant) in await facts.tenants_with_unjudged(driver.fetch)
    assert await lateness.judge_tenant(tenant.app.state.database, await tenant_id(tenant)) == 5
    stored = await follow_ups(tenant)
    assert [late for _, _, late in stored] == [False, False, False, True, True]
    for customer_id, then, late in stored:
        assert late == await late_by_the_engine(admin, customer_id, then)
    async with tenant.app.state.database.driver() as driver:
        assert await tenant_id(tenant) not in await facts.tenants_with_unjudged(driver.fetch)
    assert await lateness.judge_tenant(tenant.app.state.database, await tenant_id(tenant)) == 0


async def test_one_judge_at_a_time_takes_a_tenant(tenant: Tenant, clock: FixedClock) -> None:
    """While one process judges a tenant's follow-ups, another leaves them to it."""
    admin = await tenant.client()
    await a_past_history(admin)
    await drain_refresh_marks(tenant.app, clock)
    db, tenant_uuid = tenant.app.state.database, await tenant_id(tenant)
    async with db.driver() as other, other.transaction():
        assert await facts.take_judging(other.fetch, tenant_uuid)
        assert await lateness.judge_tenant(db, tenant_uuid) == 0
    assert await lateness.judge_tenant(db, tenant_uuid) == 5


async def test_a_judgement_read_before_a_recount_is_not_kept(
    tenant: Tenant, clock: FixedClock
) -> None:
    """A judgement made from the history as it was when its follow-up was read is not stored
    once a refresh has counted the follow-up again, even when nothing of the follow-up's own
    facts changed: here an inbound call stored meanwhile, 10 days before it, makes it on time
    (its follow-up number stays 1)."""
    admin = await tenant.client()
    await set_policy(admin)
    await put_customer(admin, "c-1", owner={"rep_id": "rep-1"})
    start = datetime.fromisoformat("2026-10-01T09:00:00+00:00")
    await touch(admin, start, "phone")
    await touch(admin, start + DAY, "phone", direction="inbound")
    await touch(admin, start + 20 * DAY, "phone")  # 19 days after the last contact: late
    await drain_refresh_marks(tenant.app, clock)
    db, tenant_uuid = tenant.app.state.database, await tenant_id(tenant)
    async with db.driver() as driver:
        read = await facts.pending_follow_ups(driver.fetch, tenant_uuid, 10)
    follow_up = next(row for row in read if row["occurred_at"] == start + 20 * DAY)
    await touch(admin, start + 10 * DAY, "phone", direction="inbound")
    await drain_refresh_marks(tenant.app, clock)
    async with db.driver() as driver:
        await facts.store_judged(
            driver.fetch, tenant_uuid, [(follow_up["touch_id"], follow_up["version"], True)]
        )
    assert [late for _, _, late in await follow_ups(tenant)] == [None, None]
    assert await lateness.judge_tenant(db, tenant_uuid) == 2
    assert [late for _, _, late in await follow_ups(tenant)] == [False, False]
    assert not await late_by_the_engine(admin, "c-1", start + 20 * DAY)
