"""Security probes: who may call what. No key, a revoked key, another tenant, a partner key."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import NOW, Tenant
from tests.reliability.document import Operation, labelled, operations

OPERATIONS = operations()

# The contract's role table: a partner has no business with these (403).
PARTNER_FORBIDDEN = {
    # api keys, sources, policy writes, plan approval, audit
    "GET /v1/api-keys", "POST /v1/api-keys", "DELETE /v1/api-keys/{key_id}",
    "GET /v1/sources", "POST /v1/sources",
    "PUT /v1/policy",
    "POST /v1/contact-plans/{plan_id}/approve", "POST /v1/contact-plans/{plan_id}/reject",
    "GET /v1/audit",
    # customers and touches, read and write
    "GET /v1/customers", "GET /v1/customers/{customer_id}", "PUT /v1/customers/{customer_id}",
    "PATCH /v1/customers/{customer_id}", "DELETE /v1/customers/{customer_id}",
    "POST /v1/customers/batch",
    "GET /v1/customers/{customer_id}/touches", "POST /v1/touches", "POST /v1/touches/batch",
    "GET /v1/touches/{touch_id}",
    # status, follow-ups, statuses, policy read
    "GET /v1/customers/{customer_id}/status", "GET /v1/customers/{customer_id}/next-follow-up",
    "GET /v1/follow-ups", "GET /v1/statuses", "POST /v1/statuses/lookup", "GET /v1/policy",
    "GET /v1/policy/versions",
    # [1.1] analytics and RFM
    "GET /v1/analytics/contacts", "GET /v1/analytics/touch-outcomes",
    "GET /v1/analytics/compliance", "GET /v1/customers/{customer_id}/rfm", "GET /v1/rfm",
    "GET /v1/rfm/summary", "POST /v1/rfm/recompute",
    # [1.1] outbound events
    "POST /v1/event-endpoints", "GET /v1/event-endpoints", "GET /v1/event-endpoints/{endpoint_id}",
    "PATCH /v1/event-endpoints/{endpoint_id}", "DELETE /v1/event-endpoints/{endpoint_id}",
    "GET /v1/event-endpoints/{endpoint_id}/deliveries",
    "POST /v1/event-endpoints/{endpoint_id}/replay",
}  # fmt: skip
# Conflict checks, filing and reading its own plans, and locks: a partner's business.
PARTNER_ALLOWED = {
    "POST /v1/conflict-checks", "POST /v1/contact-plans", "GET /v1/contact-plans",
    "GET /v1/contact-plans/{plan_id}", "POST /v1/locks", "GET /v1/locks",
    "GET /v1/locks/{lock_id}", "POST /v1/locks/{lock_id}/renew", "DELETE /v1/locks/{lock_id}",
    "GET /v1/customers/{customer_id}/locks",
}  # fmt: skip
PROBLEM_JSON = "application/problem+json"


def by_label(labels: set[str]) -> list[Operation]:
    return [op for op in OPERATIONS if op.label in labels]


async def send(client: httpx.AsyncClient, op: Operation) -> httpx.Response:
    """The operation with an empty JSON object as its body: keys are judged before bodies."""
    if op.has_body:
        return await client.request(op.method, op.path, json={})
    return await client.request(op.method, op.path)


def client_for(app: FastAPI, authorization: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": authorization} if authorization else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


def assert_problem(response: httpx.Response, status: int, op: Operation) -> None:
    assert response.status_code == status, f"{op.label}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), op.label


class TestWithoutAValidKey:
    @pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.label)
    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer", "Bearer tb_not-a-key", "Basic dXNlcjpwYXNz", "bearer  "],
        ids=["no-header", "no-token", "unknown-key", "basic-auth", "blank-token"],
    )
    async def test_every_v1_operation_answers_401(
        self, app: FastAPI, op: Operation, authorization: str | None
    ) -> None:
        async with client_for(app, authorization) as client:
            response = await send(client, op)
        assert_problem(response, 401, op)
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


class TestWithARevokedKey:
    @pytest.fixture
    async def revoked(self, app: FastAPI, admin: httpx.AsyncClient) -> str:
        created = await admin.post("/v1/api-keys", json={"role": "admin", "name": "revoked"})
        assert created.status_code == 201, created.text
        key = created.json()
        async with client_for(app, f"Bearer {key['key']}") as client:
            assert (await client.get("/v1/policy")).status_code == 200
        deleted = await admin.delete(f"/v1/api-keys/{key['id']}")
        assert deleted.status_code == 204, deleted.text
        revoked_key: str = key["key"]
        return revoked_key

    @pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.label)
    async def test_every_v1_operation_answers_401(
        self, app: FastAPI, revoked: str, op: Operation
    ) -> None:
        async with client_for(app, f"Bearer {revoked}") as client:
            response = await send(client, op)
        assert_problem(response, 401, op)


class TestWithAPartnerKey:
    def test_every_v1_operation_is_classified_by_the_role_table(self) -> None:
        labels = set(labelled(OPERATIONS))
        assert not PARTNER_FORBIDDEN & PARTNER_ALLOWED
        assert labels == PARTNER_FORBIDDEN | PARTNER_ALLOWED, (
            f"unclassified: {sorted(labels - PARTNER_FORBIDDEN - PARTNER_ALLOWED)}; "
            f"gone: {sorted(PARTNER_FORBIDDEN | PARTNER_ALLOWED - labels)}"
        )

    @pytest.mark.parametrize("op", by_label(PARTNER_FORBIDDEN), ids=lambda op: op.label)
    async def test_operations_outside_a_partners_business_answer_403(
        self, tenant: Tenant, op: Operation
    ) -> None:
        partner = await tenant.client("partner", "dist-1")
        assert_problem(await send(partner, op), 403, op)

    @pytest.mark.parametrize("op", by_label(PARTNER_ALLOWED), ids=lambda op: op.label)
    async def test_a_partners_own_business_is_not_refused(
        self, tenant: Tenant, op: Operation
    ) -> None:
        partner = await tenant.client("partner", "dist-1")
        response = await send(partner, op)
        assert response.status_code not in (401, 403), f"{op.label}: {response.text}"
        assert response.status_code < 500, f"{op.label}: {response.text}"


@dataclass(frozen=True, slots=True)
class Resources:
    """One tenant's customer, touch, lock and contact plan."""

    customer: str
    touch: str
    lock: str
    plan: str


