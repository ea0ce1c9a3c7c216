"""What one request of each scenario asks the database: statements, rows, and with --explain
each statement's EXPLAIN ANALYZE. For looking into a missed target on a kept bench database:

    python -m bench.run --keep-db            # prints the kept database's URL
    DATABASE_URL=<that url> python -m bench.sqltrace --key <admin key> [--explain] [NAME ...]

The app runs in this process (no HTTP server); SQLAlchemy's cursor events see every statement.
"""

import argparse
import asyncio
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from bench.dataset import BIG_TEAM, MID_REP, SMALL_REP, Layout, customer_id
from bench.measure import profile_body, report_requests
from bench.seed import plain_dsn


@dataclass(slots=True)
class Statement:
    sql: str
    params: Sequence[Any]
    ms: float = 0.0
    rows: int = -1


@dataclass(slots=True)
class Trace:
    statements: list[Statement] = field(default_factory=list)
    started: dict[int, float] = field(default_factory=dict)


TRACE = Trace()


def _install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        TRACE.started[id(cursor)] = time.perf_counter()
        TRACE.statements.append(Statement(sql, params))

    def after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        last = TRACE.statements[-1]
        last.ms = (time.perf_counter() - TRACE.started.pop(id(cursor), time.perf_counter())) * 1e3
        last.rows = cursor.rowcount

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)


def requests(layout: Layout) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    ordinary = customer_id(layout.ordinary_range.start + 17)
    touch = {
        "customer_id": ordinary, "channel": "phone", "occurred_at": "2026-11-30T10:00:00+00:00",
        "actor": {"rep_id": "rep-001", "team": "north-sales"}, "source": "trace",
        "external_id": f"trace-{time.time_ns()}",
    }  # fmt: skip
    actor = {"rep_id": "rep-x", "team": "t"}
    rng = random.Random(5)
    batch = [
        {
            **touch,
            "customer_id": customer_id(
                rng.randrange(layout.ordinary_range.start, layout.customers)
            ),
            "external_id": f"trace-{time.time_ns()}-{n}",
        }
        for n in range(1000)
    ]
    return {
        "status": ("GET", f"/v1/customers/{ordinary}/status", None),
        "conflict_check": (
            "POST", "/v1/conflict-checks",
            {"customer_id": ordinary, "channel": "phone", "actor": actor},
        ),
        "queue_page": ("GET", f"/v1/follow-ups?owner_rep={MID_REP}&limit=50", None),
        "queue_small": ("GET", f"/v1/follow-ups?owner_rep={SMALL_REP}", None),
        "queue_big": ("GET", f"/v1/follow-ups?team={BIG_TEAM}", None),
        "history_small": ("GET", f"/v1/customers/{customer_id(layout.probe)}/status", None),
        "history_giant": ("GET", f"/v1/customers/{customer_id(0)}/status", None),
        "single_ingest": ("POST", "/v1/touches", touch),
        "profile_put": (
            "PUT", f"/v1/customers/{customer_id(layout.others_range.start)}",
            profile_body(layout.others_range.start),
        ),
        "batch_ingest": ("POST", "/v1/touches/batch", {"touches": batch}),
        **{report.name: ("GET", report.path, None) for report in report_requests(layout)},
        "rfm_recompute": ("POST", "/v1/rfm/recompute", None),
    }  # fmt: skip


async def explain(dsn: str, statement: Statement) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():  # rolled back: writes leave nothing behind
            plan = await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, *statement.params
            )
            raise _Rollback("\n".join(row[0] for row in plan))
    except _Rollback as done:
        return str(done)
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


def _fresh(body: Any) -> Any:
    """The same request with new external ids, so that it stores again."""
    if isinstance(body, dict) and "touches" in body:
        return {"touches": [_fresh(touch) for touch in body["touches"]]}
    if isinstance(body, dict) and "external_id" in body:
        return {**body, "external_id": f"{body['external_id']}-again"}
    return body


async def _once(client: Any, method: str, path: str, body: Any, headers: Any) -> tuple[int, float]:
    TRACE.statements.clear()
    started = time.perf_counter()
    content = orjson.dumps(body) if body is not None else None
    response = await client.request(method, path, content=content, headers=headers)
    return response.status_code, (time.perf_counter() - started) * 1e3


async def _show(
    name: str, request: tuple[str, str, Any], status: int, ms: float, plans: bool
) -> None:
    method, path, _ = request
    sql_ms = sum(s.ms for s in TRACE.statements)
    print(
        f"\n### {name}: {method} {path} -> {status}, {ms:.1f} ms, {len(TRACE.statements)}"
        f" statements ({sql_ms:.1f} ms waiting on them; BEGIN/COMMIT/ROLLBACK not counted)"
    )
    for n, statement in enumerate(TRACE.statements, 1):
        print(f"[{n}] {statement.ms:.2f} ms, rows={statement.rows}: {statement.sql}")
        if plans and statement.sql.lstrip().upper().startswith(EXPLAINABLE):
            plan = await explain(plain_dsn(os.environ["DATABASE_URL"]), statement)
            print("    " + plan.replace("\n", "\n    "))


EXPLAINABLE = ("SELECT", "WITH", "INSERT", "UPDATE")


async def main_async(args: argparse.Namespace) -> None:
    import httpx
    from asgi_lifespan import LifespanManager

    from app.main import create_app

    _install()
    app = create_app()
    headers = {"Authorization": f"Bearer {args.key}"}
    wanted = requests(Layout())
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name in args.names or list(wanted):
                method, path, body = wanted[name]
                await _once(client, method, path, body, headers)  # warm: caches, prepares
                body = _fresh(body)
                status, ms = await _once(client, method, path, body, headers)
                await _show(name, wanted[name], status, ms, args.explain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--key", required=True, help="an admin key of the bench tenant")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each statement")
    parser.add_argument("names", nargs="*", help="scenarios (default: all)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
