"""Browsers (contract 1.1): CORS for the listed origins only, and gzip for bodies of 1 KiB on."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from tests.conftest import Tenant
from tests.integration.helpers import assert_problem, rule

ORIGIN = "https://app.example.com"
OTHER = "https://evil.example.com"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSE_HEADERS = "X-Request-ID, Idempotent-Replayed, Retry-After"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"
PLAIN = {"Accept-Encoding": "identity"}


def browser_app(database_url: str, clock: FixedClock, **settings: Any) -> FastAPI:
    """An app for browsers at ORIGIN and a local dev server, with a route that fails."""
    origins = f"{ORIGIN}/, http://localhost:5173"
    application = create_app(
        Settings(database_url=database_url, pool_size=2, cors_origins=origins, **settings), clock
    )

    async def boom() -> None:
        raise RuntimeError("a bug")

    application.add_api_route("/boom", boom, methods=["GET"])
    return application


@pytest.fixture(scope="module")
async def cors_app(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    application = browser_app(database_url, clock)
    async with LifespanManager(application):
        yield application


def client_of(application: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


@pytest.fixture
async def browser(cors_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(cors_app) as client:
        yield client


@pytest.fixture
async def browser_admin(cors_app: FastAPI, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(cors_app, await tenant.key("admin")) as client:
        yield client


def preflight(method: str = "GET", origin: str = ORIGIN) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def assert_cors(response: httpx.Response) -> None:
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert response.headers["access-control-expose-headers"] == EXPOSE_HEADERS
    assert "access-control-allow-credentials" not in response.headers
    assert "x-request-id" in response.headers


def assert_no_cors(response: httpx.Response) -> None:
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert "Origin" not in response.headers.get("vary", "")


class TestPreflight:
    @pytest.mark.parametrize(
        ("path", "methods"),
        [
            ("/v1/customers/c-1/status", "GET"),
            ("/v1/policy", "GET, PUT"),
            ("/v1/touches", "POST"),
            ("/v1/customers/c-1", "GET, PUT, PATCH, DELETE"),
            ("/v1/locks/l-1", "GET, DELETE"),
        ],
    )
    async def test_a_listed_origin_gets_204_without_a_key(
        self, browser: httpx.AsyncClient, path: str, methods: str
    ) -> None:
        response = await browser.options(path, headers=preflight("PUT"))
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_cors(response)
        assert response.headers["access-control-allow-methods"] == methods
        assert response.headers["access-control-allow-headers"] == ALLOW_HEADERS
        assert int(response.headers["access-control-max-age"]) > 0

    async def test_a_path_two_templates_serve_allows_the_methods_of_both(
        self, browser: httpx.AsyncClient
    ) -> None:
        """GET /v1/touches/batch is served, by /v1/touches/{touch_id}."""
        response = await browser.options("/v1/touches/batch", headers=preflight("POST"))
        assert response.status_code == 204
        assert response.headers["access-control-allow-methods"] == "GET, POST"

    async def test_an_unknown_path_is_answered_as_without_cors(
        self, browser: httpx.AsyncClient
    ) -> None:
        response = await browser.options("/v1/nothing-here", headers=preflight())
        assert_problem(response, 404)
        assert_cors(response)
        assert "access-control-allow-methods" not in response.headers

    @pytest.mark.parametrize("origin", [OTHER, f"{ORIGIN}.evil.test", "http://app.example.com"])
    async def test_an_unlisted_origin_gets_the_405_of_old(
        self, browser: httpx.AsyncClient, origin: str
    ) -> None:
        response = await browser.options("/v1/policy", headers=preflight(origin=origin))
        assert_problem(response, 405)
        assert_no_cors(response)

    async def test_an_options_without_a_requested_method_is_no_preflight(
        self, browser: httpx.AsyncClient
    ) -> None:
        response = await browser.options("/v1/policy", headers={"Origin": ORIGIN})
        assert_problem(response, 405)
        assert_cors(response)

    async def test_every_listed_origin_is_answered(self, browser: httpx.AsyncClient) -> None:
        origin = "http://localhost:5173"
        response = await browser.options("/v1/policy", headers=preflight(origin=origin))
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == origin


class TestActualResponses:
    async def test_a_read_exposes_the_headers_a_client_needs(
        self, browser_admin: httpx.AsyncClient
    ) -> None:
        response = await browser_admin.get("/v1/policy", headers={"Origin": ORIGIN})
        assert response.status_code == 200, response.text
        assert_cors(response)

    async def test_a_401_carries_cors(self, browser: httpx.AsyncClient) -> None:
        response = await browser.get("/v1/policy", headers={"Origin": ORIGIN})
        assert_problem(response, 401)
        assert_cors(response)

    async def test_a_404_problem_carries_cors(self, browser_admin: httpx.AsyncClient) -> None:
        response = await browser_admin.get("/v1/customers/nobody", headers={"Origin": ORIGIN})
        assert_problem(response, 404)
        assert_cors(response)

    async def test_the_request_contexts_413_carries_cors(
        self, browser_admin: httpx.AsyncClient
    ) -> None:
        response = await browser_admin.post(
            "/v1/touches", content=b"x" * (1024 * 1024 + 1), headers={"Origin": ORIGIN}
        )
        assert_problem(response, 413)
        assert_cors(response)

    async def test_the_request_contexts_500_carries_cors(self, browser: httpx.AsyncClient) -> None:
        response = await browser.get("/boom", headers={"Origin": ORIGIN})
        assert_problem(response, 500)
        assert_cors(response)

    async def test_a_503_while_the_database_is_away_carries_cors(
        self, clock: FixedClock, tenant: Tenant
    ) -> None:
        key = await tenant.key("admin")
        offline = browser_app(UNREACHABLE, clock, pool_timeout_seconds=1)
        async with LifespanManager(offline), client_of(offline, key) as client:
            response = await client.get("/v1/policy", headers={"Origin": ORIGIN})
        assert_problem(response, 503)
        assert_cors(response)
        assert "retry-after" in response.headers

    async def test_a_replay_carries_cors(self, browser_admin: httpx.AsyncClient) -> None:
        headers = {"Origin": ORIGIN, "Idempotency-Key": uuid.uuid4().hex}
        body = {"name": f"s{uuid.uuid4().hex[:10]}", "kind": "generic"}
        first = await browser_admin.post("/v1/sources", json=body, headers=headers)
        again = await browser_admin.post("/v1/sources", json=body, headers=headers)
        assert first.status_code == again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert_cors(again)

    @pytest.mark.parametrize("origin", [OTHER, "null", ""])
    async def test_an_unlisted_origin_gets_none(
        self, browser_admin: httpx.AsyncClient, origin: str
    ) -> None:
        response = await browser_admin.get("/v1/policy", headers={"Origin": origin})
        assert response.status_code == 200
        assert_no_cors(response)

    async def test_no_origin_gets_none(self, browser_admin: httpx.AsyncClient) -> None:
        response = await browser_admin.get("/v1/policy")
        assert response.status_code == 200
        assert_no_cors(response)


class TestWithoutTheSetting:
    async def test_no_access_control_headers(self, admin: httpx.AsyncClient) -> None:
        response = await admin.get("/v1/policy", headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert_no_cors(response)

    async def test_a_preflight_is_405_as_before(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.options("/v1/policy", headers=preflight())
        assert_problem(response, 405)
        assert_no_cors(response)


class TestCompression:
    async def test_a_large_body_is_gzipped_when_asked(self, anonymous: httpx.AsyncClient) -> None:
        plain = await anonymous.get("/openapi.json", headers=PLAIN)
        packed = await anonymous.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in packed.headers["vary"]
        assert int(packed.headers["content-length"]) < len(plain.content) / 4
        assert packed.json() == plain.json()

    @pytest.mark.parametrize("accept", ["identity", "br", "gzip;q=0", "gzip;q=0, *", "*;q=0"])
    async def test_not_when_not_asked(self, anonymous: httpx.AsyncClient, accept: str) -> None:
        response = await anonymous.get("/openapi.json", headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(response.content) > 90_000

    async def test_not_for_a_small_body(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/healthz", headers={"Accept-Encoding": "gzip"})
        assert response.json() == {"status": "ok"}
        assert "content-encoding" not in response.headers

    async def test_a_large_problem_is_gzipped(self, admin: httpx.AsyncClient) -> None:
        bad = {"rules": [{"name": f"r{n}", "match": {}} for n in range(20)] + [rule()]}
        response = await admin.put("/v1/policy", json=bad, headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert len(assert_problem(response, 422)["errors"]) >= 20

    async def test_a_replay_of_a_large_answer_is_gzipped_like_the_first(
        self, admin: httpx.AsyncClient
    ) -> None:
        touches = [
            {"customer_id": "c-1", "channel": "email", "occurred_at": "2026-11-19T02:00:00Z",
             "source": "crm", "external_id": uuid.uuid4().hex}
            for _ in range(20)
        ]  # fmt: skip
        headers = {"Accept-Encoding": "gzip", "Idempotency-Key": uuid.uuid4().hex}
        first = await admin.post("/v1/touches/batch", json={"touches": touches}, headers=headers)
        again = await admin.post("/v1/touches/batch", json={"touches": touches}, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        assert first.headers["content-encoding"] == again.headers["content-encoding"] == "gzip"
        assert again.json() == first.json()
        assert again.json()["created"] == 20

    async def test_a_plain_replay_of_a_gzipped_answer_is_plain(
        self, admin: httpx.AsyncClient
    ) -> None:
        """What idempotency keeps is the plain body, whatever the first client accepted."""
        touches = [
            {"customer_id": "c-1", "channel": "sms", "occurred_at": "2026-11-19T02:00:00Z",
             "source": "crm", "external_id": uuid.uuid4().hex}
            for _ in range(20)
        ]  # fmt: skip
        key = uuid.uuid4().hex
        await admin.post(
            "/v1/touches/batch",
            json={"touches": touches},
            headers={"Accept-Encoding": "gzip", "Idempotency-Key": key},
        )
        again = await admin.post(
            "/v1/touches/batch",
            json={"touches": touches},
            headers={**PLAIN, "Idempotency-Key": key},
        )
        assert "content-encoding" not in again.headers
        assert orjson.loads(again.content)["created"] == 20
