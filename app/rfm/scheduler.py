"""Recomputing stale RFM snapshots in the background of every serving process: a look a
minute at which tenants are due (an advisory lock keeps two processes from scoring one
tenant at once; the second then finds it fresh)."""

from app.background import Periodic
from app.clock import Clock
from app.db import Database
from app.rfm.service import recompute_due

POLL_SECONDS = 60.0


def rfm_scheduler(db: Database, clock: Clock) -> Periodic:
    async def recompute_all_due() -> None:
        while await recompute_due(db, clock) and not scheduler.stopping:
            pass

    scheduler = Periodic("rfm", recompute_all_due, POLL_SECONDS)
    return scheduler
