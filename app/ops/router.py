"""Liveness, readiness and metrics: no key needed."""

import os

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel
from sqlalchemy import text

from app.errors import is_database_unavailable, responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str

    model_config = {"json_schema_extra": {"examples": [{"status": "ok"}]}}


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "status": "ok",
                    "database": "ok",
                    "schema_revision": "91003bcf6359",
                    "expected_revision": "91003bcf6359",
                }
            ]
        }
    }


@router.get("/healthz", summary="Is the process alive")
async def healthz() -> Health:
    """Always ok while the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Can the service do its work",
    responses={503: {"model": Readiness, "description": "Database unreachable or behind"}},
)
async def readyz(request: Request, response: Response) -> Readiness:
    """Ready when the database answers and its schema is at the latest migration."""
    expected = request.app.state.head_revision
    try:
        async with request.app.state.sessionmaker() as session:
            current = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:
        if not is_database_unavailable(exc):
            current = None
        else:
            response.status_code = 503
            return Readiness(
                status="unavailable",
                database="unreachable",
                schema_revision=None,
                expected_revision=expected,
            )
    ready = current == expected
    response.status_code = 200 if ready else 503
    return Readiness(
        status="ok" if ready else "migrations pending",
        database="ok",
        schema_revision=current,
        expected_revision=expected,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition format"},
        **responses(),
    },
)
async def metrics() -> Response:
    """Request counts and latency by route and status; touches ingested by channel and kind."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    """This process's metrics, or every worker's when ``serve --workers`` shares a directory."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
