"""A list refreshes the verdicts it reads at once, and leaves the contact facts of those
customers (what analytics count) pending for the background refresher: counting them would
take as long again. A report counts whatever is pending first, so it still counts every
touch stored before it."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FixedClock
from app.config import Settings
from app.facts import repository as facts
from app.frequency.refresher import run_round
from app.main import create_app
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    drain_refresh_marks,
    put_customer,
    set_policy,
    tenant_id_of,
    touch,
    z,
)

HOUR = timedelta(hours=1)
CONTACTED_AT = NOW - HOUR

LEFT = text(
    "SELECT (SELECT count(*) FROM refresh_marks m WHERE m.tenant_id = t.id) AS marks,"
    " (SELECT count(*) FROM contact_facts f WHERE f.tenant_id = t.id) AS facts,"
    " (SELECT array_agg(p.facts_from) FROM pending_facts p WHERE p.tenant_id = t.id) AS pending"
    " FROM tenants t WHERE t.name = :name"
)


@pytest.fixture
async def quiet(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    """The service with no background work of its own, on the tests' database."""
    settings = Settings(
        database_url=database_url, pool_size=4, refresher=False, rfm_auto_recompute=False,
        events_delivery=False, lateness=False, retention=False,
    )  # fmt: skip
    application = create_app(settings, clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def quiet_tenant(quiet: FastAPI) -> AsyncIterator[Tenant]:
    tenant = Tenant(quiet, f"t-{uuid.uuid4().hex[:10]}")
    yield tenant
    await tenant.close()


@pytest.fixture
async def paused(app: FastAPI, clock: FixedClock) -> AsyncIterator[None]:
    """The tests' own service (its background refresher, which rests while requests come)
    has left nothing of earlier tests for a round here to take, and counts nothing meanwhile."""
    await drain_refresh_marks(app, clock)
    async with app.state.database.refreshing:
        yield


@pytest.fixture
async def admin(paused: None, quiet_tenant: Tenant) -> httpx.AsyncClient:
    """The tenant's admin key on the quiet service, with a customer of rep-1 called an hour
    ago."""
    client = await quiet_tenant.client()
    await put_customer(client, "c-1", owner={"rep_id": "rep-1"})
    await touch(client, CONTACTED_AT, "phone", "c-1")
    return client


async def left(tenant: Tenant) -> tuple[int, int, list[datetime]]:
    """The tenant's refresh marks, contact facts and pending facts (their instants)."""
    async with tenant.app.state.sessionmaker() as session:
        row = (await session.execute(LEFT, {"name": tenant.name})).one()
    return row.marks, row.facts, list(row.pending or [])


async def follow_ups_of_rep_1(admin: httpx.AsyncClient) -> list[str]:
    response = await admin.get("/v1/follow-ups", params={"owner_rep": "rep-1"})
    assert response.status_code == 200, response.text
    return [item["customer_id"] for item in response.json()["items"]]


async def contacts_counted(admin: httpx.AsyncClient) -> int:
    response = await admin.get(
        "/v1/analytics/contacts", params={"from": z(NOW - 24 * HOUR), "to": z(NOW)}
    )
    assert response.status_code == 200, response.text
    return int(response.json()["totals"]["contacts"])


async def test_a_list_refreshes_verdicts_and_leaves_the_facts_pending(
    quiet_tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    assert await left(quiet_tenant) == (1, 0, [])
    await follow_ups_of_rep_1(admin)
    assert await left(quiet_tenant) == (0, 0, [CONTACTED_AT])
    status = await admin.get("/v1/customers/c-1/status")
    assert status.json()["last_contact_at"] == z(CONTACTED_AT)


async def test_a_report_counts_the_pending_facts_first(
    quiet_tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    await follow_ups_of_rep_1(admin)
    assert await contacts_counted(admin) == 1
    assert await left(quiet_tenant) == (0, 1, [])


async def test_the_background_refresher_counts_the_pending_facts(
    quiet_tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> None:
    await follow_ups_of_rep_1(admin)
    assert await run_round(quiet_tenant.app.state.database, clock, 500) == 1
    assert await left(quiet_tenant) == (0, 1, [])


async def test_a_later_list_keeps_the_earliest_pending_instant(
    quiet_tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    await follow_ups_of_rep_1(admin)
    await touch(admin, CONTACTED_AT + HOUR / 2, "email", "c-1")
    await touch(admin, CONTACTED_AT - 5 * HOUR, "visit", "c-1")
    await follow_ups_of_rep_1(admin)
    assert await left(quiet_tenant) == (0, 0, [CONTACTED_AT - 5 * HOUR])
    assert await contacts_counted(admin) == 3


async def test_erasing_a_customer_with_pending_facts(
    quiet_tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    await follow_ups_of_rep_1(admin)
    response = await admin.delete("/v1/customers/c-1")
    assert response.status_code == 204, response.text
    assert await left(quiet_tenant) == (0, 0, [])


async def advisory_waits(app: FastAPI) -> int:
    """Sessions of the tests' database waiting on an advisory lock now."""
    async with app.state.database.driver() as driver:
        found = await driver.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
    return int(found)


async def test_counts_of_one_customer_take_turns(
    quiet_tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    """Two counts of one customer's facts (two processes' refreshers, a report and a
    refresher) never overlap: one that read the touches before the other committed would
    write back the follow-up numbers it read. A count of another customer goes on."""
    await put_customer(admin, "c-2")
    app = quiet_tenant.app
    tenant_id = await tenant_id_of(app, quiet_tenant.name)
    db = app.state.database
    everything = datetime.fromisoformat("2000-01-01T00:00:00+00:00")

    async def count(customer_id: str) -> None:
        async with db.driver() as driver, driver.transaction():
            await facts.refresh(driver.fetch, tenant_id, {customer_id: everything})

    async with db.driver() as first, first.transaction():
        await facts.refresh(first.fetch, tenant_id, {"c-1": everything})
        await count("c-2")  # another customer: not held up
        second = asyncio.create_task(count("c-1"))
        for _ in range(500):
            if await advisory_waits(app):
                break
            await asyncio.sleep(0.01)
        assert await advisory_waits(app) == 1
        assert not second.done()
    await second
    assert await advisory_waits(app) == 0


async def test_a_report_judges_again_what_time_changed(
    quiet_tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> None:
    """A schedule past its recheck time is judged again before a report counts it: c-1, a
    lead called an hour ago, is overdue under the young leads' rule until its tenth day as a
    lead, then due under the main rule (nothing else runs meanwhile on the quiet service)."""
    young_leads = {
        "name": "young_leads", "match": {"stage": ["lead"], "stage_age_days_lt": 10},
        "follow_up_days": 2, "overdue_after_days": 4,
    }  # fmt: skip
    main = {"name": "main", "match": {}, "follow_up_days": 7, "overdue_after_days": 14}
    await set_policy(admin, young_leads, main)
    await put_customer(admin, "c-1", owner={"rep_id": "rep-1"}, stage="lead")
    window = {"from": z(NOW - 24 * HOUR), "to": z(NOW + 240 * HOUR)}

    async def now_counts() -> tuple[int, int]:
        response = await admin.get("/v1/analytics/compliance", params=window)
        assert response.status_code == 200, response.text
        [row] = response.json()["rows"]
        return row["due_now"], row["overdue_now"]

    clock.set(NOW + 240 * HOUR - timedelta(minutes=1))
    assert await now_counts() == (0, 1)
    clock.set(NOW + 240 * HOUR)
    assert await now_counts() == (1, 0)
