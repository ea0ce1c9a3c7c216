"""Database plumbing: the declarative base, the engine and the per-request session."""

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.config import Settings, to_async_url
from app.errors import is_database_unavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(settings: Settings, url: str) -> AsyncEngine:
    return create_async_engine(
        to_async_url(url),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_recycle=1800,
        json_deserializer=orjson.loads,
        connect_args={
            "timeout": settings.pool_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "touchbase",
            },
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class Database:
    """The engine and its session makers, for code that picks its own way in: a hot route
    runs one statement on a pooled connection's driver, skipping SQLAlchemy's layers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # held by whoever refreshes stored verdicts in this process (see app.frequency)
        self.refreshing = asyncio.Lock()
        self.sessions = make_sessionmaker(engine)
        self.read_sessions = make_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """A pooled connection's asyncpg connection, outside any transaction, so each
        statement commits by itself (asyncpg prepares each statement once per connection);
        one the database dropped is not handed out again."""
        async with self.engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            try:
                yield raw
            except Exception as exc:
                if is_database_unavailable(exc):
                    await connection.invalidate()
                raise
            if raw is not None and raw.is_closed():  # lost while held (a listener's)
                await connection.invalidate()


@asynccontextmanager
async def generic_plans(driver: Any) -> AsyncIterator[None]:
    """A transaction on the driver's connection whose prepared statements run their generic
    plans. PostgreSQL plans a statement anew at every execution while its generic plan looks
    costlier than the custom ones; for a statement of many parts (the touch ingest) that
    planning costs more than running it (2.5 ms of a single touch's 3). ``SET LOCAL`` ends
    with the transaction, so no other use of the pooled connection inherits it."""
    async with driver.transaction():
        await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        yield


@dataclass(frozen=True, slots=True)
class Positional:
    """A statement written with named parameters (``:name``), in the driver's $n form."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, named: str) -> "Positional":
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return cls(NAMED_PARAMETER.sub(number, named), tuple(names))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


NAMED_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")

Fetch = Callable[..., Awaitable[Sequence[Mapping[Any, Any]]]]
"""Run one statement (PostgreSQL's $n parameters) and answer its rows: an asyncpg
connection's ``fetch``, or ``driver_fetch`` of a session."""


def erase_customer_rows(table: str) -> str:
    """The ``DELETE`` of one customer's rows of a table: $1 the tenant, $2 the customer."""
    return f"DELETE FROM {table} WHERE tenant_id = $1 AND customer_id = $2"


async def driver_fetch(session: AsyncSession) -> Fetch:
    """Statements in $n form, run in the session's transaction (begun if it was not)."""
    connection = await session.connection()

    async def fetch(sql: str, *args: Any) -> Sequence[Mapping[Any, Any]]:
        result = await connection.exec_driver_sql(sql, args)
        return result.mappings().all() if result.returns_rows else []

    return fetch


async def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


DatabaseDep = Annotated[Database, Depends(database)]


READ_ONLY_ROUTES: set[Callable[..., Any]] = set()
F = TypeVar("F", bound=Callable[..., Any])


def read_only(endpoint: F) -> F:
    """Mark a route that never writes: its session (the key's lookup too) is an autocommit one."""
    READ_ONLY_ROUTES.add(endpoint)
    return endpoint


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; leaving it rolls back whatever a use case did not commit."""
    route = request.scope.get("route")
    reads_only = getattr(route, "endpoint", None) in READ_ONLY_ROUTES
    state = request.app.state
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if reads_only else state.sessionmaker
    )
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
