"""Fixtures: one fresh database per run, built by the real migrations; one tenant per test."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app import migrations
from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from tests import database

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = database.server_url()
    name = database.fresh_name()
    asyncio.run(database.create_database(server, name))
    url = database.with_database(server, name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(database.drop_database(server, name))


@pytest.fixture(scope="session")
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def _reset_clock(clock: FixedClock) -> None:
    clock.set(NOW)


@pytest.fixture(scope="session")
async def app(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    # RFM snapshots are recomputed, events delivered and follow-ups judged when a test says
    # so (its clock, not a poll); event endpoints may be the test's own receiver on 127.0.0.1
    settings = Settings(
        database_url=database_url,
        pool_size=20,
        rfm_auto_recompute=False,
        events_delivery=False,
        lateness=False,
        events_allow_private_urls=True,
    )
    application = create_app(settings, clock)
    async with LifespanManager(application):
        yield application


def _client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, None) as client:
        yield client


class Tenant:
    """A fresh tenant for one test, with a key per role on demand."""

    def __init__(self, app: FastAPI, name: str) -> None:
        self.app = app
        self.name = name
        self.keys: dict[str, str] = {}
        self._clients: list[httpx.AsyncClient] = []

    async def key(self, role: str, partner_id: str | None = None) -> str:
        from app.tenants import service
        from app.tenants.schemas import ApiKeyCreate, Role

        label = f"{role}:{partner_id}"
        if label not in self.keys:
            async with self.app.state.sessionmaker() as session:
                created = await service.create_key_for_tenant_name(
                    session,
                    self.name,
                    ApiKeyCreate(role=Role(role), partner_id=partner_id),
                    self.app.state.clock.now(),
                )
            self.keys[label] = created.key
        return self.keys[label]

    async def client(self, role: str = "admin", partner_id: str | None = None) -> httpx.AsyncClient:
        client = _client(self.app, await self.key(role, partner_id))
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def tenant(app: FastAPI) -> AsyncIterator[Tenant]:
    created = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
    yield created
    await created.close()


@pytest.fixture
async def other_tenant(app: FastAPI, unique: Callable[[str], str]) -> AsyncIterator[Tenant]:
    other = Tenant(app, unique("t"))
    yield other
    await other.close()


@pytest.fixture
async def admin(tenant: Tenant) -> httpx.AsyncClient:
    return await tenant.client("admin")


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"
