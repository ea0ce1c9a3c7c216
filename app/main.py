"""The application factory."""

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app import auth, embedded, errors, handlers
from app import logging as app_logging
from app.analytics.lateness import lateness_judge
from app.api import MATCH_ORDER, ROUTERS
from app.browser import GZIP_LEVEL, CorsHeaders, GZip, Preflight
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.db import Database, make_engine
from app.events.delivery import Deliverer
from app.events.pruning import prune_ended
from app.frequency.refresher import Refresher, Yielding
from app.idempotency.leases import Leases
from app.idempotency.middleware import IdempotencyMiddleware
from app.load import RequestLoad
from app.locks.events import notice_expiry
from app.middleware import RequestContextMiddleware
from app.migrations import head_revision
from app.rfm.scheduler import rfm_scheduler
from app.touches.retention import retention_sweeper

DESCRIPTION = """Touchbase knows how often every customer is touched, across channels and teams.

Every `/v1` call needs `Authorization: Bearer <api key>`, except webhooks, which are signed.
Errors are RFC 9457 problem documents (`application/problem+json`)."""


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Touchbase",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
        strict_content_type=False,  # keys, not cookies, authenticate: no CSRF to guard against
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.head_revision = head_revision()
    app.state.load = RequestLoad()
    for router in MATCH_ORDER:
        app.include_router(router)
    handlers.install(app)
    _add_middleware(app, settings)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last. CORS headers go on outside the request context, so its own 413, 500 and
    503 carry them; preflights are answered inside it, so they get a request id, a log line and
    metrics. Compression runs inside the request context (its time is the request's) and outside
    idempotency, which keeps and replays the plain body."""
    origins = settings.cors_origins
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(GZip, minimum_size=1024, compresslevel=GZIP_LEVEL)
    if origins:
        app.add_middleware(Preflight, origins=origins, routes=app.routes)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        retry_after=settings.retry_after_seconds,
        load=app.state.load,
    )
    if origins:
        app.add_middleware(CorsHeaders, origins=origins)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app_logging.configure(settings.log_level)
    engine = make_engine(settings, embedded.database_url(settings))
    app.state.database = Database(engine)
    app.state.sessionmaker = app.state.database.sessions
    app.state.read_sessionmaker = app.state.database.read_sessions
    app.state.idempotency_leases = Leases(app.state.sessionmaker, app.state.clock)
    refresher = app.state.refresher = Refresher(
        app.state.database,
        app.state.clock,
        settings.refresh_batch,
        Yielding(app.state.load, settings.refresh_share),
    )
    rfm = rfm_scheduler(app.state.database, app.state.clock)
    deliverer = app.state.deliverer = Deliverer(
        app.state.database,
        app.state.clock,
        allow_private=settings.events_allow_private_urls,
        tickers=(notice_expiry, prune_ended),
    )
    if settings.refresher:
        refresher.start()
    if settings.rfm_auto_recompute:
        rfm.start()
    if settings.events_delivery:
        deliverer.start()
    retention = retention_sweeper(app.state.database, app.state.clock)
    if settings.retention:
        retention.start()
    lateness = lateness_judge(app.state.database)
    if settings.lateness:
        lateness.start()
    _settle_memory()
    try:
        yield
    finally:
        await lateness.stop()
        await retention.stop()
        await deliverer.stop()
        await rfm.stop()
        await refresher.stop()
        await app.state.idempotency_leases.stop()
        await engine.dispose()


def _settle_memory() -> None:
    """Everything made at start-up lives as long as the process: keep the garbage collector
    from walking it again and again, and let it run less often (a 1,000-touch batch makes
    many short-lived objects; collections cost it a quarter of its CPU)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in errors.PROBLEM_MODELS.items():
            schemas[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schemas[name].pop("$defs", {}))
        components = schema["components"]
        components["securitySchemes"] = {"ApiKey": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"ApiKey": []}]
        for path, method in _keyless_operations():
            schema["paths"][path][method]["security"] = []
        app.openapi_schema = schema
    return app.openapi_schema


def _keyless_operations() -> Iterator[tuple[str, str]]:
    """Operations no role guard protects (operations endpoints, signed webhooks)."""
    for route in (route for router in ROUTERS for route in router.routes):
        if isinstance(route, APIRoute) and route.include_in_schema and auth.guard_of(route) is None:
            yield from ((route.path_format, method.lower()) for method in route.methods or ())


app = create_app()
