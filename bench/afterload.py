"""Loads of 1,000-touch batches from concurrent clients, a fixed amount of work each (not a
fixed time, so every request is answered and counted): first_page_after_load's bulk load, and
batch_ingest_at_fixed. Then the first work-queue page after the load, and how long the
background refresher takes to drain the refresh marks a load left.

The clients are threads here, so that the page is asked for the moment the last batch is
answered. For the bulk load, half the touches go to the customers of ``rep-mid`` (the queue
read afterwards), half to the other ordinary customers, and a 503 or 429 is retried after a
second, as a client would, and counted; batch_ingest_at_fixed retries nothing and counts every
answer that is not a 2xx.
"""

import asyncio
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from bench.dataset import CHANNELS, Layout, customer_id
from bench.procs import CpuMeter, CpuUse, Server, http, peak_mib, reset_peak

PER_REQUEST = 1000
RETRY_STATUSES = (429, 503)
RETRY_SECONDS = 1.0
MAX_ATTEMPTS = 30
POLL_SECONDS = 0.25


@dataclass(slots=True)
class LoadResult:
    rows: int
    requests: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)  # of answered attempts
    retried: Counter[int] = field(default_factory=Counter)  # statuses retried, by code
    failed: Counter[int] = field(default_factory=Counter)  # batches given up, by last status
    created: int = 0  # as the answers count them
    rejected: int = 0
    cpu: CpuUse | None = None
    peak_mib: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    @property
    def problem(self) -> str:
        """What went wrong, if anything: batches given up, touches rejected or not created."""
        parts = []
        if self.failed:
            codes = ", ".join(f"{code or 'socket error'}: {n}" for code, n in self.failed.items())
            parts.append(f"{sum(self.failed.values())} batches failed ({codes})")
        if self.rejected:
            parts.append(f"{self.rejected} touches rejected")
        if not parts and self.created != self.rows:
            parts.append(f"created {self.created} of {self.rows} touches")
        return "; ".join(parts)

    def percentile(self, pct: float) -> float | None:
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(pct) - 1]


def bodies(
    layout: Layout, rows: int, tag: str, *, mid_share: float = 0.5, days: int = 7
) -> list[bytes]:
    """Request bodies, made before the load starts: touches of the last ``days`` days, a
    ``mid_share`` of them for the owner-of-5,000's customers, the rest for any ordinary
    customer, unique external ids."""
    rng = random.Random(13)
    now = datetime.now(UTC)
    mid, ordinary = layout.mid_rep_range, layout.ordinary_range
    out = []
    for start in range(0, rows, PER_REQUEST):
        touches = []
        for n in range(start, min(rows, start + PER_REQUEST)):
            among = mid if rng.random() < mid_share else ordinary
            age = timedelta(seconds=rng.randint(60, days * 86400))
            touches.append(
                {
                    "customer_id": customer_id(rng.randrange(among.start, among.stop)),
                    "channel": rng.choice(CHANNELS),
                    "occurred_at": (now - age).isoformat(),
                    "direction": "inbound" if rng.random() < 0.2 else "outbound",
                    "category": "sales",
                    "actor": {"rep_id": f"rep-{rng.randint(0, 99):03d}", "team": "north-sales"},
                    "depth": rng.choice(["light", "value", "deep"]),
                    "source": "bulk-load",
                    "external_id": f"load-{tag}-{n}",
                }
            )
        out.append(orjson.dumps({"touches": touches}))
    return out


