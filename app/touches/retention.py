"""Retention: the policy's ``retention_days`` expires old touches, in the background of every
serving process, customer by customer in short rounds (each its own statement: no long
locks, no table rewrite). What a status reads is kept (each customer's latest contact of
every kind it looks at, purchases within the RFM window, complaints within their pause), and
so are the per-day counts and contact facts: statuses and analytics do not change (a customer
whose facts are not counted yet, or whose follow-ups are not judged yet, waits)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app import metrics
from app.background import Periodic
from app.cadence.fatigue import SIGNAL_LOOKBACK_DAYS
from app.clock import Clock
from app.db import Database
from app.policies import repository as policies
from app.touches import repository
from app.touches.repository import Cutoffs

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


def retention_sweeper(db: Database, clock: Clock) -> Periodic:
    """A sweep at start, then every hour."""
    return Periodic("retention", lambda: sweep(db, clock), POLL_SECONDS)
