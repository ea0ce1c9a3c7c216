"""SIGTERM while the refresher drains its marks: the marks it has not accounted for stay for
the next process, and no customer is left with half a verdict (the soak run also kills one
process outright: its claimed marks wait out their claim, then the next process takes them).

A first ``touchbase serve`` (its refresher off) takes thousands of customers' touches, so
they are all marked. Then, ``cycles`` times, a process with its refresher on starts draining
them while a client keeps writing touches (re-marking customers the refresher may hold), and
gets SIGTERM in the middle of a round. After each exit the database is checked: every
customer has a mark still, or a schedule and a status document that equal the engine's
verdict (judged in-process, against that database) at the instant they were stored and, if
a read may still serve it, now. A last process drains what is left to zero, and every
stored verdict must then equal the live one."""

import asyncio
import random
import signal
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from tests.database import asyncpg_dsn
from tests.reliability.scenarios import SUMMARIES, fresh_database
from tests.reliability.service import Service, create_key
from tests.verdicts import Live, Stored, live_many, live_one, stored_problems, stored_verdicts

TENANT = "drain"
CHANNELS = ("email", "phone", "visit", "sms", "meeting")
BATCH = 1000
# The refresher's round: small enough that a SIGTERM finds one under way and marks left.
REFRESH_BATCH = "250"
DRAIN_SECONDS = 120.0
UNFINISHED = "the refresher did not finish its round in time; its marks stay"
MARKS = (
    "SELECT count(*) AS marks, count(*) FILTER (WHERE claimed_until IS NOT NULL) AS claimed"
    " FROM refresh_marks"
)
SHOWN = 15


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    customers: int
    touches_per_customer: int
    cycles: int  # processes stopped by SIGTERM in the middle of a round
    writes_first: int  # batches the writer has acknowledged before each stop
    kills: int = 0  # then processes killed (SIGKILL) in the middle of a round

    @property
    def signals(self) -> list[signal.Signals]:
        return [signal.SIGTERM] * self.cycles + [signal.SIGKILL] * self.kills


SHORT = Plan("short", customers=3000, touches_per_customer=2, cycles=1, writes_first=3)
# The kill leaves its round's marks claimed: the last process takes them a minute later.
SOAK = Plan("soak", customers=20000, touches_per_customer=3, cycles=4, writes_first=40, kills=1)


@dataclass(slots=True)
class Checked:
    """The database after a process has exited."""

    customers: int
    marked: int
    claimed: int
    refreshed: int  # unmarked, with a stored verdict
    problems: list[str]

    def describe(self) -> str:
        return (
            f"{self.customers} customers: {self.marked} marked ({self.claimed} claimed), "
            f"{self.refreshed} refreshed; {len(self.problems)} problems"
        )


@dataclass(slots=True)
class Stop:
    """One process stopped by a signal in the middle of a round."""

    signal: signal.Signals
    marks_at_sigterm: int
    claimed_at_sigterm: int
    writes_acknowledged: int
    exit_code: int
    logs: list[dict[str, Any]]
    after: Checked


@dataclass(slots=True)
class Outcome:
    plan: Plan
    loaded: Checked
    stops: list[Stop] = field(default_factory=list)
    drain_seconds: float | None = None
    final: Checked | None = None
    final_logs: list[dict[str, Any]] = field(default_factory=list)


def touch(customer: int, at: datetime, external_id: str) -> dict[str, Any]:
    return {
        "customer_id": f"cust-{customer:05d}",
        "channel": random.choice(CHANNELS),
        "occurred_at": at.isoformat(),
        "direction": random.choice(("outbound", "outbound", "inbound")),
        "automated": random.random() < 0.3,
        "source": "drain",
        "external_id": external_id,
    }


async def load(client: httpx.AsyncClient, plan: Plan) -> None:
    """Every customer's touches, over the last 60 days, in batches."""
    now = datetime.now(UTC)
    touches = [
        touch(c, now - timedelta(minutes=random.randint(1, 60 * 24 * 60)), f"load-{c}-{n}")
        for c in range(plan.customers)
        for n in range(plan.touches_per_customer)
    ]
    random.shuffle(touches)
    for start in range(0, len(touches), BATCH):
        batch = touches[start : start + BATCH]
        response = await client.post("/v1/touches/batch", json={"touches": batch}, timeout=120)
        assert response.status_code == 200, response.text
        assert response.json()["created"] == len(batch), response.text


