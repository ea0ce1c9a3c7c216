"""A task every serving process runs in the background at an interval: at start, then
after each pause, until the process stops (a failure is logged, and the next run tries
again)."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], every_seconds: float
    ) -> None:
        self.name, self.work, self.every_seconds = name, work, every_seconds
        self.log = logging.getLogger(f"touchbase.{name}")
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"touchbase-{self.name}")

    async def stop(self) -> None:
        """Let the run under way finish, then stop."""
        if self._task is not None:
            self._stopping.set()
            await self._task

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.work()
            except Exception:
                self.log.exception("a background run of %s failed", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every_seconds)
