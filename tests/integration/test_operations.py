"""Health, readiness, metrics, request ids and the API document; a database that is away."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from app import errors
from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from tests.conftest import Tenant
from tests.integration.helpers import sample

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"
TOUCH = {
    "customer_id": "c-1",
    "channel": "email",
    "occurred_at": "2026-11-20T02:00:00Z",
    "source": "crm",
}


@pytest.fixture
async def offline(clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database cannot be reached."""
    application = create_app(Settings(database_url=UNREACHABLE, pool_timeout_seconds=1), clock)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


class TestHealth:
    async def test_healthz_is_ok_without_a_key(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readyz_is_200_at_the_latest_migration(
        self, anonymous: httpx.AsyncClient, app: FastAPI
    ) -> None:
        response = await anonymous.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ok"
        assert body["schema_revision"] == body["expected_revision"] == app.state.head_revision

    async def test_readyz_is_503_when_migrations_are_pending(self, app: FastAPI) -> None:
        async with app.state.sessionmaker() as session:
            current = await session.scalar(text("SELECT version_num FROM alembic_version"))
        original = app.state.head_revision
        app.state.head_revision = "a-newer-revision"
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            ) as client:
                response = await client.get("/readyz")
        finally:
            app.state.head_revision = original
        assert response.status_code == 503, response.text
        assert response.json()["schema_revision"] == current


