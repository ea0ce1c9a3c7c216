"""Delivering outbound events: in every serving process, a worker claims due deliveries
(``FOR UPDATE SKIP LOCKED``, each leased and counted before it is sent, so two processes
never send one attempt), posts each in a task of its own (a slow endpoint holds only its
own few slots), signs it the Standard Webhooks way, and records the answer: succeeded, a
retry on the contract's schedule, failed, or (410) the endpoint disabled."""

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from standardwebhooks import Webhook

from app import metrics
from app.clock import Clock, SystemClock
from app.db import Database
from app.errors import is_database_unavailable
from app.events import repository, retries, urls
from app.schemas import format_utc

log = logging.getLogger("touchbase.events")

ATTEMPT_SECONDS = 15.0  # an answer must come within this, or the attempt failed
LEASE = timedelta(seconds=90)  # a claimed delivery is another process's after this
PER_ENDPOINT = 8  # attempts in flight to one endpoint at a time, per process
MAX_IN_FLIGHT = 64  # attempts in flight per process
CLAIM_BATCH = PER_ENDPOINT  # claimed at once: at most two waves queue for one endpoint
POLL_SECONDS = 1.0  # retries come due with time; new deliveries wake the worker at once
CHANNEL = "touchbase_event_deliveries"  # NOTIFYed by a trigger when deliveries are added
UNAVAILABLE_SECONDS = 2.0
STOP_GRACE_SECONDS = 5.0
BODY_READ_LIMIT = 4096  # of a receiver's answer, read and dropped; the rest is not read
USER_AGENT = "Touchbase-Webhooks/1.0"

