"""The background refresher: in every serving process, it drains refresh marks and renews
the status documents time has made untrue, in rounds of hundreds of customers (set-based
reads, one upsert). Marks live in the database, so a crash or a SIGTERM loses nothing: the
next round, here or in another process, takes them up."""

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from app.clock import Clock
from app.errors import is_database_unavailable
from app.frequency import repository, service
from app.refresh import repository as marks

log = logging.getLogger("touchbase.refresher")

IDLE_SECONDS = 0.25
UNAVAILABLE_SECONDS = 2.0
STOP_GRACE_SECONDS = 10.0

Sessions = async_sessionmaker[AsyncSession]


def _by_tenant(items: Iterable[tuple[uuid.UUID, str, int]]) -> dict[uuid.UUID, dict[str, int]]:
    grouped: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for tenant_id, customer_id, seq in items:
        grouped[tenant_id][customer_id] = seq
    return grouped


async def drain_marks(sessions: Sessions, clock: Clock, limit: int) -> int:
    """Refresh up to ``limit`` marked customers, oldest marks first; how many were taken."""
    now = clock.now()
    async with sessions() as session:
        claimed = await marks.claim(session, now, now + service.CLAIM, limit)
        await session.commit()
    grouped = _by_tenant((c.tenant_id, c.customer_id, c.seq) for c in claimed)
    for tenant_id, seqs in grouped.items():
        async with sessions() as session:
            await service.refresh(session, tenant_id, seqs, clock.now())
            await session.commit()
    metrics.REFRESHED.labels("marked").inc(len(claimed))
    return len(claimed)


async def renew_expired(sessions: Sessions, clock: Clock, limit: int) -> int:
    """Judge again up to ``limit`` customers whose stored document time has made untrue."""
    now = clock.now()
    async with sessions() as session:
        expired = await repository.expired_documents(session, now, limit)
        for tenant_id, seqs in _by_tenant(expired).items():
            await service.store_verdicts(session, tenant_id, seqs, now)
        await session.commit()
    metrics.REFRESHED.labels("expired").inc(len(expired))
    return len(expired)


async def run_round(sessions: Sessions, clock: Clock, limit: int) -> int:
    return await drain_marks(sessions, clock, limit) + await renew_expired(sessions, clock, limit)


class Refresher:
    """Runs rounds while there is work, and polls when there is none."""

    def __init__(self, sessions: Sessions, clock: Clock, limit: int) -> None:
        self.sessions, self.clock, self.limit = sessions, clock, limit
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
        try:
            async with self._round:
                done = await run_round(self.sessions, self.clock, self.limit)
        except Exception as exc:
            if is_database_unavailable(exc):
                return UNAVAILABLE_SECONDS
            log.exception("a refresh round failed")
            return UNAVAILABLE_SECONDS
        return 0.0 if done else IDLE_SECONDS
