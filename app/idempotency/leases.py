"""Leases of this process's running claims, renewed while they run: "still running" dies with
the process, since a claim nobody renews lapses within one lease and a retry then runs it."""

import asyncio
import contextvars
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.errors import is_database_unavailable
from app.idempotency import repository
from app.idempotency.repository import Claim

# Short, so a retry a few seconds after a crash runs; renewed several times within it, so
# one slow or missed renewal does not let a live run lapse.
LEASE = timedelta(seconds=10)
RENEW_EVERY_SECONDS = 3.0

log = logging.getLogger("touchbase.idempotency")


class Leases:
    """One heartbeat task per process renews every claim it holds; it runs only while some
    claim is held, so an idle process sends nothing."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._held: set[Claim] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    def lease_until(self) -> datetime:
        return self._clock.now() + LEASE

    def hold(self, claim: Claim) -> None:
        self._held.add(claim)
        if self._heartbeat is None:
            # its own context: not the log context of the request that happened to start it
            self._heartbeat = asyncio.create_task(self._beat(), context=contextvars.Context())

    def drop(self, claim: Claim) -> None:
        self._held.discard(claim)

    async def renew(self) -> None:
        """One heartbeat: every held claim's lease runs one ``LEASE`` from now."""
        if self._held:
            async with self._sessionmaker() as session:
                await repository.renew(session, list(self._held), self.lease_until())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)

    async def _beat(self) -> None:
        try:
            while self._held:
                await asyncio.sleep(RENEW_EVERY_SECONDS)
                await self._renew_logged()
        finally:
            self._heartbeat = None  # no await since the last check: a new hold starts anew

    async def _renew_logged(self) -> None:
        try:
            await self.renew()
        except Exception as exc:
            # The next beat tries again; a lease that lapses meanwhile is renewed if no retry
            # took it over.
            if is_database_unavailable(exc):
                log.warning("could not renew idempotency leases: %s", exc)
            else:
                log.exception("could not renew idempotency leases")
