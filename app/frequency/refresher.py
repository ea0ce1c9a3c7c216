"""The background refresher: in every serving process, it drains refresh marks and renews
the status documents time has made untrue, in rounds of hundreds of customers (set-based
reads, one upsert). Marks live in the database, so a crash or a SIGTERM loses nothing: the
next round, here or in another process, takes them up."""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from app import metrics
from app.clock import Clock
from app.db import Database
from app.errors import is_database_unavailable
from app.frequency import refreshing, repository
from app.load import RequestLoad
from app.refresh import repository as marks

log = logging.getLogger("touchbase.refresher")

IDLE_SECONDS = 0.25
# After a round that found less than a full batch, marks come in a trickle: letting them
# gather costs a read that comes meanwhile a live judgement, and saves each round's fixed
# cost (a claim, the reads, an upsert, a settle) being paid for a customer or two.
GATHER_SECONDS = 0.1
UNAVAILABLE_SECONDS = 2.0
# Outcome deltas a round folds per customer it refreshes: a statement over a few customers
# appends a handful (one per changed key), so a round folds what the rounds before appended.
FOLDS_PER_CUSTOMER = 20
STOP_GRACE_SECONDS = 10.0


def _by_tenant(items: Iterable[tuple[uuid.UUID, str, int]]) -> dict[uuid.UUID, dict[str, int]]:
    grouped: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for tenant_id, customer_id, seq in items:
        grouped[tenant_id][customer_id] = seq
    return grouped


async def drain_marks(db: Database, clock: Clock, limit: int) -> int:
    """Refresh up to ``limit`` marked customers, oldest marks first; how many were taken."""
    now = clock.now()
    async with db.sessions() as session:
        claimed = await marks.claim(session, now, now + refreshing.CLAIM, limit)
        await session.commit()
    grouped: dict[uuid.UUID, list[marks.Claimed]] = defaultdict(list)
    for mark in claimed:
        grouped[mark.tenant_id].append(mark)
    for tenant_id, marked in grouped.items():
        await refreshing.refresh(db, tenant_id, marked, clock.now())
    metrics.REFRESHED.labels("marked").inc(len(claimed))
    return len(claimed)


async def renew_expired(db: Database, clock: Clock, limit: int) -> int:
    """Judge again up to ``limit`` customers whose stored document time has made untrue."""
    now = clock.now()
    async with db.driver() as driver, driver.transaction():
        expired = await repository.expired_documents(driver.fetch, now, limit)
        for tenant_id, seqs in _by_tenant(expired).items():
            verdicts = await refreshing.judge(db, tenant_id, seqs, now)
            await refreshing.store(driver.fetch, tenant_id, verdicts)
    metrics.REFRESHED.labels("expired").inc(len(expired))
    return len(expired)


async def run_round(db: Database, clock: Clock, limit: int) -> int:
    """A round, while no list of this process refreshes verdicts itself: marked customers,
    expired documents and the contact facts lists left pending (how many customers it took),
    then the outcome deltas (a few a customer: they never call for another round)."""
    async with db.refreshing:
        done = (
            await drain_marks(db, clock, limit)
            + await renew_expired(db, clock, limit)
            + await refreshing.count_pending_facts(db, limit)
        )
        await refreshing.fold_outcome_rollups(db, limit * FOLDS_PER_CUSTOMER)
        return done


@dataclass(frozen=True, slots=True)
class Yielding:
    """The refresher's manners: while the process serves requests, its rounds take at most
    ``share`` of the time (it rests after each in proportion), so that a burst of writes is
    answered first and its refresh follows; alone, it runs flat out. Nothing is stale
    meanwhile: a read of a customer still marked judges live, a list refreshes its own."""

    load: RequestLoad
    share: float

    def rest_after(self, spent: float, started: int) -> float:
        """Seconds to rest after a round that took ``spent`` seconds, begun when the load
        had started ``started`` requests."""
        if self.share >= 1.0 or not self.load.busy_since(started):
            return 0.0
        return spent * (1.0 - self.share) / self.share


class Refresher:
    """Runs rounds while there is work (yielding to requests), and polls when there is none."""

    def __init__(self, db: Database, clock: Clock, limit: int, yielding: Yielding) -> None:
        self.db, self.clock, self.limit = db, clock, limit
        self.yielding = yielding
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._round = asyncio.Lock()  # held while a round runs

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="touchbase-refresher")

    async def stop(self) -> None:
        """Let the round under way finish (a round is one transaction per tenant, so a
        cancelled one leaves its marks for the next process, never half a verdict)."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(self._task, STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("the refresher did not finish its round in time; its marks stay")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            pause = await self._one_round()
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    async def round_ended(self) -> None:
        """Wait for the round under way, if any, to end (its marks settled or left)."""
        async with self._round:
            pass

    async def _one_round(self) -> float:
        """A round; how long to rest before the next (none while there is more to do)."""
        started, began = self.yielding.load.started, time.monotonic()
        try:
            async with self._round:
                done = await run_round(self.db, self.clock, self.limit)
        except Exception as exc:
            if not is_database_unavailable(exc):
                log.exception("a refresh round failed")
            return UNAVAILABLE_SECONDS
        rest = self.yielding.rest_after(time.monotonic() - began, started) if done else 0.0
        if done >= self.limit:
            return rest
        return max(rest, GATHER_SECONDS if done else IDLE_SECONDS)
