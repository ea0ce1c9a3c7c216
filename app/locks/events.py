"""Outbound events about locks as time passes: expiring (seven days ahead) and expired,
each noticed once by a walk of the expiry index (claimed and released are recorded with
the change, by the service)."""

from datetime import timedelta

from app.clock import Clock
from app.db import Database, driver_fetch
from app.events import outbox
from app.events.schemas import EventType
from app.locks import repository
from app.locks.service import lock_event

EXPIRING_AHEAD = timedelta(days=7)
WALK = "lock-expiry"


async def notice_expiry(db: Database, clock: Clock) -> int:
    """Record lock.expiring and lock.expired for the instants passed since the last walk;
    how many locks were noticed."""
    now = clock.now()
    async with db.sessions() as session:
        fetch = await driver_fetch(session)
        since = await outbox.walk_from(fetch, WALK, now)
        if since is None:
            await session.commit()
            return 0
        expiring = await repository.ending_between(
            session, since + EXPIRING_AHEAD, now + EXPIRING_AHEAD
        )
        expired = await repository.ending_between(session, since, now)
        events = [
            *(lock_event(r, EventType.lock_expiring, r["expires_at"] - EXPIRING_AHEAD, now)
              for r in expiring),
            *(lock_event(r, EventType.lock_expired, r["expires_at"], now) for r in expired),
        ]  # fmt: skip
        await outbox.record(fetch, events, now)
        await session.commit()
    return len(events)
