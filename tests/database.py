"""Where the tests' PostgreSQL is: TEST_DATABASE_URL, else 127.0.0.1:5432, else embedded."""

import importlib
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from app.config import to_async_url


def server_url() -> str:
    """A URL of a database on the server the tests may create their own database in."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    if _answers("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    pgserver: Any = importlib.import_module("pgserver")

    data_dir = Path(os.environ.get("TOUCHBASE_TEST_DATA_DIR", ".touchbase/test-pgdata"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return str(pgserver.get_server(data_dir, cleanup_mode=None).get_uri())


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    tail = to_async_url(url).partition("://")[2]
    authority, _, rest = tail.partition("/")
    _, _, query = rest.partition("?")
    return f"postgresql://{authority}/{name}" + (f"?{query}" if query else "")


def asyncpg_dsn(url: str) -> str:
    return "postgresql://" + to_async_url(url).partition("://")[2]


def fresh_name() -> str:
    return f"touchbase_test_{uuid.uuid4().hex[:12]}"


async def create_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
