"""Recomputing stale RFM snapshots in the background of every serving process: a look a
minute at which tenants are due (an advisory lock keeps two processes from scoring one
tenant at once; the second then finds it fresh)."""

import asyncio
import contextlib
import logging

from app.clock import Clock
from app.db import Database
from app.rfm.service import recompute_due

log = logging.getLogger("touchbase.rfm")

POLL_SECONDS = 60.0


class RfmScheduler:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="touchbase-rfm")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await recompute_due(self.db, self.clock):
                    if self._stopping.is_set():
                        return
            except Exception:
                log.exception("recomputing RFM snapshots failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)