@dataclass(slots=True)
class Writer:
    """A client writing touches of customers taken at random, in small batches, until told
    to stop (or the service no longer answers)."""

    client: httpx.AsyncClient
    plan: Plan
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    acknowledged: int = 0  # batches

    async def run(self) -> None:
        while not self.stop.is_set():
            now = datetime.now(UTC)
            batch = [
                touch(
                    random.randrange(self.plan.customers),
                    now - timedelta(minutes=random.randint(1, 3 * 24 * 60)),
                    f"write-{uuid.uuid4().hex}",
                )
                for _ in range(20)
            ]
            try:
                response = await self.client.post("/v1/touches/batch", json={"touches": batch})
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                self.acknowledged += 1
            await asyncio.sleep(0.01)


async def marks(conn: Any) -> tuple[int, int]:
    row = await conn.fetchrow(MARKS)
    return int(row["marks"]), int(row["claimed"])


async def stop_mid_round(
    service: Service, conn: Any, before: int, writer: Writer, sent: signal.Signals
) -> tuple[int, int]:
    """Send ``sent`` once the writer has had a few batches acknowledged, a round has settled
    (fewer marks than ``before``) and the next one is under way (some marks claimed); the
    marks and claims seen just before."""
    deadline = time.monotonic() + DRAIN_SECONDS
    left = before
    while time.monotonic() < deadline:
        left, claimed = await marks(conn)
        if claimed and left < before and writer.acknowledged >= writer.plan.writes_first:
            assert service.process is not None
            service.process.send_signal(sent)
            return left, claimed
        await asyncio.sleep(0.002)
    raise AssertionError(f"no refresh round was seen under way; {left} marks of {before} left")


async def drained(conn: Any, deadline: float) -> None:
    """Wait until no mark is left (or the deadline has passed)."""
    while time.monotonic() < deadline:
        left, _ = await marks(conn)
        if not left:
            return
        await asyncio.sleep(0.1)


async def check(url: str) -> Checked:
    """Every customer: marked, or its stored verdict equals the engine's (judged against
    this database) at the instant it was stored, and now if a read may serve it now."""
    engine = make_engine(Settings(database_url=url), url)
    try:
        async with make_sessionmaker(engine)() as session:
            tenant_id = await session.scalar(
                text("SELECT id FROM tenants WHERE name = :name"), {"name": TENANT}
            )
            stored = await stored_verdicts(session, tenant_id)
            now = datetime.now(UTC)
            problems = [
                f"{s.customer_id}: half a verdict (schedule seq {s.schedule_seq}, document"
                f" seq {s.document_seq})"
                for s in stored.values()
                if (s.schedule is None) != (s.document is None) or s.schedule_seq != s.document_seq
            ]
            unmarked = [s for s in stored.values() if s.mark_seq is None]
            problems += [
                f"{s.customer_id}: no mark and no verdict" for s in unmarked if not s.document
            ]
            refreshed = [s for s in unmarked if s.document is not None]
            by_instant: dict[datetime, list[Stored]] = defaultdict(list)
            for s in refreshed:
                assert s.computed_at is not None
                by_instant[s.computed_at].append(s)
            judged_then: dict[str, Live] = {}
            for at, group in sorted(by_instant.items()):
                judged_then |= await live_many(
                    session, tenant_id, [s.customer_id for s in group], at
                )
            servable = [s for s in refreshed if s.is_valid_at(now)]
            judged_now = await live_many(session, tenant_id, [s.customer_id for s in servable], now)
            # a few judged one by one, as a status read judges
            for s in servable[:25]:
                judged_now[s.customer_id] = await live_one(session, tenant_id, s.customer_id, now)
            problems += [
                problem
                for s in refreshed
                for problem in stored_problems(
                    s, judged_then[s.customer_id], judged_now.get(s.customer_id)
                )
            ]
    finally:
        await engine.dispose()
    return Checked(
        customers=len(stored),
        marked=sum(s.mark_seq is not None for s in stored.values()),
        claimed=sum(s.claimed_until is not None for s in stored.values()),
        refreshed=len(refreshed),
        problems=problems,
    )


async def run(plan: Plan, url: str, service: Service) -> Outcome:
    key = create_key(url, TENANT)
    headers = {"Authorization": f"Bearer {key}"}
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        service.settings = {"TOUCHBASE_REFRESHER": "false"}
        service.start()
        async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as client:
            await load(client, plan)
        service.stop()
        outcome = Outcome(plan, await check(url))
        service.settings = {"TOUCHBASE_REFRESH_BATCH": REFRESH_BATCH}
        for sent in plan.signals:
            before, _ = await marks(conn)
            service.start()
            async with httpx.AsyncClient(
                base_url=service.url, headers=headers, timeout=60
            ) as client:
                writer = Writer(client, plan)
                writing = asyncio.create_task(writer.run())
                left, claimed = await stop_mid_round(service, conn, before, writer, sent)
                writer.stop.set()
                await writing
            code = await asyncio.to_thread(service.wait)
            logs = service.log_entries()
            after = await check(url)
            outcome.stops.append(Stop(sent, left, claimed, writer.acknowledged, code, logs, after))
        service.start()
        started = time.monotonic()
        await drained(conn, started + DRAIN_SECONDS)
        outcome.drain_seconds = time.monotonic() - started
        service.stop()
        outcome.final_logs = service.log_entries()
        outcome.final = await check(url)
    finally:
        await conn.close()
    return outcome


