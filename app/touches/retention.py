"""Retention: the policy's ``retention_days`` expires old touches, in the background of every
serving process, customer by customer in short rounds (each its own statement: no long
locks, no table rewrite). What a status reads is kept (each customer's latest contact of
every kind it looks at, purchases within the RFM window, complaints within their pause), and
so are the per-day counts and contact facts: statuses and analytics do not change."""

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app import metrics
from app.cadence.fatigue import SIGNAL_LOOKBACK_DAYS
from app.clock import Clock
from app.db import Database
from app.policies import repository as policies
from app.touches import repository
from app.touches.repository import Cutoffs

log = logging.getLogger("touchbase.retention")

CUSTOMERS_PER_ROUND = 500
POLL_SECONDS = 3600.0


def cutoffs(policy: Mapping[str, Any], now: datetime) -> Cutoffs:
    """What the tenant's active policy lets go of at ``now``."""
    keep = timedelta(days=policy["retention_days"])
    rfm = timedelta(days=policy["rfm_window_days"] or 0)
    pause = timedelta(days=max(policy["complaint_pause_days"] or 0, SIGNAL_LOOKBACK_DAYS))
    return Cutoffs(now - keep, now - max(keep, rfm), now - max(keep, pause))


async def sweep(db: Database, clock: Clock) -> int:
    """One pass over every tenant that limits retention; how many touches were deleted."""
    async with db.driver() as driver:
        retaining = await policies.retaining(driver.fetch)
    deleted = 0
    for policy in retaining:
        limits = cutoffs(policy, clock.now())
        async with db.driver() as driver:
            await repository.advance_horizon(driver.fetch, policy["tenant_id"], limits.touches)
        after: str | None = ""
        while after is not None:
            async with db.driver() as driver:
                after, gone = await repository.expire_round(
                    driver.fetch, policy["tenant_id"], after, CUSTOMERS_PER_ROUND, limits
                )
            metrics.TOUCHES_EXPIRED.inc(gone)
            deleted += gone
    return deleted


class RetentionSweeper:
    """A sweep at start and then every hour."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="touchbase-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await sweep(self.db, self.clock)
            except Exception:
                log.exception("a retention sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)
