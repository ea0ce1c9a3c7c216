"""Outbound events that only the passing of time causes: lock.expiring (7 days before a lock's
``expires_at``) and lock.expired, noticed by the walk of lock expiries; customer.due and
customer.overdue, noticed when the refresher renews a status document time has made untrue.
Each is sent once, its ``occurred_at`` the instant time crossed, not the instant it was
noticed.

The FixedClock is moved by the test; the walk (``tick``) and the renewal are called by it."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FixedClock
from app.frequency.refresher import renew_expired
from tests.conftest import NOW, Tenant
from tests.integration.event_helpers import bodies, claim, create_endpoint, read_lock, send
from tests.integration.helpers import (
    drain_refresh_marks,
    put_customer,
    remove_event_endpoints,
    rule,
    set_policy,
    status,
    touch,
    utc,
    z,
)
from tests.receiver import Receiver

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RENEWAL_ROUND = 1000


async def reset_walks(app: FastAPI) -> None:
    """Forget where the walks of time-driven events got to (the cursor is global, and the
    clock of every test starts at NOW again)."""
    async with app.state.sessionmaker() as session:
        await session.execute(text("DELETE FROM event_cursors"))
        await session.commit()


async def tick_at(app: FastAPI, clock: FixedClock, at: datetime) -> None:
    """The walks of time-driven events, run at ``at``."""
    clock.set(at)
    await app.state.deliverer.tick()


async def renew_at(app: FastAPI, clock: FixedClock, at: datetime) -> None:
    """Renew every status document untrue at ``at``, as the refresher does, while the
    background refresher waits (so a renewal it had under way has ended too)."""
    clock.set(at)
    async with app.state.database.refreshing:
        while await renew_expired(app.state.database, clock, RENEWAL_ROUND) >= RENEWAL_ROUND:
            pass


@pytest.fixture(autouse=True)
async def _clean(app: FastAPI, tenant: Tenant) -> AsyncIterator[None]:
    """The walk starts afresh; the test's endpoints and the walk's cursor go with it."""
    await reset_walks(app)
    yield
    await reset_walks(app)
    await remove_event_endpoints(app, tenant.name)


class TestLockTimes:
    async def test_expiring_and_expired_fire_once_at_their_instants(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """A 30-day lock: lock.expiring once when the clock reaches 7 days before its end,
        occurred_at that instant; lock.expired once at expires_at; ticking on sends nothing
        more. The data is the lock as an admin reads it then."""
        await create_endpoint(admin, rx.url, ["lock.expiring", "lock.expired"])
        await tick_at(app, clock, NOW)  # the first walk only starts the cursor
        await put_customer(admin)
        lock = await claim(admin, "c-1", days=30)
        expires_at = NOW + 30 * DAY
        assert lock["expires_at"] == z(expires_at)
        expiring_at = expires_at - 7 * DAY

        await tick_at(app, clock, NOW + HOUR)
        await tick_at(app, clock, expiring_at - SECOND)
        assert await send(app) == 0
        await tick_at(app, clock, expiring_at)
        assert await send(app) == 1
        [expiring] = bodies(rx)
        assert expiring["type"] == "lock.expiring"
        assert expiring["occurred_at"] == z(expiring_at)
        assert expiring["data"] == await read_lock(admin, lock["id"])
        assert expiring["data"]["status"] == "active"

        await tick_at(app, clock, expiring_at + HOUR)
        await tick_at(app, clock, expires_at - SECOND)
        assert await send(app) == 0
        await tick_at(app, clock, expires_at + 30 * SECOND)
        assert await send(app) == 1
        expired = bodies(rx)[1]
        assert expired["type"] == "lock.expired"
        assert expired["occurred_at"] == z(expires_at)
        assert expired["data"] == await read_lock(admin, lock["id"])
        assert expired["data"]["status"] == "expired"

        await tick_at(app, clock, expires_at + HOUR)
        await tick_at(app, clock, expires_at + 10 * DAY)
        await tick_at(app, clock, expires_at + 10 * DAY)
        assert await send(app) == 0
        assert len(rx.received) == 2

    async def test_a_walk_over_a_long_pause_notices_both_at_their_own_instants(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Nothing walked for the lock's whole life (a service down): the next walk records
        both events, each with the instant time crossed, once."""
        await create_endpoint(admin, rx.url, ["lock.expiring", "lock.expired"])
        await tick_at(app, clock, NOW)
        await put_customer(admin)
        await claim(admin, "c-1", days=10)
        await tick_at(app, clock, NOW + 20 * DAY)
        await tick_at(app, clock, NOW + 21 * DAY)
        assert await send(app) == 2
        seen = sorted((event["type"], event["occurred_at"]) for event in bodies(rx))
        assert seen == [("lock.expired", z(NOW + 10 * DAY)), ("lock.expiring", z(NOW + 3 * DAY))]

    async def test_a_released_lock_neither_expires_nor_is_expiring(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Released before 7 days ahead of its end: neither event. Released between the two:
        lock.expiring only."""
        await create_endpoint(admin, rx.url, ["lock.expiring", "lock.expired"])
        await tick_at(app, clock, NOW)
        await put_customer(admin, "c-early")
        await put_customer(admin, "c-late")
        early = await claim(admin, "c-early", days=30)
        late = await claim(admin, "c-late", days=30)
        clock.set(NOW + DAY)
        assert (await admin.delete(f"/v1/locks/{early['id']}")).status_code == 204
        await tick_at(app, clock, NOW + 2 * DAY)
        await tick_at(app, clock, NOW + 25 * DAY)
        assert (await admin.delete(f"/v1/locks/{late['id']}")).status_code == 204
        await tick_at(app, clock, NOW + 40 * DAY)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert (event["type"], event["data"]["id"]) == ("lock.expiring", late["id"])
        assert event["occurred_at"] == z(NOW + 23 * DAY)

    async def test_a_renewed_lock_expires_at_its_new_end(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Renewed before the old end: lock.expired at the new expires_at, not the old."""
        await create_endpoint(admin, rx.url, ["lock.expired"])
        await tick_at(app, clock, NOW)
        await put_customer(admin)
        lock = await claim(admin, "c-1", days=10)
        await tick_at(app, clock, NOW + 5 * DAY)
        response = await admin.post(f"/v1/locks/{lock['id']}/renew", json={"days": 30})
        assert response.status_code == 200, response.text
        await tick_at(app, clock, NOW + 20 * DAY)
        assert await send(app) == 0
        await tick_at(app, clock, NOW + 36 * DAY)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["occurred_at"] == z(NOW + 35 * DAY)


class TestCustomerTimes:
    async def prepare(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> tuple[datetime, datetime]:
        """A customer contacted an hour ago under a 7/14-day rule, its verdict stored;
        its due_at and overdue_at."""
        await set_policy(admin, rule(follow_up_days=7, overdue_after_days=14))
        await put_customer(admin)
        await touch(admin, NOW - HOUR)
        await drain_refresh_marks(app, clock)
        state = await status(admin)
        assert state["status"] == "on_track"
        due_at = utc(state["next_follow_up"]["due_at"])
        overdue_at = utc(state["next_follow_up"]["overdue_at"])
        assert due_at == NOW - HOUR + 7 * DAY
        assert overdue_at == NOW - HOUR + 14 * DAY
        return due_at, overdue_at

    async def test_overdue_fires_once_when_only_time_passes(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Nothing written: past overdue_at the renewal records customer.overdue once, with
        occurred_at the status's overdue_at and the status as GET answers it; renewing
        later records nothing more."""
        _, overdue_at = await self.prepare(app, admin, clock)
        await create_endpoint(admin, rx.url, ["customer.overdue"])
        await renew_at(app, clock, overdue_at - SECOND)
        assert await send(app) == 0
        await renew_at(app, clock, overdue_at + 30 * SECOND)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.overdue"
        assert event["occurred_at"] == z(overdue_at)
        assert event["data"]["status"] == "overdue"
        assert event["data"]["customer_id"] == "c-1"
        assert event["data"] == await status(admin)
        await renew_at(app, clock, overdue_at + 30 * SECOND)
        await renew_at(app, clock, overdue_at + 2 * DAY)
        await renew_at(app, clock, overdue_at + 30 * DAY)
        assert await send(app) == 0
        assert len(rx.received) == 1

    async def test_due_then_overdue_each_once(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Past due_at: customer.due at due_at; past overdue_at: customer.overdue at
        overdue_at; each once."""
        due_at, overdue_at = await self.prepare(app, admin, clock)
        await create_endpoint(admin, rx.url, ["customer.due", "customer.overdue"])
        await renew_at(app, clock, due_at + 30 * SECOND)
        await renew_at(app, clock, due_at + DAY)
        assert await send(app) == 1
        await renew_at(app, clock, overdue_at + 30 * SECOND)
        await renew_at(app, clock, overdue_at + DAY)
        assert await send(app) == 1
        seen = [(event["type"], event["occurred_at"]) for event in bodies(rx)]
        assert seen == [("customer.due", z(due_at)), ("customer.overdue", z(overdue_at))]

    async def test_a_contact_before_overdue_means_no_event(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """A contact between due_at and overdue_at restarts the clock: the customer never
        becomes overdue at the old overdue_at."""
        due_at, overdue_at = await self.prepare(app, admin, clock)
        await create_endpoint(admin, rx.url, ["customer.overdue"])
        clock.set(due_at + DAY)
        await touch(admin, due_at + DAY - HOUR)
        await drain_refresh_marks(app, clock)
        await renew_at(app, clock, overdue_at + MINUTE)
        assert await send(app) == 0
        assert (await status(admin))["status"] == "on_track"


class TestEnteringAfterAnotherStatus:
    """A customer over-contacted (an unsubscribe within fatigue_days) when overdue_at passes
    is not overdue then: it enters overdue when the over-contact ends."""

    async def prepare(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> tuple[datetime, datetime]:
        """Contacted by phone 42 h ago (overdue 6 h from now), an email unsubscribe 36 h ago
        (over-contacted until 12 h from now, fatigue_days 2); overdue_at and the end of the
        over-contact."""
        await set_policy(admin, rule(follow_up_days=1, overdue_after_days=2), fatigue_days=2)
        await put_customer(admin, preferences={"preferred_channels": ["phone", "email"]})
        await touch(admin, NOW - 42 * HOUR, "phone")
        await touch(admin, NOW - 36 * HOUR, "email", kind="engagement", outcome="unsubscribed")
        await drain_refresh_marks(app, clock)
        state = await status(admin)
        assert state["status"] == "over_contacted"
        [unsubscribed] = [r for r in state["reasons"] if r["code"] == "recent_unsubscribe"]
        overdue_at = utc(state["next_follow_up"]["overdue_at"])
        over_until = utc(unsubscribed["until"])
        assert (overdue_at, over_until) == (NOW + 6 * HOUR, NOW + 12 * HOUR)
        return overdue_at, over_until

    async def test_renewed_on_time_it_is_overdue_when_the_over_contact_ends(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Renewed at each instant its document names: nothing at overdue_at (still
        over-contacted); customer.overdue within a minute of the over-contact's end."""
        overdue_at, over_until = await self.prepare(app, admin, clock)
        await create_endpoint(admin, rx.url, ["customer.overdue", "customer.over_contacted"])
        await renew_at(app, clock, overdue_at + 30 * SECOND)
        assert await send(app) == 0
        await renew_at(app, clock, over_until + 30 * SECOND)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.overdue"
        assert over_until <= utc(event["occurred_at"]) <= over_until + MINUTE

    async def test_renewed_late_it_is_still_not_overdue_before_the_over_contact_ends(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Renewed only after both instants (a refresher behind, a restart): the event's
        occurred_at is not overdue_at, when the customer was over-contacted, but no earlier
        than the over-contact's end."""
        overdue_at, over_until = await self.prepare(app, admin, clock)
        await create_endpoint(admin, rx.url, ["customer.overdue"])
        assert overdue_at < over_until
        await renew_at(app, clock, over_until + 30 * SECOND)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.overdue"
        assert over_until <= utc(event["occurred_at"]) <= over_until + 30 * SECOND