async def created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    identifier: str = response.json()["id"]
    return identifier


async def make_resources(owner: httpx.AsyncClient) -> Resources:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    put = await owner.put(f"/v1/customers/{customer}", json={"name": "Owned"})
    assert put.status_code == 201, put.text
    touch = await owner.post(
        "/v1/touches",
        json={
            "customer_id": customer,
            "channel": "phone",
            "occurred_at": (NOW - timedelta(days=1)).isoformat(),
            "actor": {"team": "north"},
        },
    )
    lock = await owner.post(
        "/v1/locks", json={"customer_id": customer, "holder": {"team": "north"}, "days": 30}
    )
    plan = await owner.post(
        "/v1/contact-plans",
        json={
            "customer_id": customer,
            "actor": {"team": "south"},
            "channel": "visit",
            "planned_at": (NOW + timedelta(days=2)).isoformat(),
        },
    )
    return Resources(customer, await created(touch), await created(lock), await created(plan))


# Each: method, path template over Resources' fields, body.
FOREIGN_CALLS = [
    ("GET", "/v1/customers/{customer}", None),
    ("PATCH", "/v1/customers/{customer}", {"name": "Stolen"}),
    ("GET", "/v1/customers/{customer}/status", None),
    ("GET", "/v1/customers/{customer}/next-follow-up", None),
    ("GET", "/v1/customers/{customer}/touches", None),
    ("GET", "/v1/customers/{customer}/locks", None),
    ("GET", "/v1/touches/{touch}", None),
    ("GET", "/v1/locks/{lock}", None),
    ("POST", "/v1/locks/{lock}/renew", {"days": 10}),
    ("DELETE", "/v1/locks/{lock}", None),
    ("GET", "/v1/contact-plans/{plan}", None),
    ("POST", "/v1/contact-plans/{plan}/approve", None),
    ("POST", "/v1/contact-plans/{plan}/reject", None),
    (
        "POST",
        "/v1/conflict-checks",
        {"customer_id": "{customer}", "channel": "phone", "actor": {"team": "x"}},
    ),
    ("POST", "/v1/locks", {"customer_id": "{customer}", "holder": {"team": "x"}}),
    (
        "POST",
        "/v1/contact-plans",
        {
            "customer_id": "{customer}",
            "actor": {"team": "x"},
            "channel": "visit",
            "planned_at": "2026-11-24T02:00:00Z",
        },
    ),
]


def fill(value: object, resources: Resources) -> object:
    if isinstance(value, str):
        return value.format(**asdict(resources)) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, resources) for k, v in value.items()}
    return value


async def call(
    client: httpx.AsyncClient,
    method: str,
    template: str,
    body: dict[str, object] | None,
    resources: Resources,
) -> httpx.Response:
    path = str(fill(template, resources))
    if body is None:
        return await client.request(method, path)
    return await client.request(method, path, json=fill(body, resources))


def masked(text: str, resources: Resources) -> str:
    for name, value in asdict(resources).items():
        text = text.replace(value, f"<{name}>")
    return text


class TestAnotherTenantsResources:
    @pytest.fixture
    async def owner(self, app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, Resources]]:
        other = Tenant(app, f"owner-{uuid.uuid4().hex[:8]}")
        client = await other.client("admin")
        yield client, await make_resources(client)
        await other.close()

    @pytest.mark.parametrize(
        ("method", "template", "body"), FOREIGN_CALLS, ids=[f"{m} {t}" for m, t, _ in FOREIGN_CALLS]
    )
    async def test_each_answers_404_and_changes_nothing(
        self,
        owner: tuple[httpx.AsyncClient, Resources],
        admin: httpx.AsyncClient,
        method: str,
        template: str,
        body: dict[str, object] | None,
    ) -> None:
        owner_client, mine = owner
        response = await call(admin, method, template, body, mine)
        assert response.status_code == 404, f"{method} {template}: {response.text}"
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        # Indistinguishable from the answer about ids that never existed.
        ghost = Resources(*(f"c-{uuid.uuid4().hex[:8]}",), *(str(uuid.uuid4()) for _ in "tlp"))
        unknown = await call(admin, method, template, body, ghost)
        assert unknown.status_code == 404
        assert masked(response.text, mine) == masked(unknown.text, ghost)
        lock = (await owner_client.get(f"/v1/locks/{mine.lock}")).json()
        plan = (await owner_client.get(f"/v1/contact-plans/{mine.plan}")).json()
        profile = (await owner_client.get(f"/v1/customers/{mine.customer}")).json()
        assert (lock["status"], profile["name"]) == ("active", "Owned")
        assert plan["status"] in ("pending", "approved")

    @pytest.mark.parametrize(
        "path",
        ["/v1/customers", "/v1/locks", "/v1/contact-plans", "/v1/statuses", "/v1/audit"],
    )
    async def test_lists_show_none_of_them(
        self, owner: tuple[httpx.AsyncClient, Resources], admin: httpx.AsyncClient, path: str
    ) -> None:
        _, mine = owner
        response = await admin.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [], response.text
        assert mine.customer not in response.text