def bulk_load(
    base: str,
    headers: dict[str, str],
    server: Server,
    payloads: list[bytes],
    clients: int,
    *,
    retry: bool = True,
) -> LoadResult:
    """Post every payload, ``clients`` at a time; returns when the last one is answered. With
    ``retry``, a 503, 429 or socket error is tried again after a second."""
    url = base + "/v1/touches/batch"
    result = LoadResult(rows=len(payloads) * PER_REQUEST, requests=len(payloads), seconds=0.0)
    lock = threading.Lock()
    pending = iter(payloads)

    def worker() -> None:
        while True:
            with lock:
                body = next(pending, None)
            if body is None:
                return
            for attempt in range(1, MAX_ATTEMPTS + 1):
                started = time.perf_counter()
                try:
                    status, answer = http("POST", url, body, headers)
                except OSError:
                    status, answer = 0, b""  # a socket error or a timeout: retried like a 503
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.latencies_ms.append(elapsed)
                    if 200 <= status < 300:
                        counts = orjson.loads(answer)
                        result.created += int(counts.get("created", 0))
                        result.rejected += int(counts.get("rejected", 0))
                        break
                    retryable = status in RETRY_STATUSES or status == 0
                    if retry and retryable and attempt < MAX_ATTEMPTS:
                        result.retried[status] += 1
                    else:
                        result.failed[status] += 1
                        break
                time.sleep(RETRY_SECONDS)

    reset_peak(server.pids())
    meter = CpuMeter(server.pids())
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        while wait(futures, timeout=0.5).not_done:  # returns the moment the last one is done
            meter.sample()
        for future in futures:
            future.result()
    result.seconds = time.perf_counter() - started
    result.cpu = meter.stop()
    result.peak_mib = peak_mib(server.pids())
    return result


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    ms: float
    items: int
    body: bytes


def first_page(base: str, headers: dict[str, str], path: str) -> Page:
    started = time.perf_counter()
    status, body = http("GET", base + path, None, headers)
    ms = (time.perf_counter() - started) * 1000
    items = len(orjson.loads(body).get("items", [])) if status == 200 else 0
    return Page(status, ms, items, body[:300])


OWNER_MARKS = """
SELECT count(*) FILTER (WHERE c.owner_rep = $1), count(*)
FROM refresh_marks m LEFT JOIN customers c USING (tenant_id, customer_id)
"""


async def _count_marks(dsn: str, owner_rep: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(OWNER_MARKS, owner_rep)
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


def first_page_and_marks(
    dsn: str, base: str, headers: dict[str, str], path: str, owner_rep: str
) -> tuple[Page, tuple[int, int]]:
    """The first page, and meanwhile (from another thread, so the page waits for nothing) the
    refresh marks waiting as it was asked for: (of the owner's customers, in all)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        counted = pool.submit(lambda: asyncio.run(_count_marks(dsn, owner_rep)))
        page = first_page(base, headers, path)
        return page, counted.result()


@dataclass(frozen=True, slots=True)
class Drain:
    marks_at_start: int
    seconds: float
    left: int  # 0: drained

    @property
    def drained(self) -> bool:
        return self.left == 0


async def _drain(dsn: str, bound: float) -> Drain:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        count = first = int(await conn.fetchval("SELECT count(*) FROM refresh_marks"))
        while count and time.perf_counter() - started < bound:
            await asyncio.sleep(POLL_SECONDS)
            count = int(await conn.fetchval("SELECT count(*) FROM refresh_marks"))
        return Drain(first, time.perf_counter() - started, count)
    finally:
        await conn.close()


def wait_drained(dsn: str, timeout: float) -> Drain:
    """Poll ``refresh_marks`` until it is empty, at most ``timeout`` seconds."""
    return asyncio.run(_drain(dsn, timeout))


def tag() -> str:
    return secrets.token_hex(4)


# Backends of the bench database at work (a statement running, or a transaction open between
# statements) other than the one asking: what requests a client gave up on leave behind.
BUSY = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
    AND pid <> pg_backend_pid() AND state <> 'idle'
"""
QUIET_POLLS = 4  # in a row without a busy backend: quiet


@dataclass(frozen=True, slots=True)
class Quiet:
    busy_at_start: int
    seconds: float
    busy: int  # backends still at work when the wait ended (0: quiet)

    @property
    def quiet(self) -> bool:
        return self.busy == 0


async def _quiet(dsn: str, bound: float) -> Quiet:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        busy = first = int(await conn.fetchval(BUSY))
        calm = 0 if busy else 1
        while calm < QUIET_POLLS and time.perf_counter() - started < bound:
            await asyncio.sleep(POLL_SECONDS)
            busy = int(await conn.fetchval(BUSY))
            calm = 0 if busy else calm + 1
        return Quiet(first, time.perf_counter() - started, busy)
    finally:
        await conn.close()


def wait_quiet(dsn: str, timeout: float) -> Quiet:
    """Poll until no backend of the database has been at work for a second (requests a
    client abandoned go on in the server: a slow report outlasts wrk's run), at most
    ``timeout`` seconds."""
    return asyncio.run(_quiet(dsn, timeout))