Ticker = Callable[[Database, Clock], Awaitable[int]]
"""Something run every ``TICK_SECONDS`` beside deliveries: the walks that notice
time-driven events, the pruning of ended ones."""
TICK_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery: the attempt's number, the event, and where it goes."""

    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str
    number: int
    type: str
    occurred_at: datetime
    data: str
    url: str
    secret: str

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "Attempt":
        return cls(
            row["tenant_id"], row["endpoint_id"], row["event_id"], row["attempts"], row["type"],
            row["occurred_at"], row["data"], row["url"], row["secret"],
        )  # fmt: skip

    def body(self) -> bytes:
        """``{"id", "type", "occurred_at", "data"}``, the stored data as it is."""
        head = f'{{"id":"{self.event_id}","type":"{self.type}","occurred_at":'
        return (f'{head}"{format_utc(self.occurred_at)}","data":{self.data}}}').encode()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # the receiver's HTTP status; None when none came
    error: str | None  # why the attempt failed; None when it succeeded
    retry_after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an answer makes of a delivery."""

    status: str  # pending (a retry), succeeded or failed
    next_attempt_at: datetime | None
    disable_endpoint: bool = False


def outcome_of(attempt_number: int, answer: Answer, now: datetime, spread: float) -> Outcome:
    """Pure: a 2xx succeeds; a 410 fails and disables the endpoint; anything else is
    retried on the schedule (``Retry-After`` honoured) until it runs out."""
    if answer.error is None:
        return Outcome("succeeded", None)
    if answer.status == 410:
        return Outcome("failed", None, disable_endpoint=True)
    delay = retries.next_attempt_delay(attempt_number, spread, answer.retry_after)
    return Outcome("failed", None) if delay is None else Outcome("pending", now + delay)


def signed_headers(attempt: Attempt, body: bytes, sent_at: datetime) -> dict[str, str]:
    signature = Webhook(attempt.secret).sign(attempt.event_id, sent_at, body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": attempt.event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


async def post(
    client: httpx.AsyncClient, attempt: Attempt, sent_at: datetime, allow_private: bool
) -> Answer:
    """One attempt: the host checked again (its address may have changed since the URL was
    accepted), the body posted, at most ``BODY_READ_LIMIT`` of the answer read."""
    if (refusal := await urls.refused_host(attempt.url, allow_private)) is not None:
        return Answer(None, f"not sent: the url {refusal}")
    body = attempt.body()
    headers = signed_headers(attempt, body, sent_at)
    try:
        async with asyncio.timeout(ATTEMPT_SECONDS):
            async with client.stream("POST", attempt.url, content=body, headers=headers) as r:
                read = 0
                async for chunk in r.aiter_raw():
                    read += len(chunk)
                    if read >= BODY_READ_LIMIT:
                        break
    except TimeoutError:
        return Answer(None, f"no answer within {ATTEMPT_SECONDS:.0f} s")
    except Exception as exc:  # whatever the receiver or its URL does, the attempt failed
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= r.status_code < 300:
        return Answer(r.status_code, None)
    after = retries.parse_retry_after(r.headers.get("retry-after"), sent_at)
    return Answer(
        r.status_code,
        f"answered {r.status_code}" + (" (a redirect is not followed)" if r.is_redirect else ""),
        after if r.status_code in (429, 503) else None,
    )


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(ATTEMPT_SECONDS),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment between us and receivers
        limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=32),
    )


class Deliverer:
    """Claims due deliveries and sends each in its own task; runs the tickers between."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        allow_private: bool,
        tickers: Sequence[Ticker] = (),
        wall: Clock | None = None,
    ) -> None:
        self.db, self.clock, self.allow_private = db, clock, allow_private
        self.tickers = tickers
        # Signatures carry the wall clock's time: receivers check it against theirs.
        self.wall = wall or SystemClock()
        self._client: httpx.AsyncClient | None = None
        self._in_flight: dict[asyncio.Task[None], uuid.UUID] = {}
        self._wake = asyncio.Event()  # a slot freed, or deliveries added
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_client()
        return self._client

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="touchbase-events")
        self._listener = asyncio.create_task(self._listen(), name="touchbase-events-listen")

    async def stop(self) -> None:
        """Stop claiming; let attempts under way finish for a moment (one cut short keeps
        its lease and is tried again when the lease ends)."""
        self._stopping.set()
        for task in (self._task, self._listener):
            if task is not None:
                await task
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def run_once(self) -> int:
        """Send everything due now and wait for the answers; how many attempts were made
        (what tests and tools call instead of the background loop)."""
        made = 0
        while claimed := await self._claim_and_send():
            made += claimed
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        return made

    async def tick(self) -> int:
        """Run the tickers once; how many events they noticed or pruned."""
        return sum([await ticker(self.db, self.clock) for ticker in self.tickers])

    async def _run(self) -> None:
        next_tick = 0.0
        while not self._stopping.is_set():
            pause = POLL_SECONDS
            self._wake.clear()  # before claiming: a slot freed meanwhile still wakes the wait
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    await self.tick()
                if await self._claim_and_send() and len(self._in_flight) < MAX_IN_FLIGHT:
                    pause = 0.0
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.exception("an event delivery round failed")
                pause = UNAVAILABLE_SECONDS
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_for_work(), pause)

    async def _wait_for_work(self) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stopping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            woken.cancel()

    async def _listen(self) -> None:
        """Hold a connection that LISTENs for added deliveries (again after it is lost)."""
        while not self._stopping.is_set():
            try:
                async with self.db.driver() as connection:
                    await connection.add_listener(CHANNEL, self._notified)
                    while not (self._stopping.is_set() or connection.is_closed()):
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)
                    if not connection.is_closed():
                        await connection.remove_listener(CHANNEL, self._notified)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.exception("listening for event deliveries failed")
            if not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), UNAVAILABLE_SECONDS)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    def _busy_endpoints(self) -> list[uuid.UUID]:
        counts = Counter(self._in_flight.values())
        return [endpoint for endpoint, n in counts.items() if n >= PER_ENDPOINT]

    async def _claim_and_send(self) -> int:
        """Claim what is due, within this process's free slots, and send each."""
        room = min(CLAIM_BATCH, MAX_IN_FLIGHT - len(self._in_flight))
        if room <= 0:
            return 0
        now = self.clock.now()
        async with self.db.driver() as driver:
            rows = await repository.claim_due(
                driver, now, now + LEASE, self._busy_endpoints(), room
            )
        for row in rows:
            attempt = Attempt.of(row)
            task = asyncio.create_task(self._deliver(attempt))
            self._in_flight[task] = attempt.endpoint_id
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("recording an event delivery failed", exc_info=exc)

    async def _deliver(self, attempt: Attempt) -> None:
        answer = await post(self.client, attempt, self.wall.now(), self.allow_private)
        now = self.clock.now()
        outcome = outcome_of(attempt.number, answer, now, random.random())
        key = (attempt.tenant_id, attempt.endpoint_id, attempt.event_id, attempt.number)
        result = (outcome.status, answer.status, answer.error, outcome.next_attempt_at, now)
        async with self.db.driver() as driver:
            await repository.record_attempt(driver, key, result)
            if outcome.disable_endpoint:
                why = "endpoint disabled: the receiver answered 410 Gone"
                await repository.disable_gone(
                    driver, attempt.tenant_id, attempt.endpoint_id, why, now
                )
        metrics.record_delivery(outcome.status, answer.status)
