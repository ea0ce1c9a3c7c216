"""The benchmark's own database: created fresh on the configured server, dropped at the end."""

import asyncio
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.seed import plain_dsn

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """BENCH_DATABASE_URL, else DATABASE_URL, else the local server on 127.0.0.1:5432."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL


def with_database(url: str, name: str) -> str:
    parts = urlsplit(plain_dsn(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _execute(dsn: str, sql: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _start_local_server() -> None:
    """Start the machine's PostgreSQL clusters if they are down (as .ci/run does)."""
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        return
    for version in sorted(p.name for p in Path("/etc/postgresql").iterdir()):
        print(f"starting PostgreSQL {version} (main)", flush=True)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )
    for _ in range(30):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
            return
        time.sleep(1)


def reachable(url: str) -> str:
    """The server's version; starts a local server that is down."""
    dsn = plain_dsn(url)
    try:
        return asyncio.run(_execute(dsn, "SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        host = urlsplit(dsn).hostname or ""
        if host not in ("127.0.0.1", "localhost", ""):
            raise RuntimeError(f"cannot reach PostgreSQL at {host}: {exc}") from exc
        _start_local_server()
        return asyncio.run(_execute(dsn, "SELECT 1"))


@contextmanager
def fresh_database(url: str, keep: bool = False) -> Iterator[str]:
    """A new database ``touchbase_bench_<random>``; dropped afterwards, also on failure."""
    name = f"touchbase_bench_{secrets.token_hex(4)}"
    admin = plain_dsn(url)
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    print(f"created database {name}", flush=True)
    try:
        yield with_database(url, name)
    finally:
        if keep:
            print(f"kept database {name} (--keep-db): {with_database(url, name)}", flush=True)
        else:
            asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped database {name}", flush=True)
