"""Keeping the outbox small: an event whose deliveries have all ended (succeeded or failed)
is deleted with them 30 days after it was recorded; until then its failed deliveries may
be replayed. A ticker of the delivery worker, a bounded batch each time."""

from datetime import timedelta

from app.clock import Clock
from app.db import Database
from app.events import repository

KEEP = timedelta(days=30)
BATCH = 5000


async def prune_ended(db: Database, clock: Clock) -> int:
    """Delete up to ``BATCH`` ended events older than ``KEEP``; how many."""
    async with db.driver() as driver:
        return await repository.prune(driver.fetch, clock.now() - KEEP, BATCH)
