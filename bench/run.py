"""`make bench`: the service against the machine's own ceilings, measured in one run.

    python -m bench.run              # full size: 60,000 customers, 1,000,000 touches
    python -m bench.run --quick      # a smoke run: small data set, 3 s per scenario

It makes its own database on the configured server (BENCH_DATABASE_URL, else DATABASE_URL,
else 127.0.0.1:5432), migrates and seeds it, measures the ceilings (a bare FastAPI app, raw
COPY, pgbench -S) and the real `touchbase serve` with wrk (then a bulk load and the first queue
page after it, then `touchbase import`), prints every figure and ratio, writes
bench/out/<timestamp>.md (and bench/RESULTS.md at full size), and drops the database. The run
ends with one `target <name> ratio=<x> goal=<y> met|missed` line per performance target.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from app.config import Settings
from bench import procs, service, wrk
from bench.database import fresh_database, reachable, server_url
from bench.dataset import Layout, busiest_quarter
from bench.measure import (
    PROFILE_CONNECTIONS,
    QUIET_SECONDS,
    REPORTS,
    BulkPlan,
    measure_ceilings,
    measure_import,
    measure_service,
)
from bench.report import Figure, Target, machine, markdown, ratio, table
from bench.seed import layout_argv

BENCH_DIR = Path(__file__).parent
OUT_DIR = BENCH_DIR / "out"
TENANT = "bench"
SCALES = {
    "full": Layout(),
    "small": Layout(
        customers=11_000, touches=150_000, giant_touches=25_000, giant_recent_touches=20_000,
        team_customers=5_000, mid_rep_customers=5_000,
    ),
}  # fmt: skip
IMPORT_LINES = {"full": 100_000, "small": 10_000}
COPY_ROWS = {"full": 200_000, "small": 50_000}
BULK_ROWS = {"full": 200_000, "small": 20_000}  # the load before first_page_after_load
DRAIN_SECONDS = {"full": 300.0, "small": 120.0}  # at most, waiting for the refresher
FIXED_ROUNDS = {"full": 2, "small": 1}  # batch_ingest_at_fixed: batches per connection
NOISY_PCT = 20
REPORT_GOAL = 10.0  # each analytics report's p50 at most this many status p50s (issue 10)


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=SCALES, default=env("BENCH_SCALE") or "full")
    parser.add_argument("--quick", action="store_true", help="--scale small, 3 s per scenario")
    parser.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS") or 0))
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP") or 0))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS") or 32))
    parser.add_argument("--threads", type=int, default=int(env("BENCH_THREADS") or 2))
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS") or 1))
    parser.add_argument(
        "--batch-connections",
        type=int,
        default=int(env("BENCH_BATCH_CONNECTIONS") or 4),
        help="connections for the 1,000-touch batch scenario (default 4; it is also run at"
        " --connections, for information)",
    )
    parser.add_argument(
        "--report-connections",
        type=int,
        default=int(env("BENCH_REPORT_CONNECTIONS") or 0),
        help="connections for the analytics reports (default: --connections, as status)",
    )
    parser.add_argument(
        "--bulk-rows",
        type=int,
        default=int(env("BENCH_BULK_ROWS") or 0),
        help="touches loaded before first_page_after_load (default 200,000; small: 20,000)",
    )
    parser.add_argument(
        "--results",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rewrite bench/RESULTS.md (default: at full scale only)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database (debugging)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server per scenario")
    args = parser.parse_args()
    if args.quick:
        args.scale = "small"
    small = args.scale == "small"
    args.seconds = args.seconds or (3.0 if small else 10.0)
    args.warmup = args.warmup or (1.0 if small else 3.0)
    args.bulk_rows = args.bulk_rows or BULK_ROWS[args.scale]
    if args.results is None:
        args.results = not small
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so that servers stop and the database is dropped


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def seed(url: str, layout: Layout) -> tuple[str, float]:
    """Seed with bench/seed.py in its own process; the admin key it prints last."""
    argv = [sys.executable, "-m", "bench.seed", "--tenant", TENANT, *layout_argv(layout)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if not line.startswith("tb_"):
            print(line, end="", flush=True)
    if proc.wait() != 0:
        raise RuntimeError(f"bench.seed failed ({proc.returncode})")
    return lines[-1], time.perf_counter() - started


def targets(figures: dict[str, Figure]) -> list[Target]:
    def get(name: str, attr: str) -> float | None:
        figure = figures.get(name)
        return getattr(figure, attr) if figure is not None and figure.ok else None

    def seconds(name: str) -> float | None:
        ms = get(name, "p50_ms")
        return ms / 1000 if ms is not None else None

    conflict = figures.get("conflict_check")
    unavailable = conflict is not None and conflict.state == "not available"
    return [
        Target("status", ratio(get("status", "rps"), get("bare_select", "rps")), 0.5),
        Target(
            "conflict_check",
            ratio(get("conflict_check", "rps"), get("bare_select", "rps")),
            0.33,
            skipped="not available" if unavailable else "",
        ),
        Target("queue_page", ratio(get("queue_page", "rps"), get("bare_select", "rps")), 0.33),
        Target("single_ingest", ratio(get("single_ingest", "rps"), get("bare_insert", "rps")), 0.5),
        Target("profile_put", ratio(get("profile_put", "rps"), get("bare_insert", "rps")), 0.33),
        Target(
            "batch_ingest",
            ratio(get("batch_ingest", "rows_per_s"), get("copy", "rows_per_s")),
            0.1,
        ),
        Target("import", ratio(get("import", "rows_per_s"), get("copy", "rows_per_s")), 0.1),
        Target(
            "history_independence",
            ratio(get("history_giant", "p50_ms"), get("history_small", "p50_ms")),
            1.5,
            at_most=True,
        ),
        Target(
            "queue_independence",
            ratio(get("queue_big", "p50_ms"), get("queue_small", "p50_ms")),
            2.0,
            at_most=True,
        ),
        Target(
            "first_page_after_load",
            ratio(seconds("first_page_after_load"), 1.0),
            1.0,
            at_most=True,
        ),
        *(
            Target(
                name,
                ratio(get(name, "p50_ms"), get("status", "p50_ms")),
                REPORT_GOAL,
                at_most=True,
            )
            for name in REPORTS
        ),
    ]


def unloaded_ratios(figures: dict[str, Figure]) -> list[str]:
    """The independence ratios again at one connection (service time without queueing)."""
    lines = []
    for name, big, small in (
        ("history_independence", "history_giant_1c", "history_small_1c"),
        ("queue_independence", "queue_big_1c", "queue_small_1c"),
    ):
        b, s = figures.get(big), figures.get(small)
        if b is not None and s is not None and b.ok and s.ok:
            value = ratio(b.p50_ms, s.p50_ms)
            lines.append(
                f"At 1 connection (information, not a target): {name} ratio={value or 0:.2f}"
                f" (p50 {b.p50_ms or 0:.2f} ms / {s.p50_ms or 0:.2f} ms)."
            )
    return lines


def method(
    args: argparse.Namespace, layout: Layout, load: wrk.Load, seed_seconds: float
) -> list[str]:
    settings = Settings()  # the pool the service and the bare app both get
    since, until = busiest_quarter(layout, datetime.now(UTC))
    pool_min, pool_max = settings.pool_size, settings.pool_size + settings.pool_max_overflow
    return [
        "- Reproduce with `make bench` (full size) or `make bench BENCH_SCALE=small` (smoke"
        " run); `python -m bench.run --help` lists the knobs.",
        f"- Data: {layout.customers:,} customers, {layout.touches:,} touches over a year"
        f" ({layout.giants} customers of {layout.giant_touches:,} touches, each with"
        f" {layout.giant_recent_touches:,} in the last 90 days, one of"
        f" {layout.probe_touches}); owner `rep-small` has {layout.small_rep_customers} customers,"
        f" `rep-mid` {layout.mid_rep_customers:,}, team `mass-market`"
        f" {layout.team_customers:,}. The tenant's policy: bench/dataset.py's POLICY, six rules"
        " with caps and targets (the giants exceed their 7-, 30- and 90-day caps). Seeded with"
        f" COPY by bench/seed.py in {seed_seconds:.0f} s, into a fresh database dropped at the"
        " end.",
        f"- HTTP: wrk, {load.connections} connections, {load.threads} threads,"
        f" {load.warmup_seconds:g} s warm-up then {load.seconds:g} s measured, per scenario"
        f" (the 1,000-touch batch at {args.batch_connections} connections, as bulk loaders"
        f" run; the profile PUT at {PROFILE_CONNECTIONS}); the same for the bare app and the"
        f" service (`touchbase serve --workers {args.workers}`, uvicorn with uvloop and"
        " httptools, default settings and log level). Before each write scenario the harness"
        " waits for the background refresher to drain the refresh marks earlier writes left"
        " (see the notes).",
        f"- batch_ingest_at_fixed (information): {load.connections} concurrent clients each"
        f" posting {FIXED_ROUNDS[args.scale]} batch(es) of 1,000 touches, a fixed amount of work"
        " rather than a fixed time so that every request is answered: req/s, rows/s created,"
        " p50/p99 of every answer, and the non-2xx answers counted by status (nothing retried).",
        f"- Ceilings: bench/bare_app.py (FastAPI, asyncpg pool of {pool_min}..{pool_max} as the"
        " service's, one query per request);"
        f" asyncpg `copy_records_to_table` of {COPY_ROWS[args.scale]:,} touch rows into an empty"
        " plain table (the columns of touches and its primary key, no other index: `copy`, the"
        " batch ceiling) and, for information, into one LIKE touches with all its indexes"
        " (`copy_like_touches`); `pgbench -S` at scale 10 for 5 s.",
        "- First page after a load: after every other HTTP scenario but the RFM recompute and"
        f" the reports, {args.bulk_rows:,}"
        " touches of the last week through `POST /v1/touches/batch` (1,000 a request, 4"
        " concurrent clients, half for `rep-mid`'s customers, half for other ordinary ones;"
        " 503/429 retried after 1 s), then at once one `GET /v1/follow-ups?owner_rep=rep-mid"
        "&limit=50`, timed; then `refresh_marks` is polled until empty (at most"
        f" {DRAIN_SECONDS[args.scale]:.0f} s).",
        "- Before the first scenario the harness waits for the RFM snapshot the service makes"
        " by itself at start (the seeded purchases are over an hour old) and for the refresher"
        " to drain the refresh marks it leaves (see the notes).",
        "- RFM and reports, last of the HTTP scenarios (so that what a slow report leaves running"
        " in the server, which goes on with requests wrk gave up on, weighs on no other"
        " scenario; the server's stop ends it): one `POST /v1/rfm/recompute` (admin key), timed"
        " (`rfm_recompute`: its wall time and the population it reports), then the three"
        f" analytics reports as wrk scenarios at {args.report_connections or load.connections}"
        " connections, each the same GET over the calendar quarter"
        f" {since:%Y-%m-%d}..{until:%Y-%m-%d} ({since.tzinfo}, the policy's zone), the one of"
        " the data set with the most touches: `analytics_contacts` by month and channel,"
        " `analytics_outcomes` (touch-outcomes) by channel, `analytics_compliance` by owner_rep"
        " (their `s`: the probe, one request on the idle server before the load, at most"
        " 30 min: the first compliance report judges the lateness of the quarter's follow-ups,"
        " which later ones read; the server runs with `TOUCHBASE_LATENESS=false`, since judging"
        " the seeded year's follow-ups in the background would take a core for the whole run)."
        " The scenarios before wrote touches of the last 30 days (and the write probes three"
        " of 2026-01-05): the quarter holds the seeded touches."
        " Before the recompute and each report the harness waits (at most"
        f" {QUIET_SECONDS:.0f} s) until no database session is at work.",
        f"- Import: `touchbase import` of {IMPORT_LINES[args.scale]:,} NDJSON touches,"
        " rows/s end to end (process start to exit).",
        "- Peak memory: VmHWM summed over the server's processes, reset before each measured run;"
        " for the import, the importer process's peak RSS.",
        "- CPU ms app / PG: CPU time of the server process (of the COPY client, of the importer)"
        " and of the PostgreSQL processes working for the bench database during the measured"
        " run, per request (per 1,000 rows for COPY and the import; a batch request is 1,000"
        f" rows). Everything shares the machine's {os.cpu_count()} cores with wrk; `others %` is"
        " the share of the machine's CPU that other work (not the bench, its server, wrk or its"
        " PostgreSQL backends) took meanwhile: noise when it is high.",
        "- Ratios: service / ceiling (met when >= goal), or p50 latency ratios for the"
        " independence targets and the reports (a report's p50 / status's p50, goal"
        f" {REPORT_GOAL:g}) and seconds for first_page_after_load (met when <= goal). A"
        " scenario with any non-2xx answer or socket error is marked failed and gives no"
        " figure, except batch_ingest_at_fixed (informational), which counts them and shows its"
        " figures (rows/s from the 2xx answers only).",
    ]


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = OUT_DIR / f"{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    layout = SCALES[args.scale]
    load = wrk.Load(args.connections, args.threads, args.seconds, args.warmup)
    wrk.ensure_wrk()
    info = machine(reachable(server_url()))
    figures: list[Figure] = []
    with fresh_database(server_url(), keep=args.keep_db) as url:
        procs.track_database(url.rsplit("/", 1)[1].split("?")[0])
        step("migrate")
        subprocess.run(
            [service.TOUCHBASE, "migrate"], env={**os.environ, "DATABASE_URL": url}, check=True
        )
        step(f"seed ({args.scale})")
        _, seed_seconds = seed(url, layout)
        key = service.create_key(url, TENANT)
        step("ceilings")
        figures += measure_ceilings(url, load, COPY_ROWS[args.scale], logs)
        step("service")
        profile_dir = logs if args.profile else None
        bulk = BulkPlan(
            args.bulk_rows,
            drain_timeout=DRAIN_SECONDS[args.scale],
            fixed_rounds=FIXED_ROUNDS[args.scale],
        )
        served, service_notes = measure_service(
            url, key, layout, load, args.workers, args.batch_connections, bulk, logs,
            profile_dir, args.report_connections,
        )  # fmt: skip
        figures += served
        step("import")
        figures.append(measure_import(url, TENANT, layout, IMPORT_LINES[args.scale], logs))
    by_name = {f.name: f for f in figures}
    goals = targets(by_name)
    elapsed = time.monotonic() - started
    notes = [
        f"The whole run took {elapsed / 60:.1f} minutes; logs in bench/out/{logs.name}/.",
        *unloaded_ratios(by_name),
        *service_notes,
    ]
    noisy = [f.name for f in figures if (f.others_pct or 0) > NOISY_PCT]
    if noisy:
        notes.append(
            f"Other work took over {NOISY_PCT}% of the machine during: {', '.join(noisy)};"
            " those figures are noisier than the rest."
        )
    text = markdown(info, method(args, layout, load, seed_seconds), figures, goals, notes)
    out = OUT_DIR / f"{stamp}.md"
    out.write_text(text)
    if args.results:
        (BENCH_DIR / "RESULTS.md").write_text(text)
    step("figures")
    print(table(figures))
    print(f"\nwrote {out}" + (" and bench/RESULTS.md" if args.results else ""))
    print(f"took {elapsed:.0f} s")
    for note in notes[1:]:
        print(note)
    print()
    for goal in goals:
        print(goal.line())
    return 1 if any(f.failed for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
