"""The measurements of one run: the ceilings, the service's HTTP scenarios, the importer."""

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import asyncpg
import orjson

from bench import ceilings, service, wrk
from bench.dataset import BIG_TEAM, SMALL_REP, Layout, customer_id
from bench.procs import free_port, http
from bench.report import Figure
from bench.scenarios import Probe, Runner, Scenario

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
    copy, cpu = asyncio.run(ceilings.copy_rows_per_second(url, copy_rows))
    per_thousand = 1e6 / copy_rows
    figure = Figure(
        "copy",
        f"asyncpg COPY of {copy_rows:,} touch rows (CPU per 1,000 rows)",
        rows_per_s=copy,
        app_cpu_ms=cpu.app * per_thousand,
        pg_cpu_ms=cpu.pg * per_thousand,
        others_pct=cpu.others_share * 100,
    )
    print(
        f"copy: {copy:,.0f} rows/s, CPU per 1,000 rows: {figure.app_cpu_ms:.1f} ms client,"
        f" {figure.pg_cpu_ms:.1f} ms PostgreSQL",
        flush=True,
    )
    figures.append(figure)
    tps = ceilings.pgbench_tps(url, load.connections, load.threads, PGBENCH_SECONDS, PGBENCH_SCALE)
    print(f"pgbench_select: {tps:,.0f} tps", flush=True)
    what = f"pgbench -S, scale {PGBENCH_SCALE}, {load.connections} clients (tps)"
    figures.append(Figure("pgbench_select", what, rps=tps))
    return figures


async def _count_like(url: str, pattern: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM touches WHERE source = 'wrk' AND external_id LIKE $1", pattern
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


def service_scenarios(layout: Layout, load: wrk.Load, batch_connections: int) -> list[Scenario]:
    ordinary = customer_id(layout.ordinary_range.start)
    probe, giant = customer_id(layout.probe), customer_id(0)
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
        "history_giant", f"GET status, a customer of {layout.giant_touches:,} touches",
        f"/v1/customers/{giant}/status",
    )  # fmt: skip
    return [
        status,
        alone(status),
        Scenario("conflict_check", "POST /v1/conflict-checks, random customers", "post_conflict",
                 Probe("POST", "/v1/conflict-checks", orjson.dumps(conflict))),
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
        Scenario("batch_ingest",
                 f"POST /v1/touches/batch, 1,000 touches, {batch_connections} connections",
                 "post_batch", Probe("POST", "/v1/touches/batch", batch),
                 env={"BENCH_BATCH": "1000"}, rows_per_request=1000,
                 connections=batch_connections),
        Scenario("batch_ingest_at_fixed",
                 f"the same at {load.connections} connections (informational)", "post_batch",
                 Probe("POST", "/v1/touches/batch", batch), env={"BENCH_BATCH": "1000"},
                 rows_per_request=1000, informational=True),
    ]  # fmt: skip


def conflict_routed(base: str) -> bool:
    status, body = http("GET", base + "/openapi.json")
    return status == 200 and "/v1/conflict-checks" in orjson.loads(body).get("paths", {})


def measure_service(
    url: str,
    key: str,
    layout: Layout,
    load: wrk.Load,
    workers: int,
    batch_connections: int,
    logs: Path,
    profile_dir: Path | None,
) -> list[Figure]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first, last = layout.ordinary_range.start, layout.ordinary_range.stop - 1
    env = {"BENCH_KEY": key, "BENCH_FIRST": str(first), "BENCH_LAST": str(last)}
    headers = {**JSON, "Authorization": f"Bearer {key}"}
    figures = []
    with service.server(url, port, workers, logs / "server.log") as server:
        server.wait_ready(base + "/readyz")
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
            figures.append(runner.run(scenario))
    return figures


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