class TestDatabaseUnreachable:
    async def test_healthz_stays_200(self, offline: httpx.AsyncClient) -> None:
        assert (await offline.get("/healthz")).status_code == 200

    async def test_readyz_is_503(self, offline: httpx.AsyncClient) -> None:
        response = await offline.get("/readyz")
        assert response.status_code == 503, response.text
        assert response.json()["database"] == "unreachable"

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/v1/customers"),
            ("GET", "/v1/customers/c-1"),
            ("PUT", "/v1/customers/c-1"),
            ("POST", "/v1/touches"),
            ("POST", "/v1/touches/batch"),
            ("GET", "/v1/api-keys"),
        ],
    )
    async def test_v1_calls_are_503_with_retry_after(
        self, offline: httpx.AsyncClient, tenant: Tenant, method: str, path: str
    ) -> None:
        key = await tenant.key("admin")
        body = {"touches": [TOUCH]} if path.endswith("batch") else TOUCH
        response = await offline.request(
            method,
            path,
            json=body if method != "GET" else None,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503
        assert "x-request-id" in response.headers

    async def test_a_post_with_an_idempotency_key_is_503(
        self, offline: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = await tenant.key("admin")
        response = await offline.post(
            "/v1/touches",
            json=TOUCH,
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"},
        )
        assert response.status_code == 503, response.text
        assert "retry-after" in response.headers

    async def test_a_non_json_body_is_503_not_500(
        self, offline: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        key = await tenant.key("admin")
        response = await offline.post(
            "/v1/touches",
            content=b"{nope",
            headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        )
        assert response.status_code == 503, response.text

    async def test_a_malformed_key_is_still_401(self, offline: httpx.AsyncClient) -> None:
        response = await offline.get("/v1/customers", headers={"Authorization": "Bearer nope"})
        assert response.status_code in (401, 503), response.text

    async def test_metrics_and_docs_still_answer(self, offline: httpx.AsyncClient) -> None:
        assert (await offline.get("/metrics")).status_code == 200
        assert (await offline.get("/openapi.json")).status_code == 200


class TestTransientDatabaseFailures:
    async def test_a_statement_timeout_is_503_with_retry_after(self, app: FastAPI) -> None:
        async with app.state.sessionmaker() as session:
            await session.execute(text("SET LOCAL statement_timeout = 1"))
            try:
                await session.execute(text("SELECT pg_sleep(1)"))
            except Exception as exc:
                response = errors.unexpected_error_response(exc, 7)
            else:
                raise AssertionError("the statement should have timed out")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"

    async def test_a_value_postgres_refuses_is_422(self, app: FastAPI) -> None:
        async with app.state.sessionmaker() as session:
            try:
                await session.execute(text("SELECT CAST('not a number' AS integer)"))
            except Exception as exc:
                response = errors.unexpected_error_response(exc, 7)
            else:
                raise AssertionError("the cast should have failed")
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"


class TestMetrics:
    async def test_metrics_are_prometheus_text_without_a_key(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "# TYPE touchbase_http_requests_total counter" in response.text

    async def test_requests_are_counted_by_route_template(
        self, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        await admin.put("/v1/customers/c-metrics", json={})
        before = (await anonymous.get("/metrics")).text
        labels = {"method": "GET", "route": "/v1/customers/{customer_id}", "status": "200"}
        await admin.get("/v1/customers/c-metrics")
        await admin.get("/v1/customers/c-metrics")
        after = (await anonymous.get("/metrics")).text
        name = "touchbase_http_requests_total"
        assert sample(after, name, **labels) - sample(before, name, **labels) == 2
        assert 'route="/v1/customers/c-metrics"' not in after

    async def test_unknown_paths_share_one_label(self, anonymous: httpx.AsyncClient) -> None:
        await anonymous.get("/no/such/path/12345")
        after = (await anonymous.get("/metrics")).text
        assert "/no/such/path/12345" not in after
        assert sample(after, "touchbase_http_requests_total", route="unmatched", status="404") >= 1

    async def test_ingested_touches_are_counted(
        self, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        name = "touchbase_touches_ingested_total"
        labels = {"channel": "visit", "kind": "contact"}
        before = sample((await anonymous.get("/metrics")).text, name, **labels)
        await admin.post("/v1/touches", json={**TOUCH, "channel": "visit", "external_id": "m-1"})
        await admin.post("/v1/touches", json={**TOUCH, "channel": "visit", "external_id": "m-1"})
        batch = [{**TOUCH, "channel": "visit", "external_id": f"m-{i}"} for i in range(1, 4)]
        await admin.post("/v1/touches/batch", json={"touches": batch})
        text_after = (await anonymous.get("/metrics")).text
        assert f"# TYPE {name} counter" in text_after
        assert sample(text_after, name, **labels) - before == 3  # duplicates are not counted


class TestRequestId:
    async def test_every_response_carries_a_request_id(
        self, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient
    ) -> None:
        responses = [
            await anonymous.get("/healthz"),
            await anonymous.get("/v1/customers"),
            await admin.get("/v1/customers/nobody"),
            await admin.put("/v1/customers/c-1", json={"name": 5}),
            await admin.get("/v1/customers"),
        ]
        ids = [response.headers.get("x-request-id") for response in responses]
        assert all(ids), ids
        assert len(set(ids)) == len(ids)

    async def test_a_safe_incoming_request_id_is_echoed(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/healthz", headers={"X-Request-ID": "req-abc.123:x"})
        assert response.headers["x-request-id"] == "req-abc.123:x"

    @pytest.mark.parametrize("incoming", ["has space", "x" * 300, "<script>", "a\tb"])
    async def test_an_unsafe_incoming_request_id_is_replaced(
        self, anonymous: httpx.AsyncClient, incoming: str
    ) -> None:
        response = await anonymous.get("/healthz", headers={"X-Request-ID": incoming})
        assert response.headers["x-request-id"] != incoming
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response.headers["x-request-id"])

    async def test_a_replayed_response_carries_a_request_id(self, admin: httpx.AsyncClient) -> None:
        headers = {"Idempotency-Key": "rid-1"}
        await admin.post("/v1/touches", json=TOUCH, headers=headers)
        again = await admin.post(
            "/v1/touches", json=TOUCH, headers={**headers, "X-Request-ID": "retry-1"}
        )
        assert again.headers["x-request-id"] == "retry-1"

    async def test_a_413_carries_a_request_id(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", content=b"x" * (1024 * 1024 + 1), headers={"X-Request-ID": "big-1"}
        )
        assert response.status_code == 413
        assert response.headers["x-request-id"] == "big-1"


class TestApiDocument:
    async def test_openapi_json_needs_no_key(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        for path in (
            "/v1/customers/{customer_id}",
            "/v1/customers",
            "/v1/touches",
            "/v1/touches/batch",
            "/v1/touches/{touch_id}",
            "/v1/customers/{customer_id}/touches",
            "/v1/api-keys",
            "/v1/api-keys/{key_id}",
        ):
            assert path in document["paths"], path
        assert "Problem" in document["components"]["schemas"]

    async def test_docs_need_no_key(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/docs")
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]

    async def test_an_unknown_path_is_a_404_problem(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_a_wrong_method_is_a_405_problem(self, admin: httpx.AsyncClient) -> None:
        response = await admin.delete("/v1/customers")
        assert response.status_code == 405
        assert response.headers["content-type"].startswith("application/problem+json")
