"""The scenarios: steady load, PostgreSQL stopped and started, SIGTERM to the service."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from app import migrations
from tests import database
from tests.reliability.load import Key, Load, Report
from tests.reliability.postgres import PrivatePostgres
from tests.reliability.profiles import Profile
from tests.reliability.service import Service
from tests.reliability.stored import Stored

READY_SECONDS = 60.0
PROBE_CUSTOMER = "cust-probe"
SUMMARIES: list[str] = []  # printed at the end of the run (see conftest.pytest_terminal_summary)


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new database on the tests' server, built by the migrations, dropped afterwards."""
    server = database.server_url()
    name = database.fresh_name()
    await database.create_database(server, name)
    url = database.with_database(server, name)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        yield url
    finally:
        await database.drop_database(server, name)


@dataclass(slots=True)
class Probe:
    """One request made to watch the service while the scenario disturbs it."""

    phase: str
    method: str
    path: str
    status: int | None
    retry_after: str | None = None
    content_type: str | None = None
    body: str = ""
    error: str | None = None

    def describe(self) -> str:
        outcome = self.status if self.status is not None else f"error {self.error}"
        return (
            f"{self.phase}: {self.method} {self.path} -> {outcome} "
            f"Retry-After={self.retry_after} {self.content_type} {self.body[:200]}"
        )


@dataclass(slots=True)
class Outcome:
    """Everything a scenario's tests look at."""

    profile: Profile
    report: Report
    stored: Stored
    logs: dict[int, list[dict[str, Any]]]  # log entries of each service process, 1, 2, ...
    probes: list[Probe] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    probe_keys: set[Key] = field(default_factory=set)
    in_flight_at_sigterm: list[str] = field(default_factory=list)
    service_running_at_end: bool = True

    def log_lines_for(self, request_ids: set[str]) -> list[str]:
        return [
            f"[serve {generation}] {_short(entry)}"
            for generation, entries in self.logs.items()
            for entry in entries
            if entry.get("request_id") in request_ids
        ]

    def problems_logged(self) -> list[str]:
        """Error-level lines and tracebacks in the service's logs."""
        return [
            f"[serve {generation}] {_short(entry)}"
            for generation, entries in self.logs.items()
            for entry in entries
            if entry.get("level") in ("error", "critical") or "exc" in entry
        ]


def _short(entry: dict[str, Any]) -> str:
    """A log entry without its traceback's middle: the first and the last lines of it."""
    shown = {k: v for k, v in entry.items() if k != "exc"}
    if exc := entry.get("exc"):
        lines = str(exc).splitlines()
        shown["exc"] = " | ".join([*lines[:1], "...", *lines[-3:]]) if len(lines) > 4 else exc
    return str(shown)


def summarize(title: str, outcome: Outcome) -> None:
    stored = outcome.stored
    SUMMARIES.append(
        f"{title} [{outcome.profile.name}]: {outcome.report.summary()}; "
        f"{stored.rows} rows stored, {len(stored.count_mismatches)} day-count rows off"
    )


class Prober:
    """Requests that watch the service: health, readiness, and a few /v1 calls."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.keys: set[Key] = set()
        self.probes: list[Probe] = []

    async def request(self, phase: str, method: str, path: str, **kwargs: Any) -> Probe:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            probe = Probe(phase, method, path, None, error=f"{type(exc).__name__}: {exc}")
        else:
            probe = Probe(
                phase,
                method,
                path,
                response.status_code,
                response.headers.get("retry-after"),
                response.headers.get("content-type"),
                response.text,
            )
        self.probes.append(probe)
        return probe

    async def prepare(self) -> None:
        """The probes' own customer, so that reading its status is a 200 when all is well."""
        probe = await self.request("setup", "PUT", f"/v1/customers/{PROBE_CUSTOMER}", json={})
        assert probe.status in (200, 201), probe.describe()

    async def round(self, phase: str) -> None:
        external_id = f"probe-{uuid.uuid4().hex[:12]}"
        self.keys.add(("probe", external_id))
        touch = {
            "customer_id": PROBE_CUSTOMER,
            "channel": "email",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source": "probe",
            "external_id": external_id,
        }
        await self.request(phase, "GET", "/healthz")
        await self.request(phase, "GET", "/readyz")
        await self.request(phase, "GET", "/v1/customers")
        await self.request(phase, "GET", f"/v1/customers/{PROBE_CUSTOMER}/status")
        await self.request(phase, "GET", "/v1/policy")
        await self.request(phase, "POST", "/v1/touches", json=touch)

    async def wait_ready(self, within: float = READY_SECONDS) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (await self.request("recovering", "GET", "/readyz")).status == 200:
                return True
            await asyncio.sleep(0.2)
        return False


async def steady_load(load: Load) -> None:
    await asyncio.sleep(load.profile.seconds)


async def database_outages(
    load: Load, postgres: PrivatePostgres, prober: Prober, mode: str = "fast"
) -> None:
    """Stop PostgreSQL ``profile.outages`` times during the load, probing while it is down."""
    profile = load.profile
    ends = time.monotonic() + profile.seconds
    for _ in range(profile.outages):
        await load.wait_for_more_acks(20, READY_SECONDS)
        await asyncio.to_thread(postgres.stop, mode)
        back = load.mark("db-stopped") + profile.outage_seconds
        while time.monotonic() < back:
            await prober.round("down")
            await asyncio.sleep(0.2)
        await asyncio.to_thread(postgres.start)
        load.mark("db-started")
        if await prober.wait_ready():
            load.mark("ready-again")
            await prober.round("up")
        await asyncio.sleep(max(0.5, (ends - time.monotonic()) / max(1, profile.outages)))
    await asyncio.sleep(max(0.0, ends - time.monotonic()))


def in_flight_now(load: Load) -> list[str]:
    """Attempts whose request is on the wire or in the service and not yet answered."""
    return [a.request_id for a in load.in_flight.values() if a.body_sent_at is not None]


async def sigterm_during_load(load: Load, service: Service, outcome_extra: dict[str, Any]) -> None:
    """SIGTERM while requests are in flight; wait for the exit; start a new process."""
    ends = time.monotonic() + load.profile.seconds
    await load.wait_until(lambda: load.acked >= 50, READY_SECONDS)
    await load.wait_until(lambda: len(in_flight_now(load)) >= 2, READY_SECONDS)
    load.mark("sigterm")
    outcome_extra["in_flight_at_sigterm"] = in_flight_now(load)
    outcome_extra["pids"] = [service.pid]
    service.terminate()
    outcome_extra["exit_codes"] = [await asyncio.to_thread(service.wait)]
    load.mark("exited")
    await asyncio.to_thread(service.start)
    outcome_extra["pids"].append(service.pid)
    load.mark("restarted")
    await asyncio.sleep(max(1.0, ends - time.monotonic()))
