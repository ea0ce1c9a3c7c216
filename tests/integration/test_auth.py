"""Authentication and authorisation of every /v1 endpoint, and the api-keys endpoints."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant
from tests.integration.helpers import assert_full_problem

TOUCH = {
    "customer_id": "c-1",
    "channel": "email",
    "occurred_at": "2026-11-20T09:30:00+08:00",
    "source": "crm-main",
    "external_id": "evt-1",
}
ROLES = ("admin", "ingest", "read", "partner")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    roles: frozenset[str]
    body: Any = None
    invalid_body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")


ADMIN = frozenset({"admin"})
WRITERS = frozenset({"admin", "ingest"})
READERS = frozenset({"admin", "ingest", "read"})
ENDPOINTS = (
    Endpoint("POST", "/v1/api-keys", ADMIN, {"role": "read"}, {"role": "superuser"}),
    Endpoint("GET", "/v1/api-keys", ADMIN),
    Endpoint("DELETE", f"/v1/api-keys/{uuid.uuid4()}", ADMIN),
    Endpoint("PUT", "/v1/customers/c-1", WRITERS, {"name": "Acme"}, {"name": 5, "bogus": 1}),
    Endpoint("PATCH", "/v1/customers/c-1", WRITERS, {"name": "Acme"}, ["not", "an", "object"]),
    Endpoint("GET", "/v1/customers/c-1", READERS),
    Endpoint("GET", "/v1/customers", READERS),
    Endpoint("POST", "/v1/touches", WRITERS, TOUCH, {"channel": 5}),
    Endpoint("POST", "/v1/touches/batch", WRITERS, {"touches": [TOUCH]}, {"touches": []}),
    Endpoint("GET", f"/v1/touches/{uuid.uuid4()}", READERS),
    Endpoint("GET", "/v1/customers/c-1/touches", READERS),
)
WRITE_ENDPOINTS = tuple(e for e in ENDPOINTS if e.writes)
DENIED = [(e, role) for e in ENDPOINTS for role in ROLES if role not in e.roles]
ALLOWED = [(e, role) for e in ENDPOINTS for role in ROLES if role in e.roles]
DENIED_WRITES = [(e, role) for e, role in DENIED if e.writes]


async def call(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    *,
    body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if content is not None:
        return await client.request(
            endpoint.method,
            endpoint.path,
            content=content,
            headers={"content-type": "application/json", **(headers or {})},
        )
    payload = body if body is not None else endpoint.body
    if payload is None:
        return await client.request(endpoint.method, endpoint.path, headers=headers)
    return await client.request(endpoint.method, endpoint.path, json=payload, headers=headers)


async def client_for(tenant: Tenant, role: str) -> httpx.AsyncClient:
    return await tenant.client(role, partner_id="dist-1" if role == "partner" else None)


def assert_typed_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """A full problem document whose title and type are strings and whose errors are a list."""
    body = assert_full_problem(response, status)
    assert isinstance(body["title"], str)
    assert isinstance(body["type"], str)
    assert isinstance(body["errors"], list)
    return body


class TestMissingKey:
    @pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
    async def test_a_request_without_a_key_is_401(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        response = await call(anonymous, endpoint)
        assert_typed_problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer")

    async def test_an_empty_bearer_token_is_401(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/v1/customers", headers={"Authorization": "Bearer "})
        assert_typed_problem(response, 401)

    async def test_a_basic_authorization_header_is_401(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/v1/customers", headers={"Authorization": "Basic YTpi"})
        assert_typed_problem(response, 401)


MALFORMED_KEYS = (
    "nonsense",
    "tb_",
    "tb_zzzz_secret",
    "tb_" + "0" * 32,
    "tb_" + uuid.uuid4().hex + "_not-a-real-secret",
    "tb_" + "x" * 5000,
)


class TestUnknownKey:
    @pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
    async def test_an_unknown_key_is_401_on_every_endpoint(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        key = "tb_" + uuid.uuid4().hex + "_unknown"
        response = await call(anonymous, endpoint, headers={"Authorization": f"Bearer {key}"})
        assert_typed_problem(response, 401)

    @pytest.mark.parametrize("key", MALFORMED_KEYS)
    async def test_a_malformed_key_is_401(self, anonymous: httpx.AsyncClient, key: str) -> None:
        response = await anonymous.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
        assert_typed_problem(response, 401)

    async def test_a_real_key_with_its_secret_altered_is_401(
        self, tenant: Tenant, anonymous: httpx.AsyncClient
    ) -> None:
        key = await tenant.key("admin")
        altered = key[:-1] + ("A" if key[-1] != "A" else "B")
        response = await anonymous.get(
            "/v1/customers", headers={"Authorization": f"Bearer {altered}"}
        )
        assert_typed_problem(response, 401)


class TestRevokedKey:
    @pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
    async def test_a_revoked_key_is_401_at_once(
        self,
        tenant: Tenant,
        admin: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        endpoint: Endpoint,
    ) -> None:
        created = await admin.post("/v1/api-keys", json={"role": "admin"})
        assert created.status_code == 201, created.text
        headers = {"Authorization": f"Bearer {created.json()['key']}"}
        before = await anonymous.get("/v1/customers", headers=headers)
        assert before.status_code == 200, before.text
        revoked = await admin.delete(f"/v1/api-keys/{created.json()['id']}")
        assert revoked.status_code == 204, revoked.text
        assert revoked.content == b""
        response = await call(anonymous, endpoint, headers=headers)
        assert_typed_problem(response, 401)

    async def test_a_key_may_revoke_itself_and_then_fails(
        self, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "admin"})).json()
        headers = {"Authorization": f"Bearer {created['key']}"}
        gone = await anonymous.delete(f"/v1/api-keys/{created['id']}", headers=headers)
        assert gone.status_code == 204, gone.text
        assert_typed_problem(await anonymous.get("/v1/api-keys", headers=headers), 401)

    async def test_revoking_twice_is_idempotent(self, admin: httpx.AsyncClient) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "read"})).json()
        assert (await admin.delete(f"/v1/api-keys/{created['id']}")).status_code == 204
        assert (await admin.delete(f"/v1/api-keys/{created['id']}")).status_code == 204


class TestRoleTable:
    @pytest.mark.parametrize(("endpoint", "role"), DENIED, ids=str)
    async def test_a_role_not_allowed_is_403(
        self, tenant: Tenant, endpoint: Endpoint, role: str
    ) -> None:
        client = await client_for(tenant, role)
        assert_typed_problem(await call(client, endpoint), 403)

    @pytest.mark.parametrize(("endpoint", "role"), ALLOWED, ids=str)
    async def test_an_allowed_role_gets_past_the_guard(
        self, tenant: Tenant, endpoint: Endpoint, role: str
    ) -> None:
        client = await client_for(tenant, role)
        response = await call(client, endpoint)
        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 500, response.text


class TestAuthBeforeBody:
    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=str)
    async def test_an_invalid_body_without_a_key_is_still_401(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        assert_typed_problem(await call(anonymous, endpoint, body=endpoint.invalid_body), 401)

    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=str)
    async def test_a_non_json_body_with_a_bad_key_is_still_401(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        headers = {"Authorization": "Bearer tb_" + uuid.uuid4().hex + "_x"}
        response = await call(anonymous, endpoint, content=b"{not json", headers=headers)
        assert_typed_problem(response, 401)

    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=str)
    async def test_a_body_that_is_not_utf8_without_a_key_is_still_401(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        response = await call(anonymous, endpoint, content=b"\xff\xfe\x00{\x81")
        assert_typed_problem(response, 401)

    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=str)
    async def test_a_body_nested_too_deep_to_parse_without_a_key_is_still_401(
        self, anonymous: httpx.AsyncClient, endpoint: Endpoint
    ) -> None:
        content = b"[" * 100_000 + b"]" * 100_000
        assert_typed_problem(await call(anonymous, endpoint, content=content), 401)

    @pytest.mark.parametrize(("endpoint", "role"), DENIED_WRITES, ids=str)
    async def test_an_invalid_body_with_a_role_not_allowed_is_still_403(
        self, tenant: Tenant, endpoint: Endpoint, role: str
    ) -> None:
        client = await client_for(tenant, role)
        assert_typed_problem(await call(client, endpoint, body=endpoint.invalid_body), 403)

    @pytest.mark.parametrize(("endpoint", "role"), DENIED_WRITES, ids=str)
    async def test_a_non_json_body_with_a_role_not_allowed_is_still_403(
        self, tenant: Tenant, endpoint: Endpoint, role: str
    ) -> None:
        client = await client_for(tenant, role)
        assert_typed_problem(await call(client, endpoint, content=b"\x00garbage"), 403)

    async def test_invalid_query_parameters_without_a_key_are_401(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/v1/customers", params={"limit": 0, "cursor": "!!"})
        assert_typed_problem(response, 401)

    async def test_an_invalid_path_id_without_a_key_is_401(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        assert_typed_problem(await anonymous.get("/v1/customers/bad%20id"), 401)
        assert_typed_problem(await anonymous.get("/v1/touches/not-a-uuid"), 401)
        assert_typed_problem(await anonymous.delete("/v1/api-keys/not-a-uuid"), 401)

    async def test_an_invalid_body_with_a_valid_key_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.put("/v1/customers/c-1", json={"name": 5})
        body = assert_typed_problem(response, 422)
        assert ["body", "name"] in [error["loc"] for error in body["errors"]]


class TestCreateApiKey:
    async def test_created_key_has_exactly_the_contract_fields(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.post("/v1/api-keys", json={"role": "ingest", "name": "CRM sync"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "key", "role", "partner_id", "name", "created_at"}
        assert body["role"] == "ingest"
        assert body["partner_id"] is None
        assert body["name"] == "CRM sync"
        assert body["created_at"] == "2026-11-20T03:00:00Z"
        assert isinstance(body["key"], str)
        assert len(body["key"]) >= 32
        uuid.UUID(body["id"])

    async def test_name_is_optional_and_null_when_absent(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/api-keys", json={"role": "read"})
        assert response.status_code == 201, response.text
        assert response.json()["name"] is None

    async def test_the_new_key_works_with_its_role(
        self, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        key = (await admin.post("/v1/api-keys", json={"role": "read"})).json()["key"]
        headers = {"Authorization": f"Bearer {key}"}
        assert (await anonymous.get("/v1/customers", headers=headers)).status_code == 200
        denied = await anonymous.put("/v1/customers/c-1", json={}, headers=headers)
        assert_typed_problem(denied, 403)

    async def test_a_partner_key_carries_its_partner_id(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/api-keys", json={"role": "partner", "partner_id": "dist-42", "name": "Portal"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["partner_id"] == "dist-42"
        assert response.json()["role"] == "partner"

    async def test_the_partner_role_requires_a_partner_id(self, admin: httpx.AsyncClient) -> None:
        assert_typed_problem(await admin.post("/v1/api-keys", json={"role": "partner"}), 422)

    async def test_a_partner_id_for_another_role_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/api-keys", json={"role": "read", "partner_id": "dist-1"})
        assert_typed_problem(response, 422)

    async def test_an_unknown_role_is_422_naming_role(self, admin: httpx.AsyncClient) -> None:
        body = assert_typed_problem(await admin.post("/v1/api-keys", json={"role": "root"}), 422)
        assert ["body", "role"] in [error["loc"] for error in body["errors"]]

    async def test_a_bad_partner_id_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/api-keys", json={"role": "partner", "partner_id": "has space"}
        )
        body = assert_typed_problem(response, 422)
        assert ["body", "partner_id"] in [error["loc"] for error in body["errors"]]

    async def test_unknown_fields_are_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/api-keys", json={"role": "read", "tenant": "other"})
        body = assert_typed_problem(response, 422)
        assert ["body", "tenant"] in [error["loc"] for error in body["errors"]]

    async def test_a_key_is_created_in_the_callers_tenant(
        self, tenant: Tenant, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        await admin.put("/v1/customers/c-mine", json={"name": "Mine"})
        key = (await admin.post("/v1/api-keys", json={"role": "read"})).json()["key"]
        seen = await anonymous.get(
            "/v1/customers/c-mine", headers={"Authorization": f"Bearer {key}"}
        )
        assert seen.status_code == 200, seen.text


class TestListApiKeys:
    async def test_keys_are_listed_without_secrets(self, admin: httpx.AsyncClient) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "read", "name": "r"})).json()
        response = await admin.get("/v1/api-keys")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        listed = {item["id"]: item for item in body["items"]}
        assert created["id"] in listed
        item = listed[created["id"]]
        assert item["role"] == "read"
        assert item["name"] == "r"
        assert item["partner_id"] is None
        assert item["created_at"] == "2026-11-20T03:00:00Z"
        for entry in body["items"]:
            assert "key" not in entry
            assert "key_hash" not in entry
            assert created["key"] not in response.text

    async def test_revoked_keys_are_listed_as_revoked(self, admin: httpx.AsyncClient) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "read"})).json()
        await admin.delete(f"/v1/api-keys/{created['id']}")
        listed = {item["id"]: item for item in (await admin.get("/v1/api-keys")).json()["items"]}
        assert listed[created["id"]]["revoked_at"] == "2026-11-20T03:00:00Z"

    async def test_keys_are_paged_with_a_cursor(self, admin: httpx.AsyncClient) -> None:
        for _ in range(3):
            await admin.post("/v1/api-keys", json={"role": "read"})
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = (await admin.get("/v1/api-keys", params=params)).json()
            assert len(page["items"]) <= 1
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 4  # the fixture's admin key and three more

    async def test_a_garbage_cursor_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_typed_problem(await admin.get("/v1/api-keys", params={"cursor": "garbage"}), 422)


class TestKeyTenantIsolation:
    async def test_another_tenant_does_not_see_these_keys(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "read"})).json()
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            their_admin = await other.client("admin")
            listed = (await their_admin.get("/v1/api-keys")).json()["items"]
            assert created["id"] not in [item["id"] for item in listed]
            assert len(listed) == 1
        finally:
            await other.close()

    async def test_another_tenant_cannot_revoke_this_tenants_key(
        self, app: FastAPI, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        created = (await admin.post("/v1/api-keys", json={"role": "read"})).json()
        other = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
        try:
            their_admin = await other.client("admin")
            assert_typed_problem(await their_admin.delete(f"/v1/api-keys/{created['id']}"), 404)
        finally:
            await other.close()
        still = await anonymous.get(
            "/v1/customers", headers={"Authorization": f"Bearer {created['key']}"}
        )
        assert still.status_code == 200, still.text

    async def test_revoking_an_unknown_key_is_404(self, admin: httpx.AsyncClient) -> None:
        assert_typed_problem(await admin.delete(f"/v1/api-keys/{uuid.uuid4()}"), 404)

    async def test_revoking_with_a_garbage_id_is_422(self, admin: httpx.AsyncClient) -> None:
        assert_typed_problem(await admin.delete("/v1/api-keys/not-a-uuid"), 422)