@pytest.fixture(scope="class")
def plan(request: pytest.FixtureRequest) -> Plan:
    chosen: Plan = request.param
    return chosen


@pytest.fixture(scope="class")
async def outcome(plan: Plan) -> Outcome:
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory(prefix="touchbase-serve-") as log_dir:
            service = Service(url, Path(log_dir))
            try:
                result = await run(plan, url, service)
            finally:
                service.stop()
    stops = "; ".join(
        f"{s.signal.name} with {s.marks_at_sigterm} marks ({s.claimed_at_sigterm} claimed), "
        f"{s.writes_acknowledged} write batches -> {s.after.describe()}"
        for s in result.stops
    )
    final = result.final.describe() if result.final else "-"
    SUMMARIES.append(
        f"SIGTERM while draining [{plan.name}]: {result.loaded.describe()}; {stops}; "
        f"drained in {result.drain_seconds or 0:.1f} s -> {final}"
    )
    return result


def sigterms(outcome: Outcome) -> list[Stop]:
    return [stop for stop in outcome.stops if stop.signal is signal.SIGTERM]


def problems_logged(logs: list[dict[str, Any]]) -> list[str]:
    return [
        str({k: v for k, v in e.items() if k != "exc"}) + (f"\n{e['exc']}" if "exc" in e else "")
        for e in logs
        if e.get("level") in ("error", "critical") or "exc" in e
    ]


@pytest.mark.parametrize(
    "plan",
    [pytest.param(SHORT, id="short"), pytest.param(SOAK, id="soak", marks=pytest.mark.soak)],
    indirect=True,
    scope="class",
)
class TestSigtermWhileDraining:
    def test_the_load_marked_every_customer(self, outcome: Outcome, plan: Plan) -> None:
        loaded = outcome.loaded
        assert loaded.customers == plan.customers
        assert loaded.marked == plan.customers, loaded.describe()
        assert loaded.refreshed == 0, loaded.describe()

    def test_each_signal_came_mid_round_with_marks_left(self, outcome: Outcome) -> None:
        assert len(outcome.stops) == len(outcome.plan.signals)
        for stop in outcome.stops:
            assert stop.claimed_at_sigterm > 0
            assert stop.after.marked > 0, stop.after.describe()
            assert stop.after.refreshed > 0, stop.after.describe()

    def test_each_sigterm_stop_is_clean_and_finishes_its_round(self, outcome: Outcome) -> None:
        for stop in sigterms(outcome):
            # uvicorn re-raises the SIGTERM it caught once it has shut down: -15 is that exit
            assert stop.exit_code in (0, -15), problems_logged(stop.logs)[:5]
            said = [str(e.get("msg")) for e in stop.logs]
            assert "Application shutdown complete." in said
            assert UNFINISHED not in said
            assert not problems_logged(stop.logs), "\n".join(problems_logged(stop.logs)[:5])

    def test_no_mark_stays_claimed_after_a_clean_stop(self, outcome: Outcome) -> None:
        """A claimed mark would wait out its claim (a minute) before the next process may
        take it: a round that finished leaves none."""
        for stop in sigterms(outcome):
            assert stop.after.claimed == 0, stop.after.describe()

    def test_after_each_stop_every_customer_is_marked_or_judged_right(
        self, outcome: Outcome
    ) -> None:
        for number, stop in enumerate(outcome.stops, 1):
            problems = stop.after.problems
            assert not problems, (
                f"after {stop.signal.name} ({number}), {stop.after.describe()}:\n  "
                + ("\n  ".join(problems[:SHOWN]))
            )

    def test_the_next_process_drains_every_mark(self, outcome: Outcome) -> None:
        assert outcome.final is not None
        assert outcome.final.marked == 0, (
            f"{outcome.final.describe()} after {outcome.drain_seconds:.1f} s"
        )
        assert not problems_logged(outcome.final_logs), "\n".join(
            problems_logged(outcome.final_logs)[:5]
        )

    def test_then_every_stored_verdict_equals_the_live_one(self, outcome: Outcome) -> None:
        final = outcome.final
        assert final is not None
        assert final.refreshed == final.customers, final.describe()
        assert not final.problems, final.describe() + ":\n  " + "\n  ".join(final.problems[:SHOWN])
