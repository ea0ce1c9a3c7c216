"""The measurements of one run: the ceilings, the service's HTTP scenarios, the load before
first_page_after_load, the importer."""

import asyncio
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import orjson

from bench import afterload, ceilings, service, wrk
from bench.dataset import (
    BIG_TEAM,
    MID_REP,
    SMALL_REP,
    Layout,
    busiest_quarter,
    customer_id,
    expected_touches,
    other_owner,
)
from bench.procs import CpuMeter, Server, free_port, http
from bench.report import Figure
from bench.scenarios import Probe, Runner, Scenario, print_figure

JSON = {"Content-Type": "application/json"}
PGBENCH_SECONDS, PGBENCH_SCALE = 5, 10


def measure_ceilings(url: str, load: wrk.Load, copy_rows: int, logs: Path) -> list[Figure]:
    asyncio.run(ceilings.prepare_bare_table(url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    figures = []
    with ceilings.bare_server(url, port, logs / "bare-app.log") as bare:
        bare.wait_ready(base + "/healthz")
        runner = Runner(base, bare, load, JSON, {})
        select_env = {
            "BENCH_PATH": "/row/{id}", "BENCH_ID_FORMAT": "%d", "BENCH_FIRST": "1",
            "BENCH_LAST": str(ceilings.BARE_ROWS),
        }  # fmt: skip
        row = b'{"customer_id": "c-000001", "channel": "phone", "occurred_at": "2026-01-01T00:00Z"}'
        figures += [
            runner.run(
                Scenario("bare_select", "bare FastAPI GET /row/{id}: one PK SELECT", "get_random",
                         Probe("GET", "/row/1"), env=select_env)
            ),
            runner.run(
                Scenario("bare_insert", "bare FastAPI POST /row: one INSERT", "bare_insert",
                         Probe("POST", "/row", row, (201,)))
            ),
        ]  # fmt: skip
    figures.append(_copy_figure(url, copy_rows, indexed=False))
    figures.append(_copy_figure(url, copy_rows, indexed=True))
    tps = ceilings.pgbench_tps(url, load.connections, load.threads, PGBENCH_SECONDS, PGBENCH_SCALE)
    print(f"pgbench_select: {tps:,.0f} tps", flush=True)
    what = f"pgbench -S, scale {PGBENCH_SCALE}, {load.connections} clients (tps)"
    figures.append(Figure("pgbench_select", what, rps=tps))
    return figures


def _copy_figure(url: str, rows: int, *, indexed: bool) -> Figure:
    """``copy``: into a plain table (columns of touches, its primary key, nothing else), the
    batch ceiling; ``copy_like_touches``: into one with every index of touches (information)."""
    rate, cpu = asyncio.run(ceilings.copy_rows_per_second(url, rows, indexed=indexed))
    per_thousand = 1e6 / rows
    name, table = (
        ("copy_like_touches", "a table LIKE touches, all its indexes")
        if indexed
        else ("copy", "a plain table, primary key only")
    )
    figure = Figure(
        name,
        f"asyncpg COPY of {rows:,} touch rows into {table} (CPU per 1,000 rows)",
        rows_per_s=rate,
        app_cpu_ms=cpu.app * per_thousand,
        pg_cpu_ms=cpu.pg * per_thousand,
        others_pct=cpu.others_share * 100,
        informational=indexed,
    )
    print(
        f"{name}: {rate:,.0f} rows/s, CPU per 1,000 rows: {figure.app_cpu_ms:.1f} ms client,"
        f" {figure.pg_cpu_ms:.1f} ms PostgreSQL",
        flush=True,
    )
    return figure


async def _count_like(url: str, pattern: str, source: str = "wrk") -> int:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM touches WHERE source = $1 AND external_id LIKE $2",
            source,
            pattern,
        )
        return int(found)
    finally:
        await conn.close()


def stored_check(url: str, prefix: str, per_request: int) -> Callable[[str, int], str | None]:
    """After an ingest run: every acknowledged touch must be in the database."""

    def check(tag: str, requests: int) -> str | None:
        stored = asyncio.run(_count_like(url, f"{prefix}-{tag}-%"))
        expected = requests * per_request
        return None if stored >= expected else f"stored {stored} of {expected} touches"

    return check


def _touch(customer: str) -> dict[str, object]:
    return {
        "customer_id": customer, "channel": "phone", "occurred_at": "2026-01-05T10:00:00+00:00",
        "actor": {"rep_id": "rep-001", "team": "north-sales"}, "source": "wrk",
        "external_id": f"probe-{secrets.token_hex(6)}",
    }  # fmt: skip


def profile_body(index: int) -> dict[str, object]:
    """A full profile for a customer of the others range, its owner kept (as put_profile.lua
    sends them)."""
    rep, team = other_owner(index)
    return {
        "customer_id": customer_id(index), "name": f"Customer {index} (probe)",
        "segment": "standard", "stage": "customer", "market": "b2b", "industry": "software",
        "owner": {"rep_id": rep, "team": team}, "timezone": "Europe/Berlin", "country": "DE",
        "email": f"{customer_id(index)}@example.com",
        "preferences": {
            "opted_out_channels": ["sms"], "preferred_channels": ["phone", "email"],
            "max_contacts_per_30d": 8, "quiet_hours": {"start": "20:00", "end": "08:00"},
        },
        "attributes": {"crm_sync": "probe", "score": 50, "tags": ["bench", "profile"]},
    }  # fmt: skip


WRITES = ("single_ingest", "profile_put", "batch_ingest")
RFM_TIMEOUT = 900.0  # seconds the one timed recompute may take
RFM_SETTLE_SECONDS = 120.0  # at most, waiting for the RFM scheduler's own first snapshot
QUIET_SECONDS = 60.0  # at most, waiting for a report's abandoned requests before the next
PROFILE_CONNECTIONS = 8  # as the issue measured a profile PUT


def queue_page_path(limit: int = 50) -> str:
    return f"/v1/follow-ups?owner_rep={MID_REP}&limit={limit}"


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


REPORTS = ("analytics_contacts", "analytics_outcomes", "analytics_compliance")
# The first compliance report over the quarter judges the lateness of its follow-ups (then
# kept): its probe may take minutes.
FIRST_REPORT_SECONDS = 1800.0


@dataclass(frozen=True, slots=True)
class Report:
    """One analytics report over the data set's busiest quarter (bench/dataset.py)."""

    name: str
    path: str
    what: str


def report_requests(layout: Layout, now: datetime | None = None) -> list[Report]:
    """The three reports of issue 10, each over one calendar quarter: the one with the most
    touches of the data set, as the seed spread them before ``now``."""
    now = now or datetime.now(UTC)
    since, until = busiest_quarter(layout, now)
    window = {"from": _instant(since), "to": _instant(until)}
    touches = expected_touches(layout, now, since, until)
    quarter = f"{since:%Y-%m-%d}..{until:%Y-%m-%d} (~{touches:,.0f} touches)"

    def path(endpoint: str, **params: str) -> str:
        return f"/v1/analytics/{endpoint}?{urlencode({**window, **params})}"

    contacts, outcomes, compliance = REPORTS
    return [
        Report(
            contacts,
            path("contacts", interval="month", group_by="channel"),
            f"GET /v1/analytics/contacts, a quarter {quarter} by month and channel",
        ),
        Report(
            outcomes,
            path("touch-outcomes", group_by="channel"),
            f"GET /v1/analytics/touch-outcomes, a quarter {quarter} by channel (rows by n)",
        ),
        Report(
            compliance,
            path("compliance", group_by="owner_rep"),
            f"GET /v1/analytics/compliance, a quarter {quarter} by owner_rep",
        ),
    ]


def report_scenarios(layout: Layout, connections: int) -> list[Scenario]:
    """The reports as wrk scenarios: the same request over and over (``get_fixed``), at
    ``connections`` (0: the run's)."""
    at = f", {connections} connection{'s' if connections > 1 else ''}" if connections else ""
    return [
        Scenario(r.name, f"{r.what}{at} (s: the probe, one request alone before the load)",
                 "get_fixed", Probe("GET", r.path, timeout=FIRST_REPORT_SECONDS), path=r.path,
                 connections=connections, timed_probe=True)
        for r in report_requests(layout)
    ]  # fmt: skip


def service_scenarios(layout: Layout, load: wrk.Load, batch_connections: int) -> list[Scenario]:
    ordinary = customer_id(layout.ordinary_range.start)
    probe, giant = customer_id(layout.probe), customer_id(0)
    others = layout.others_range
    conflict = {
        "customer_id": ordinary,
        "channel": "phone",
        "actor": {"rep_id": "rep-x", "team": "t"},
    }
    batch = orjson.dumps({"touches": [_touch(ordinary), _touch(ordinary)]})

    def fixed(name: str, what: str, path: str) -> Scenario:
        return Scenario(name, what, "get_fixed", Probe("GET", path), path=path)

    def alone(scenario: Scenario) -> Scenario:
        """The same with one connection: service time without queueing (informational)."""
        return replace(
            scenario, name=f"{scenario.name}_1c", what=f"{scenario.what}, 1 connection",
            connections=1, informational=True,
        )  # fmt: skip

    status = Scenario(
        "status", "GET /v1/customers/{id}/status, random customers", "get_random",
        Probe("GET", f"/v1/customers/{ordinary}/status"),
        env={"BENCH_PATH": "/v1/customers/{id}/status"},
    )  # fmt: skip
    queue_page = fixed(
        "queue_page", f"GET /v1/follow-ups?limit=50, owner of {layout.mid_rep_customers:,}",
        queue_page_path(),
    )  # fmt: skip
    queue_small = fixed(
        "queue_small", f"GET /v1/follow-ups, owner of {layout.small_rep_customers}",
        f"/v1/follow-ups?owner_rep={SMALL_REP}",
    )  # fmt: skip
    queue_big = fixed(
        "queue_big", f"GET /v1/follow-ups, team of {layout.team_customers:,}",
        f"/v1/follow-ups?team={BIG_TEAM}",
    )  # fmt: skip
    history_small = fixed(
        "history_small", f"GET status, a customer of {layout.probe_touches} touches",
        f"/v1/customers/{probe}/status",
    )  # fmt: skip
    history_giant = fixed(
        "history_giant",
        f"GET status, a customer of {layout.giant_touches:,} touches,"
        f" {layout.giant_recent_touches:,} in the last 90 days",
        f"/v1/customers/{giant}/status",
    )  # fmt: skip
    profile = orjson.dumps(profile_body(others.start))
    return [
        status,
        alone(status),
        Scenario("conflict_check", "POST /v1/conflict-checks, random customers", "post_conflict",
                 Probe("POST", "/v1/conflict-checks", orjson.dumps(conflict))),
        queue_page,
        alone(queue_page),
        queue_small,
        queue_big,
        alone(queue_small),
        alone(queue_big),
        history_small,
        history_giant,
        alone(history_small),
        alone(history_giant),
        Scenario("single_ingest", "POST /v1/touches, one touch", "post_touch",
                 Probe("POST", "/v1/touches", orjson.dumps(_touch(ordinary)), (201,))),
        Scenario("profile_put",
                 f"PUT /v1/customers/{{id}}, a full profile, random customers of {len(others):,},"
                 f" {PROFILE_CONNECTIONS} connections",
                 "put_profile", Probe("PUT", f"/v1/customers/{customer_id(others.start)}",
                                      profile, (200,)),
                 env={"BENCH_FIRST": str(others.start), "BENCH_LAST": str(others.stop - 1)},
                 connections=PROFILE_CONNECTIONS),
        Scenario("batch_ingest",
                 f"POST /v1/touches/batch, 1,000 touches, {batch_connections} connections",
                 "post_batch", Probe("POST", "/v1/touches/batch", batch),
                 env={"BENCH_BATCH": "1000"}, rows_per_request=1000,
                 connections=batch_connections),
    ]  # fmt: skip


def conflict_routed(base: str) -> bool:
    status, body = http("GET", base + "/openapi.json")
    return status == 200 and "/v1/conflict-checks" in orjson.loads(body).get("paths", {})


@dataclass(frozen=True, slots=True)
class BulkPlan:
    """first_page_after_load: how many touches to load, by how many clients, and how long to
    wait for the refresher to drain (also before each write scenario)."""

    rows: int
    clients: int = 4
    drain_timeout: float = 300.0
    fixed_rounds: int = 2  # batch_ingest_at_fixed: batches per connection


def check_layout(base: str, headers: dict[str, str], layout: Layout) -> list[str]:
    """What the data set should show through the API: the giant over its caps, a full queue
    page for the owner of 5,000. Printed; problems come back as notes."""
    notes = []
    status, body = http("GET", f"{base}/v1/customers/{customer_id(0)}/status", None, headers)
    if status == 200:
        doc = orjson.loads(body)
        caps = ", ".join(f"{c['window_days']}d {c['used']}/{c['max']}" for c in doc["caps"])
        recent = doc["counts"].get("90d", {}).get("total")
        print(
            f"giant {customer_id(0)}: rule {doc['rule']}, status {doc['status']},"
            f" 90-day contacts {recent}, caps used/max: {caps or 'none'}",
            flush=True,
        )
        if not any(c["used"] > c["max"] for c in doc["caps"]):
            caps = caps or "none"
            notes.append(f"The giant {customer_id(0)} is over none of its caps ({caps}).")
    else:
        notes.append(f"The giant's status answered {status}.")
    status, body = http("GET", base + queue_page_path(), None, headers)
    items = len(orjson.loads(body).get("items", [])) if status == 200 else 0
    print(f"queue_page: {MID_REP}'s first page has {items} items", flush=True)
    if items < 50:
        notes.append(f"{MID_REP}'s first queue page had {items} items, not 50 ({status}).")
    return notes


def drain_before(url: str, name: str, timeout: float) -> str | None:
    """Wait for the refresher to drain what earlier writes marked, so that a scenario does not
    pay for the one before; a note when there was anything to drain."""
    drain = afterload.wait_drained(url, timeout)
    if not drain.marks_at_start:
        return None
    text = (
        f"Before {name}, the refresher drained {drain.marks_at_start:,} refresh marks in"
        f" {drain.seconds:.1f} s"
        if drain.drained
        else f"Before {name}, {drain.left:,} of {drain.marks_at_start:,} refresh marks were"
        f" still waiting after {timeout:.0f} s"
    )
    print(text, flush=True)
    return text + "."


def measure_service(
    url: str,
    key: str,
    layout: Layout,
    load: wrk.Load,
    workers: int,
    batch_connections: int,
    bulk: BulkPlan,
    logs: Path,
    profile_dir: Path | None,
    report_connections: int = 0,
) -> tuple[list[Figure], list[str]]:
    """Every HTTP scenario, then first_page_after_load, then the timed RFM recompute and the
    analytics reports; the figures and notes."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first, last = layout.ordinary_range.start, layout.ordinary_range.stop - 1
    env = {"BENCH_KEY": key, "BENCH_FIRST": str(first), "BENCH_LAST": str(last)}
    headers = {**JSON, "Authorization": f"Bearer {key}"}
    figures: list[Figure] = []
    notes: list[str] = []
    with service.server(url, port, workers, logs / "server.log") as server:
        server.wait_ready(base + "/readyz")
        notes += settle_start(url, bulk.drain_timeout)
        notes += check_layout(base, headers, layout)
        runner = Runner(base, server, load, headers, env, profile_dir)
        for scenario in service_scenarios(layout, load, batch_connections):
            if scenario.name == "conflict_check" and not conflict_routed(base):
                status, _ = http(scenario.probe.method, base + scenario.probe.path,
                                 scenario.probe.body, headers)  # fmt: skip
                if status == 404:
                    print("conflict_check: not available (POST /v1/conflict-checks is not routed)")
                    figures.append(Figure(scenario.name, scenario.what, state="not available"))
                    continue
            if scenario.script in ("post_touch", "post_batch"):
                prefix = "single" if scenario.script == "post_touch" else "batch"
                scenario.check = stored_check(url, prefix, scenario.rows_per_request or 1)
            if scenario.name in WRITES:
                notes += filter(None, [drain_before(url, scenario.name, bulk.drain_timeout)])
            figures.append(runner.run(scenario))
        notes += filter(None, [drain_before(url, "batch_ingest_at_fixed", bulk.drain_timeout)])
        figures.append(
            batch_at_fixed(url, base, headers, server, layout, load.connections, bulk.fixed_rounds)
        )
        notes += filter(None, [drain_before(url, "the bulk load", bulk.drain_timeout)])
        load_figures, load_notes = first_page_after_load(url, base, headers, server, layout, bulk)
        figures += load_figures
        notes += load_notes
        # Last, so that what they leave running (a report can outlast wrk's run; the server
        # finishes requests wrk gave up on) weighs on no other scenario; the reports read a
        # quarter long before every touch the scenarios above wrote.
        notes += filter(None, [drain_before(url, "rfm_recompute", bulk.drain_timeout)])
        notes += filter(None, [quiet_before(url, "rfm_recompute")])
        rfm_figure, rfm_notes = rfm_recompute(url, base, headers, server, layout)
        figures.append(rfm_figure)
        notes += rfm_notes
        for scenario in report_scenarios(layout, report_connections):
            notes += filter(None, [drain_before(url, scenario.name, bulk.drain_timeout)])
            notes += filter(None, [quiet_before(url, scenario.name)])
            figures.append(runner.run(scenario))
    notes += filter(None, [quiet_before(url, "the import")])
    return figures, notes


def quiet_before(url: str, name: str) -> str | None:
    """Wait (bounded) until no backend of the bench database is at work: requests an earlier
    scenario gave up on go on in the server. A note when anything was."""
    quiet = afterload.wait_quiet(url, QUIET_SECONDS)
    if not quiet.busy_at_start:
        return None
    text = (
        f"Before {name}, {quiet.busy_at_start} database sessions were still at work (requests"
        f" given up on); quiet after {quiet.seconds:.1f} s"
        if quiet.quiet
        else f"Before {name}, {quiet.busy} database sessions were still at work after"
        f" {QUIET_SECONDS:.0f} s (requests given up on); it went ahead"
    )
    print(text, flush=True)
    return text + "."


async def _await_snapshot(url: str, bound: float) -> tuple[float, tuple[datetime, int] | None]:
    started = time.perf_counter()
    while True:
        found = await _rfm_snapshot(url)
        waited = time.perf_counter() - started
        if found is not None or waited >= bound:
            return waited, found
        await asyncio.sleep(afterload.POLL_SECONDS)


def settle_start(url: str, drain_timeout: float) -> list[str]:
    """The service scores a tenant's RFM by itself once its purchases are an hour old, which
    the seeded ones are: at start, then, it scores the bench tenant and marks the customers
    whose segment changed. Wait (bounded) for that snapshot and for the refresher to drain
    those marks, so that the first scenarios do not pay for them."""
    waited, found = asyncio.run(_await_snapshot(url, RFM_SETTLE_SECONDS))
    if found is None:
        text = f"The service made no RFM snapshot by itself in the first {waited:.0f} s."
        print(text, flush=True)
        return [text]
    drain = afterload.wait_drained(url, drain_timeout)
    text = (
        f"At start the service's RFM scheduler scored the bench tenant by itself (population"
        f" {found[1]:,}; the snapshot stood {waited:.1f} s after the server was ready)"
    )
    if drain.marks_at_start:
        text += (
            f"; the refresher then drained {drain.marks_at_start:,} refresh marks in"
            f" {drain.seconds:.1f} s"
            if drain.drained
            else f"; {drain.left:,} of {drain.marks_at_start:,} refresh marks were still"
            f" waiting after {drain_timeout:.0f} s"
        )
    print(text, flush=True)
    return [text + ", before the first scenario."]


async def _rfm_snapshot(url: str) -> tuple[datetime, int] | None:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT as_of, population FROM rfm_snapshots LIMIT 1")
        return (row["as_of"], int(row["population"])) if row is not None else None
    finally:
        await conn.close()


def _post(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """One POST without a body, waiting up to ``timeout``; status 0 on a socket error."""
    request = urllib.request.Request(url, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def rfm_recompute(
    url: str, base: str, headers: dict[str, str], server: Server, layout: Layout
) -> tuple[Figure, list[str]]:
    """One ``POST /v1/rfm/recompute`` over the bench tenant, timed (a one-off, as
    first_page_after_load): its wall time, the server's and PostgreSQL's CPU, and the
    population it reports."""
    before = asyncio.run(_rfm_snapshot(url))
    meter = CpuMeter(server.pids())
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(_post, base + "/v1/rfm/recompute", headers, RFM_TIMEOUT)
        while wait([answer], timeout=0.25).not_done:
            meter.sample()
        status, body = answer.result()
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    what = (
        f"POST /v1/rfm/recompute once over the bench tenant's {layout.customers:,} customers"
        " (one request; s: its wall time; CPU: of that request)"
    )
    figure = Figure(
        "rfm_recompute", what, p50_ms=seconds * 1000, p99_ms=seconds * 1000,
        seconds=seconds, app_cpu_ms=cpu.app * 1000, pg_cpu_ms=cpu.pg * 1000,
        others_pct=cpu.others_share * 100,
    )  # fmt: skip
    earlier = (
        f"replacing the snapshot of {before[0]:%Y-%m-%d %H:%M:%S} UTC (population {before[1]:,})"
        " the service's scheduler had made by itself"
        if before is not None
        else "the tenant's first snapshot"
    )
    if status != 200:
        text = body[:300].decode(errors="replace")
        figure.state = f"failed: answered {status or 'a socket error'}"
        print(f"rfm_recompute: FAILED after {seconds:.1f} s, {status}: {text}", flush=True)
        return figure, [f"rfm_recompute answered {status or 'a socket error'}: {text}"]
    summary = orjson.loads(body)
    population = int(summary["population"])
    segments = ", ".join(
        f"{s['segment']} {s['customers']:,}" for s in summary["segments"] if s["customers"]
    )
    figure.what += f": population {population:,}"
    line = (
        f"rfm_recompute: {seconds:.2f} s for a population of {population:,} of"
        f" {layout.customers:,} customers (as_of {summary['as_of']}; {earlier}); CPU"
        f" {cpu.app:.2f} s server, {cpu.pg:.2f} s PostgreSQL; segments: {segments}"
    )
    print(line, flush=True)
    if not 0 < population <= layout.customers:
        figure.state = f"failed: population {population:,}"
    return figure, [line + "."]


def _load_problem(url: str, tag: str, loaded: afterload.LoadResult) -> str:
    """What the load's answers say went wrong, and whether every created touch is stored."""
    stored = asyncio.run(_count_like(url, f"load-{tag}-%", "bulk-load"))
    missing = (
        f"stored {stored} of {loaded.created} created touches" if stored < loaded.created else ""
    )
    return "; ".join(p for p in (loaded.problem, missing) if p)


def batch_at_fixed(
    url: str,
    base: str,
    headers: dict[str, str],
    server: Server,
    layout: Layout,
    connections: int,
    rounds: int,
) -> Figure:
    """32 concurrent 1,000-touch batches (``rounds`` each): every one should succeed, writers
    queueing for database connections; p99 and the non-2xx answers, nothing retried."""
    tag = afterload.tag()
    rows = connections * rounds * afterload.PER_REQUEST
    payloads = afterload.bodies(layout, rows, tag, mid_share=0.0, days=30)
    print(f"batch_ingest_at_fixed: {len(payloads)} batches of 1,000, {connections} clients",
          flush=True)  # fmt: skip
    loaded = afterload.bulk_load(base, headers, server, payloads, connections, retry=False)
    figure = _load_figure(
        "batch_ingest_at_fixed",
        f"POST /v1/touches/batch, 1,000 touches, {connections} concurrent clients x {rounds}"
        " (informational; every answer counted, nothing retried)",
        loaded,
    )
    answered = len(loaded.latencies_ms)
    non_2xx = sum(loaded.failed.values())
    problem = _load_problem(url, tag, loaded)
    if problem:
        figure.state = f"failed: {problem} ({non_2xx} of {answered} answers non-2xx)"
    print_figure(figure)
    return figure


def _load_figure(name: str, what: str, loaded: afterload.LoadResult) -> Figure:
    cpu = loaded.cpu
    requests = len(loaded.latencies_ms)
    return Figure(
        name,
        what,
        rps=requests / loaded.seconds if loaded.seconds else None,
        rows_per_s=loaded.rows_per_s,
        p50_ms=loaded.percentile(50),
        p99_ms=loaded.percentile(99),
        seconds=loaded.seconds,
        peak_mib=loaded.peak_mib,
        app_cpu_ms=cpu.app * 1000 / requests if cpu and requests else None,
        pg_cpu_ms=cpu.pg * 1000 / requests if cpu and requests else None,
        others_pct=cpu.others_share * 100 if cpu else None,
        informational=True,
    )


def first_page_after_load(
    url: str, base: str, headers: dict[str, str], server: Server, layout: Layout, bulk: BulkPlan
) -> tuple[list[Figure], list[str]]:
    """Load ``bulk.rows`` touches with POST /v1/touches/batch, then at once GET the first queue
    page of the owner of 5,000, then wait for the refresher to drain the marks."""
    tag = afterload.tag()
    payloads = afterload.bodies(layout, bulk.rows, tag)
    print(f"bulk load: {bulk.rows:,} touches, {len(payloads)} batches, {bulk.clients} clients",
          flush=True)  # fmt: skip
    loaded = afterload.bulk_load(base, headers, server, payloads, bulk.clients)
    page, (owner_marks, all_marks) = afterload.first_page_and_marks(
        url, base, headers, queue_page_path(), MID_REP
    )
    drain = afterload.wait_drained(url, bulk.drain_timeout)
    load_figure = _load_figure(
        "bulk_load",
        f"POST /v1/touches/batch, {bulk.rows:,} touches in batches of 1,000, {bulk.clients}"
        " clients, before first_page_after_load (s: the whole load)",
        loaded,
    )
    problem = _load_problem(url, tag, loaded)
    if problem:
        load_figure.state = f"failed: {problem}"
    retried = sum(loaded.retried.values())
    print(
        f"bulk_load: {loaded.created:,} touches in {loaded.seconds:.1f} s ="
        f" {loaded.rows_per_s:,.0f} rows/s, batch p50 {loaded.percentile(50) or 0:.0f} ms, p99"
        f" {loaded.percentile(99) or 0:.0f} ms, {retried} retried answers"
        f" {dict(loaded.retried) or ''}{', ' + problem if problem else ''}",
        flush=True,
    )
    page_figure = Figure(
        "first_page_after_load",
        f"the first GET {queue_page_path()} right after bulk_load (one request; {page.items}"
        f" items; {owner_marks:,} of {MID_REP}'s customers and {all_marks:,} in all marked for"
        " refresh as it was asked for)",
        p50_ms=page.ms,
        p99_ms=page.ms,
        seconds=page.ms / 1000,
    )
    if page.status != 200:
        page_figure.state = f"failed: answered {page.status}"
        print(f"first_page_after_load: FAILED, {page.status}: {page.body.decode(errors='replace')}",
              flush=True)  # fmt: skip
    else:
        print(
            f"first_page_after_load: {page.ms:,.0f} ms, {page.items} items; marked for refresh"
            f" as it was asked for: {owner_marks:,} of {MID_REP}'s customers, {all_marks:,} in"
            " all",
            flush=True,
        )
    drain_figure = Figure(
        "refresh_drain",
        f"the background refresher draining the {drain.marks_at_start:,} refresh marks left"
        " after the first page (s: until none is left)",
        seconds=drain.seconds,
        informational=True,
    )
    if not drain.drained:
        drain_figure.state = (
            f"not drained: {drain.left:,} marks left after {bulk.drain_timeout:.0f} s"
        )
    print(
        f"refresh_drain: {drain.marks_at_start:,} marks"
        + (f" drained in {drain.seconds:.1f} s" if drain.drained else f", {drain.left:,} left"
           f" after {drain.seconds:.0f} s"),
        flush=True,
    )  # fmt: skip
    notes = [
        f"first_page_after_load: {loaded.created:,} touches loaded in {loaded.seconds:.1f} s"
        f" ({loaded.rows_per_s:,.0f} rows/s, {retried} answers retried), then the first page in"
        f" {page.ms:,.0f} ms ({owner_marks:,} of {MID_REP}'s customers and {all_marks:,} in all"
        " waiting for refresh as it was asked for); the refresher then drained"
        f" {drain.marks_at_start:,} marks"
        + (f" in {drain.seconds:.1f} s." if drain.drained
           else f" only down to {drain.left:,} in {drain.seconds:.0f} s.")
    ]  # fmt: skip
    return [load_figure, page_figure, drain_figure], notes


def measure_import(url: str, tenant: str, layout: Layout, lines: int, logs: Path) -> Figure:
    path = logs / "import.ndjson"
    service.write_import_file(path, layout, lines, secrets.token_hex(4))
    try:
        result = service.run_import(url, tenant, path, lines, logs / "import.log")
    finally:
        path.unlink(missing_ok=True)
    what = f"touchbase import, {lines:,} NDJSON touches (CPU per 1,000 rows)"
    per_thousand = 1e6 / lines
    figure = Figure(
        "import",
        what,
        peak_mib=result.peak_mib,
        app_cpu_ms=result.cpu_seconds * per_thousand,
        pg_cpu_ms=result.cpu.pg * per_thousand,
        others_pct=result.cpu.others_share * 100,
    )
    if result.failed:
        figure.state = f"failed: exit {result.exit_code}, {result.output or 'no summary'}"
        print(f"import: FAILED: {result.output}; see {logs / 'import.log'}", flush=True)
        return figure
    figure.rows_per_s = result.rows_per_second
    print(
        f"import: {result.created:,} rows in {result.wall_seconds:.1f} s ="
        f" {result.rows_per_second:,.0f} rows/s end to end (the CLI's own rate:"
        f" {result.cli_rate:,.0f}/s), peak {result.peak_mib:.1f} MiB, CPU per 1,000 rows:"
        f" {figure.app_cpu_ms or 0:.0f} ms importer, {figure.pg_cpu_ms or 0:.0f} ms PostgreSQL",
        flush=True,
    )
    return figure
