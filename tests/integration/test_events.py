"""Outbound events: admins manage event endpoints; what Touchbase notices (locks claimed and
released, plans pending and decided, customers opting out or entering a status) is recorded in
the transaction of the change and posted, signed the Standard Webhooks way, to each enabled
endpoint that takes its type; failed attempts are retried on the contract's schedule (410
disables the endpoint, 429 and 503 honour Retry-After), then failed, and may be replayed.

Deliveries are driven by the test (``run_once`` at the FixedClock's instant) to a real HTTP
receiver on 127.0.0.1."""

import base64
import hashlib
import hmac
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.clock import FixedClock
from app.config import Settings
from app.events import delivery as delivery_module
from app.events import outbox
from app.events import repository as events_repository
from app.events import service as events_service
from app.events.pruning import prune_ended
from app.locks import service as locks_service
from app.locks.schemas import LockClaim
from app.main import create_app
from app.tenants import service as tenants
from app.tenants.service import Principal
from tests.conftest import NOW, Tenant
from tests.integration.event_helpers import bodies, claim, create_endpoint, read_lock, send
from tests.integration.helpers import (
    assert_problem,
    drain_refresh_marks,
    listing,
    put_customer,
    remove_event_endpoints,
    rule,
    sample,
    set_policy,
    status,
    touch,
    utc,
    z,
)
from tests.receiver import Receiver, running_receiver

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ENDPOINT_FIELDS = {"id", "url", "events", "description", "status", "created_at"}
DELIVERY_FIELDS = {
    "event_id", "type", "occurred_at", "status", "attempts", "last_status", "last_error",
    "next_attempt_at",
}  # fmt: skip
SCHEDULE = [
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
]  # fmt: skip
EVENT_ID = re.compile(r"^evt_[0-9a-f]{30}$")
A = {"rep_id": "rep-a", "team": "north"}
NOWHERE = "http://127.0.0.1:9/hook"  # for endpoints nothing is sent to


# Endpoints


async def read_endpoint(client: httpx.AsyncClient, endpoint_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/event-endpoints/{endpoint_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch_endpoint(
    client: httpx.AsyncClient, endpoint_id: str, **changes: Any
) -> httpx.Response:
    return await client.patch(f"/v1/event-endpoints/{endpoint_id}", json=changes)


async def deliveries(
    client: httpx.AsyncClient, endpoint_id: str, **params: Any
) -> list[dict[str, Any]]:
    """Every delivery of the endpoint (newest first), following the cursor."""
    items = await listing(client, f"/v1/event-endpoints/{endpoint_id}/deliveries", **params)
    for item in items:
        assert set(item) == DELIVERY_FIELDS
    return items


async def replay(client: httpx.AsyncClient, endpoint_id: str, since: datetime) -> httpx.Response:
    return await client.post(f"/v1/event-endpoints/{endpoint_id}/replay", json={"since": z(since)})


def error_at(problem: dict[str, Any], field: str) -> bool:
    return any(item["loc"][:2] == ["body", field] for item in problem["errors"])


# Deliveries


def standard_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature, computed here without the library."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# Locks and plans


async def release(client: httpx.AsyncClient, lock_id: str) -> None:
    response = await client.delete(f"/v1/locks/{lock_id}")
    assert response.status_code == 204, response.text


async def file_plan(
    client: httpx.AsyncClient, customer_id: str = "c-1", planned_at: datetime = NOW + DAY
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "actor": A, "channel": "visit", "planned_at": z(planned_at)}
    response = await client.post("/v1/contact-plans", json=body)
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


# Fixtures


@pytest.fixture(autouse=True)
async def _endpoints_removed(app: FastAPI, tenant: Tenant) -> AsyncIterator[None]:
    """The test's endpoints (and so its deliveries) go with it: a later test's ``run_once``
    sends nothing of this one's."""
    yield
    await remove_event_endpoints(app, tenant.name)


async def principal_of(app: FastAPI, tenant: Tenant, role: str = "admin") -> Principal:
    async with app.state.sessionmaker() as session:
        principal = await tenants.authenticate(session, await tenant.key(role))
    assert principal is not None
    return principal


class TestEndpoints:
    async def test_create_answers_the_endpoint_and_its_secret_once(
        self, admin: httpx.AsyncClient
    ) -> None:
        """201 with every field, the whsec_ secret (32 random bytes) shown this once."""
        response = await admin.post(
            "/v1/event-endpoints",
            json={"url": NOWHERE, "events": ["customer.overdue", "lock.expiring"],
                  "description": "CRM sync"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        created = response.json()
        assert set(created) == {*ENDPOINT_FIELDS, "secret"}
        uuid.UUID(created["id"])
        assert created["url"] == NOWHERE
        assert sorted(created["events"]) == ["customer.overdue", "lock.expiring"]
        assert created["description"] == "CRM sync"
        assert created["status"] == "enabled"
        assert created["created_at"] == z(NOW)
        assert created["secret"].startswith("whsec_")
        assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
        other = await create_endpoint(admin, NOWHERE, ["*"])
        assert other["secret"] != created["secret"]
        assert other["events"] == ["*"]
        assert other["description"] is None

    async def test_the_secret_is_never_shown_again(self, admin: httpx.AsyncClient) -> None:
        """GET and the list show the endpoint as created, without its secret."""
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"], description="d")
        shown = {k: v for k, v in created.items() if k != "secret"}
        assert await read_endpoint(admin, created["id"]) == shown
        listed = await listing(admin, "/v1/event-endpoints")
        assert listed == [shown]
        response = await admin.get("/v1/event-endpoints")
        assert created["secret"] not in response.text
        assert "secret" not in response.text

    async def test_the_list_pages_through_every_endpoint(self, admin: httpx.AsyncClient) -> None:
        """limit=1 and the cursor walk all of a tenant's endpoints, each once."""
        made = [await create_endpoint(admin, NOWHERE, ["lock.claimed"]) for _ in range(3)]
        paged = await listing(admin, "/v1/event-endpoints", limit=1)
        assert sorted(e["id"] for e in paged) == sorted(e["id"] for e in made)

    async def test_patch_changes_what_is_given(self, admin: httpx.AsyncClient) -> None:
        """url, events, description and status change one by one; the rest stays; GET shows
        what PATCH answered."""
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"], description="first")
        endpoint_id = created["id"]
        new_url = NOWHERE + "/v2?x=1"
        response = await patch_endpoint(admin, endpoint_id, url=new_url)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": endpoint_id, "url": new_url, "events": ["lock.claimed"],
            "description": "first", "status": "enabled", "created_at": z(NOW),
        }  # fmt: skip
        response = await patch_endpoint(
            admin, endpoint_id, events=["lock.released", "plan.pending"]
        )
        assert sorted(response.json()["events"]) == ["lock.released", "plan.pending"]
        response = await patch_endpoint(admin, endpoint_id, description="second")
        assert response.json()["description"] == "second"
        response = await patch_endpoint(admin, endpoint_id, status="disabled")
        assert response.json()["status"] == "disabled"
        assert response.json()["url"] == new_url
        response = await patch_endpoint(admin, endpoint_id, status="enabled")
        assert response.json()["status"] == "enabled"
        assert await read_endpoint(admin, endpoint_id) == response.json()

    async def test_a_null_description_clears_it(self, admin: httpx.AsyncClient) -> None:
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"], description="gone soon")
        response = await patch_endpoint(admin, created["id"], description=None)
        assert response.status_code == 200, response.text
        assert response.json()["description"] is None
        assert (await read_endpoint(admin, created["id"]))["description"] is None
        assert (await read_endpoint(admin, created["id"]))["events"] == ["lock.claimed"]

    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"url": None}, id="null-url"),
            pytest.param({"events": None}, id="null-events"),
            pytest.param({"status": None}, id="null-status"),
            pytest.param({"status": "paused"}, id="unknown-status"),
            pytest.param({"events": []}, id="no-events"),
            pytest.param({"events": ["lock.claimed", "lock.claimed"]}, id="duplicate-events"),
            pytest.param({"events": ["customer.birthday"]}, id="unknown-event"),
            pytest.param({"url": "ftp://example.com/x"}, id="ftp-url"),
            pytest.param({"url": "not a url"}, id="not-a-url"),
            pytest.param({"url": "https://example.com/" + "a" * 2048}, id="long-url"),
        ],
    )
    async def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
        self, admin: httpx.AsyncClient, changes: dict[str, Any]
    ) -> None:
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        problem = assert_problem(await patch_endpoint(admin, created["id"], **changes), 422)
        assert error_at(problem, next(iter(changes)))
        assert await read_endpoint(admin, created["id"]) == {
            k: v for k, v in created.items() if k != "secret"
        }

    async def test_delete_then_it_is_gone(self, admin: httpx.AsyncClient) -> None:
        """204, then 404 on read, deliveries, patch and a second delete; no longer listed."""
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        endpoint_id = created["id"]
        response = await admin.delete(f"/v1/event-endpoints/{endpoint_id}")
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_problem(await admin.get(f"/v1/event-endpoints/{endpoint_id}"), 404)
        assert_problem(await admin.get(f"/v1/event-endpoints/{endpoint_id}/deliveries"), 404)
        assert_problem(await patch_endpoint(admin, endpoint_id, description="x"), 404)
        assert_problem(await admin.delete(f"/v1/event-endpoints/{endpoint_id}"), 404)
        assert await listing(admin, "/v1/event-endpoints") == []

    async def test_a_deleted_endpoint_gets_nothing_more(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """Its pending deliveries go with it: nothing is sent."""
        created = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        assert (await admin.delete(f"/v1/event-endpoints/{created['id']}")).status_code == 204
        assert await send(app) == 0
        assert rx.received == []

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", ""),
            ("PATCH", ""),
            ("DELETE", ""),
            ("GET", "/deliveries"),
            ("POST", "/replay"),
        ],
    )
    async def test_an_unknown_endpoint_is_404(
        self, admin: httpx.AsyncClient, method: str, path: str
    ) -> None:
        body = {"since": z(NOW)} if path == "/replay" else {"description": "x"}
        url = f"/v1/event-endpoints/{uuid.uuid4()}{path}"
        response = await admin.request(method, url, json=body if method != "GET" else None)
        assert_problem(response, 404)

    @pytest.mark.parametrize("role", ["read", "ingest", "partner"])
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "", {}),
            ("GET", "", None),
            ("GET", "/{id}", None),
            ("PATCH", "/{id}", {"url": None}),
            ("DELETE", "/{id}", None),
            ("GET", "/{id}/deliveries", None),
            ("POST", "/{id}/replay", {}),
        ],
    )
    async def test_only_an_admin_key_may_use_event_endpoints(
        self,
        tenant: Tenant,
        admin: httpx.AsyncClient,
        role: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        """Every event-endpoint route is 403 for read, ingest and partner keys, decided before
        the body is validated; nothing changes."""
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        client = await tenant.client(role, "dist-1" if role == "partner" else None)
        url = "/v1/event-endpoints" + path.format(id=created["id"])
        response = await client.request(method, url, json=body)
        assert_problem(response, 403)
        assert await listing(admin, "/v1/event-endpoints") == [
            {k: v for k, v in created.items() if k != "secret"}
        ]

    async def test_another_tenant_sees_nothing_of_it(
        self, admin: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        """Another tenant's admin: not listed, and 404 on every route of the endpoint."""
        created = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        other = await other_tenant.client("admin")
        base = f"/v1/event-endpoints/{created['id']}"
        assert await listing(other, "/v1/event-endpoints") == []
        assert_problem(await other.get(base), 404)
        assert_problem(await other.patch(base, json={"status": "disabled"}), 404)
        assert_problem(await other.get(base + "/deliveries"), 404)
        assert_problem(await other.post(base + "/replay", json={"since": z(NOW)}), 404)
        assert_problem(await other.delete(base), 404)
        assert (await read_endpoint(admin, created["id"]))["status"] == "enabled"


class TestEndpointValidation:
    @pytest.mark.parametrize(
        ("field", "body"),
        [
            pytest.param("events", {"events": []}, id="no-events"),
            pytest.param("events", {"events": ["customer.birthday"]}, id="unknown-type"),
            pytest.param("events", {"events": ["lock.claimed", "lock.claimed"]}, id="duplicate"),
            pytest.param("events", {"events": ["*", "*"]}, id="duplicate-star"),
            pytest.param("events", {"events": "lock.claimed"}, id="not-a-list"),
            pytest.param("events", {"events": ...}, id="no-events-field"),
            pytest.param("url", {"url": "not a url"}, id="not-a-url"),
            pytest.param("url", {"url": "ftp://127.0.0.1/x"}, id="ftp"),
            pytest.param("url", {"url": "127.0.0.1:8080/x"}, id="no-scheme"),
            pytest.param("url", {"url": "http://user:pw@127.0.0.1/x"}, id="credentials"),
            pytest.param("url", {"url": "http://127.0.0.1/" + "a" * 2048}, id="too-long"),
            pytest.param("url", {"url": ...}, id="no-url"),
            pytest.param("url", {"url": 42}, id="url-not-a-string"),
            pytest.param("description", {"description": "d" * 501}, id="long-description"),
        ],
    )
    async def test_a_bad_endpoint_is_a_422_problem_naming_the_field(
        self, admin: httpx.AsyncClient, field: str, body: dict[str, Any]
    ) -> None:
        """Nothing is created."""
        full = {"url": "http://127.0.0.1:9/hook", "events": ["lock.claimed"], **body}
        sent = {k: v for k, v in full.items() if v is not ...}
        problem = assert_problem(await admin.post("/v1/event-endpoints", json=sent), 422)
        assert error_at(problem, field), problem
        assert await listing(admin, "/v1/event-endpoints") == []

    @pytest.mark.parametrize(
        ("url", "cleaned"),
        [
            pytest.param("http://127.0.0.1:9/hook\t", "http://127.0.0.1:9/hook", id="tab"),
            pytest.param("http://127.0.0.1:9/ho\nok", "http://127.0.0.1:9/hook", id="newline"),
            pytest.param("http://127.0.0.1:9/h\r\nook", "http://127.0.0.1:9/hook", id="crlf"),
        ],
    )
    async def test_a_url_with_a_control_character_is_never_stored_as_given(
        self, admin: httpx.AsyncClient, url: str, cleaned: str
    ) -> None:
        """A URL with a tab or a line break is not one an HTTP client will request (the URL
        check's urlsplit silently ignores them; httpx refuses them): refused (422 naming
        url), or stored without them, never stored as given to fail at every delivery."""
        response = await admin.post(
            "/v1/event-endpoints", json={"url": url, "events": ["lock.claimed"]}
        )
        if response.status_code == 201:
            assert response.json()["url"] == cleaned
            httpx.URL(response.json()["url"])  # one the deliverer's client can request
        else:
            assert error_at(assert_problem(response, 422), "url")

    async def test_a_url_with_a_space_in_its_host_is_refused(
        self, admin: httpx.AsyncClient
    ) -> None:
        """No host name has a space: not a URL, 422 naming url."""
        response = await admin.post(
            "/v1/event-endpoints",
            json={"url": "http://exa mple.com/hook", "events": ["lock.claimed"]},
        )
        assert error_at(assert_problem(response, 422), "url")

    async def test_a_url_of_2048_characters_is_accepted(self, admin: httpx.AsyncClient) -> None:
        base = "http://127.0.0.1:9/"
        url = base + "a" * (2048 - len(base))
        assert (await create_endpoint(admin, url, ["lock.claimed"]))["url"] == url

    async def test_every_event_type_may_be_named(self, admin: httpx.AsyncClient) -> None:
        """The eleven types of the contract, all at once."""
        types = sorted([
            "customer.due", "customer.overdue", "customer.over_contacted", "customer.suppressed",
            "customer.opted_out", "plan.pending", "plan.decided", "lock.claimed",
            "lock.released", "lock.expiring", "lock.expired",
        ])  # fmt: skip
        created = await create_endpoint(admin, "http://127.0.0.1:9/x", types)
        assert sorted(created["events"]) == types


@pytest.fixture
async def public_only(database_url: str, clock: FixedClock) -> AsyncIterator[FastAPI]:
    """The service as deployed: event endpoints must be https on a public address (on the
    tests' database, with no background work of its own)."""
    settings = Settings(
        database_url=database_url, pool_size=2, refresher=False, rfm_auto_recompute=False,
        events_delivery=False, events_allow_private_urls=False,
    )  # fmt: skip
    application = create_app(settings, clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def public_admin(public_only: FastAPI, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    """The tenant's admin key, calling the public-only service."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=public_only),
        base_url="http://test",
        headers={"Authorization": f"Bearer {await tenant.key('admin')}"},
    ) as client:
        yield client


class TestPublicUrlsOnly:
    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("http://example.com/hook", id="plain-http"),
            pytest.param("https://127.0.0.1/hook", id="loopback"),
            pytest.param("https://[::1]/hook", id="loopback-v6"),
            pytest.param("https://localhost/hook", id="localhost"),
            pytest.param("https://10.0.0.1/hook", id="private"),
            pytest.param("https://192.168.1.1:8443/hook", id="private-192"),
            pytest.param("https://169.254.169.254/latest/meta-data", id="metadata"),
            pytest.param("https://[::ffff:127.0.0.1]/hook", id="mapped-loopback"),
            pytest.param("https://100.64.0.1/hook", id="shared"),
        ],
    )
    async def test_a_private_or_plain_http_url_is_refused(
        self, public_admin: httpx.AsyncClient, url: str
    ) -> None:
        """Without TOUCHBASE_EVENTS_ALLOW_PRIVATE_URLS: 422 naming url, on create and on
        patch; nothing is created or changed."""
        response = await public_admin.post(
            "/v1/event-endpoints", json={"url": url, "events": ["lock.claimed"]}
        )
        assert error_at(assert_problem(response, 422), "url")
        created = await create_endpoint(public_admin, "https://8.8.8.8/hook", ["lock.claimed"])
        response = await patch_endpoint(public_admin, created["id"], url=url)
        assert error_at(assert_problem(response, 422), "url")
        assert (await read_endpoint(public_admin, created["id"]))["url"] == "https://8.8.8.8/hook"

    @pytest.mark.parametrize(
        "url", ["https://8.8.8.8/hook", "https://example.com/hook", "https://[2001:4860::8888]/x"]
    )
    async def test_https_on_a_public_address_is_accepted(
        self, public_admin: httpx.AsyncClient, url: str
    ) -> None:
        assert (await create_endpoint(public_admin, url, ["lock.claimed"]))["url"] == url

    async def test_a_private_url_is_not_posted_to_even_if_stored(
        self, public_only: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """An endpoint on 127.0.0.1 (stored where private URLs were allowed): the public-only
        service's deliverer checks the URL again at each attempt and sends nothing; the
        attempt failed, saying why."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        assert await send(public_only) == 1
        assert rx.received == []
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, None)
        assert item["last_error"].startswith("not sent")


class TestSignedDelivery:
    async def test_a_delivery_verifies_with_the_standard_webhooks_library(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """The body is {id, type, occurred_at, data}; webhook-id is the event id; the
        signature verifies with the endpoint's secret (and with no other)."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        lock = await claim(admin)
        assert await send(app) == 1
        [got] = rx.received
        assert got.path == "/hook"
        assert got.headers["content-type"] == "application/json"
        verified = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert verified == orjson.loads(got.body)
        assert set(verified) == {"id", "type", "occurred_at", "data"}
        assert EVENT_ID.match(verified["id"]), verified["id"]
        assert got.headers["webhook-id"] == verified["id"]
        assert verified["type"] == "lock.claimed"
        assert verified["occurred_at"] == z(NOW)
        assert verified["data"] == await read_lock(admin, lock["id"])
        other = await create_endpoint(admin, rx.url, ["lock.claimed"])
        with pytest.raises(WebhookVerificationError):
            Webhook(other["secret"]).verify(got.body, got.headers)

    async def test_the_signature_is_the_standard_hmac(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """Computed without the library: HMAC-SHA256 of "id.timestamp.body" with the base64
        key after whsec_; the timestamp is the wall clock's, in whole seconds."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        before = time.time()
        assert await send(app) == 1
        after = time.time()
        [got] = rx.received
        stamp = got.headers["webhook-timestamp"]
        assert int(before) - 1 <= int(stamp) <= after + 1
        expected = standard_signature(
            endpoint["secret"], got.headers["webhook-id"], stamp, got.body
        )
        assert expected in got.headers["webhook-signature"].split(" ")

    async def test_a_partners_claim_shows_its_holder_to_the_admin_view(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """lock.claimed's data is the lock as an admin reads it, holder and reason included,
        even when a partner key claimed it."""
        await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        partner = await tenant.client("partner", "dist-1")
        response = await partner.post(
            "/v1/locks",
            json={"customer_id": "c-1", "holder": {"team": "ignored"}, "days": 60,
                  "reason": "Deal registration DR-1"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        lock_id = response.json()["id"]
        assert await send(app) == 1
        [event] = bodies(rx)
        admin_view = await read_lock(admin, lock_id)
        assert event["data"] == admin_view
        assert event["data"]["holder"] == {"partner_id": "dist-1", "team": None, "rep_id": None}
        assert event["data"]["reason"] == "Deal registration DR-1"
        assert event["data"]["expires_at"] == z(NOW + 60 * DAY)
        assert event["data"]["status"] == "active"

    async def test_each_endpoint_gets_the_event_signed_with_its_own_secret(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        """Two endpoints taking the type: one event, the same id and body to each, each
        signature verifying with its own endpoint's secret only."""
        with running_receiver() as first, running_receiver() as second:
            one = await create_endpoint(admin, first.url, ["lock.claimed"])
            two = await create_endpoint(admin, second.url, ["*"])
            await put_customer(admin)
            await claim(admin)
            assert await send(app) == 2
            [a], [b] = first.received, second.received
        assert a.body == b.body
        assert a.headers["webhook-id"] == b.headers["webhook-id"]
        Webhook(one["secret"]).verify(a.body, a.headers)
        Webhook(two["secret"]).verify(b.body, b.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(two["secret"]).verify(a.body, a.headers)

    async def test_a_delivered_event_is_not_sent_again(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Succeeded: attempts 1, last_status 200, nothing due later."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        assert await send(app) == 1
        clock.set(NOW + 2 * DAY)
        assert await send(app) == 0
        [item] = await deliveries(admin, endpoint["id"])
        assert item == {
            "event_id": rx.received[0].headers["webhook-id"], "type": "lock.claimed",
            "occurred_at": z(NOW), "status": "succeeded", "attempts": 1, "last_status": 200,
            "last_error": None, "next_attempt_at": None,
        }  # fmt: skip
        assert len(rx.received) == 1


class TestRetries:
    async def test_a_500_is_retried_with_the_same_webhook_id(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """After a 500 the delivery is pending, tried again 5 s (+-10%) later; the second
        attempt's 200 makes it succeeded after 2 attempts."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(500)
        assert await send(app) == 1
        [pending] = await deliveries(admin, endpoint["id"])
        assert pending["status"] == "pending"
        assert pending["attempts"] == 1
        assert pending["last_status"] == 500
        assert "500" in pending["last_error"]
        wait = utc(pending["next_attempt_at"]) - NOW
        assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)
        assert await send(app) == 0  # not yet due
        clock.set(NOW + 6 * SECOND)
        assert await send(app) == 1
        first, second = rx.received
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body
        [done] = await deliveries(admin, endpoint["id"])
        assert done == {
            **pending, "status": "succeeded", "attempts": 2, "last_status": 200,
            "last_error": None, "next_attempt_at": None,
        }  # fmt: skip

    async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """A 3xx: pending with last_status 302; the Location was not requested."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(302, location=rx.url + "/elsewhere")
        assert await send(app) == 1
        assert [got.path for got in rx.received] == ["/hook"]
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, 302)

    async def test_a_receiver_that_is_not_there_is_a_failed_attempt(
        self, app: FastAPI, admin: httpx.AsyncClient
    ) -> None:
        """Connection refused: pending, no status, an error saying why."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        endpoint = await create_endpoint(admin, f"http://127.0.0.1:{port}/hook", ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, None)
        assert item["last_error"]
        assert utc(item["next_attempt_at"]) - NOW <= timedelta(seconds=5.5)

    async def test_no_answer_in_time_is_a_failed_attempt(
        self, app: FastAPI, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A receiver that takes the request and never answers: the attempt ends at the time
        limit (shortened here) as a failure, pending with no status."""
        monkeypatch.setattr(delivery_module, "ATTEMPT_SECONDS", 0.3)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)  # connections complete; nothing is ever read or answered
            url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
            endpoint = await create_endpoint(admin, url, ["lock.claimed"])
            await put_customer(admin)
            await claim(admin)
            assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, None)
        assert "no answer" in item["last_error"]

    async def test_a_410_disables_the_endpoint(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Gone: the delivery failed at once, the endpoint disabled, later events not
        recorded for it nor sent."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed", "lock.released"])
        await put_customer(admin)
        lock = await claim(admin)
        rx.answer(410)
        assert await send(app) == 1
        assert (await read_endpoint(admin, endpoint["id"]))["status"] == "disabled"
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("failed", 1, 410)
        assert item["next_attempt_at"] is None
        clock.set(NOW + HOUR)
        await release(admin, lock["id"])
        await put_customer(admin, "c-2")
        await claim(admin, "c-2")
        clock.set(NOW + 2 * DAY)
        assert await send(app) == 0
        assert len(rx.received) == 1
        assert len(await deliveries(admin, endpoint["id"])) == 1

    @pytest.mark.parametrize("status", [429, 503])
    async def test_retry_after_is_honoured(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock, status: int
    ) -> None:
        """A 429 or 503 with Retry-After: 120 is tried again no sooner than 120 s later."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(status, retry_after="120")
        assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["last_status"]) == ("pending", status)
        wait = utc(item["next_attempt_at"]) - NOW
        assert timedelta(seconds=120) <= wait <= timedelta(seconds=132)
        clock.set(NOW + 119 * SECOND)
        assert await send(app) == 0
        clock.set(utc(item["next_attempt_at"]))
        assert await send(app) == 1
        assert (await deliveries(admin, endpoint["id"]))[0]["status"] == "succeeded"

    async def test_retry_after_as_an_http_date_is_honoured(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """Retry-After may be an HTTP-date (RFC 9110 10.2.3): a 503 asking to wait until two
        minutes after the receiver's (wall-clock) now is tried again about 120 s later, not
        5 s."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        until = datetime.fromtimestamp(time.time() + 120, tz=UTC)
        rx.answer(503, retry_after=format_datetime(until, usegmt=True))
        assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["last_status"]) == ("pending", 503)
        wait = utc(item["next_attempt_at"]) - NOW
        assert timedelta(seconds=110) <= wait <= timedelta(seconds=132)

    async def test_an_odd_retry_after_is_ignored_and_the_attempt_recorded(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """A 503 whose Retry-After is the byte 0xb2 (a superscript two to a latin-1 reader,
        which str.isdigit takes for a digit): the answer is still recorded, pending with
        last_status 503 and the ordinary 5 s retry."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(503, retry_after="\u00b2")
        assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, 503)
        wait = utc(item["next_attempt_at"]) - NOW
        assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)

    async def test_an_attempt_the_client_cannot_make_is_recorded_as_failed(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """An endpoint stored with a URL the HTTP client refuses to request (a trailing tab,
        which the URL check's urlsplit silently drops): the attempt is a failed one recorded
        with its error and the 5 s retry, not a worker exception that leaves the delivery
        leased and unrecorded (to be claimed again every 90 s, for ever)."""
        tenant_id = (await principal_of(app, tenant)).tenant_id
        async with app.state.sessionmaker() as session:
            row = await events_repository.add_endpoint(
                session,
                {"tenant_id": tenant_id, "id": uuid.uuid4(), "url": rx.url + "\t",
                 "events": ["lock.claimed"], "description": None, "status": "enabled",
                 "secret": events_service.new_secret(), "created_at": NOW, "updated_at": NOW},
            )  # fmt: skip
            await session.commit()
        await put_customer(admin)
        await claim(admin)
        assert await send(app) == 1
        [item] = await deliveries(admin, str(row["id"]))
        assert (item["status"], item["attempts"], item["last_status"]) == ("pending", 1, None)
        assert item["last_error"] is not None
        wait = utc(item["next_attempt_at"]) - NOW
        assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)

    async def test_the_schedule_runs_out_after_eight_attempts_then_replay(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Eight 500s, each retry on the schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h,
        +-10%): failed after 8 attempts. A replay since the event sends it again (a fresh
        schedule); one since after it replays nothing."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(500, times=8)
        item: dict[str, Any] = {}
        for attempt in range(1, 9):
            assert await send(app) == 1, attempt
            [item] = await deliveries(admin, endpoint["id"])
            assert item["attempts"] == attempt
            assert item["last_status"] == 500
            if attempt < 8:
                assert item["status"] == "pending"
                wait = utc(item["next_attempt_at"]) - clock.now()
                delay = SCHEDULE[attempt - 1]
                assert delay * 0.9 <= wait <= delay * 1.1, (attempt, wait)
                clock.set(utc(item["next_attempt_at"]))
        assert item["status"] == "failed"
        assert item["next_attempt_at"] is None
        assert len(rx.received) == 8
        assert len({got.headers["webhook-id"] for got in rx.received}) == 1
        clock.set(clock.now() + DAY)
        assert await send(app) == 0
        response = await replay(admin, endpoint["id"], NOW + SECOND)
        assert response.status_code == 202, response.text
        assert response.json() == {"replayed": 0}
        response = await replay(admin, endpoint["id"], NOW)  # at or after: the event's instant
        assert response.status_code == 202, response.text
        assert response.json() == {"replayed": 1}
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"]) == ("pending", 0)
        assert await send(app) == 1
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["last_status"]) == ("succeeded", 1, 200)
        assert len(rx.received) == 9
        assert rx.received[8].body == rx.received[0].body
        response = await replay(admin, endpoint["id"], NOW - DAY)
        assert response.json() == {"replayed": 0}  # succeeded: nothing to replay

    async def test_replay_on_a_disabled_endpoint_is_409(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """Disabling fails the pending deliveries; replay waits for the endpoint to be
        enabled again, then sends them."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        response = await patch_endpoint(admin, endpoint["id"], status="disabled")
        assert response.status_code == 200, response.text
        [item] = await deliveries(admin, endpoint["id"])
        assert (item["status"], item["attempts"], item["next_attempt_at"]) == ("failed", 0, None)
        assert await send(app) == 0
        assert_problem(await replay(admin, endpoint["id"], NOW - DAY), 409)
        assert (await patch_endpoint(admin, endpoint["id"], status="enabled")).status_code == 200
        assert (await replay(admin, endpoint["id"], NOW - DAY)).json() == {"replayed": 1}
        assert await send(app) == 1
        assert [event["type"] for event in bodies(rx)] == ["lock.claimed"]

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({}, id="no-since"),
            pytest.param({"since": "2026-11-20T03:00:00"}, id="no-offset"),
            pytest.param({"since": "yesterday"}, id="not-an-instant"),
        ],
    )
    async def test_a_bad_replay_is_422(
        self, admin: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        endpoint = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        response = await admin.post(f"/v1/event-endpoints/{endpoint['id']}/replay", json=body)
        assert error_at(assert_problem(response, 422), "since")


class TestSubscriptions:
    async def test_unsubscribed_types_are_not_sent(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """An endpoint taking only lock.released: a claim sends nothing, the release one
        lock.released with the released lock as an admin reads it."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.released"])
        await put_customer(admin)
        lock = await claim(admin)
        assert await send(app) == 0
        assert await deliveries(admin, endpoint["id"]) == []
        clock.set(NOW + HOUR)
        await release(admin, lock["id"])
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "lock.released"
        assert event["occurred_at"] == z(NOW + HOUR)
        assert event["data"] == await read_lock(admin, lock["id"])
        assert event["data"]["status"] == "released"
        assert event["data"]["released_at"] == z(NOW + HOUR)

    async def test_a_claim_by_the_holder_again_and_a_second_release_send_nothing(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Only changes are events: the holder's repeated claim (200, its lock) and releasing
        a lock already released record nothing."""
        await create_endpoint(admin, rx.url, ["lock.claimed", "lock.released"])
        await put_customer(admin)
        lock = await claim(admin)
        again = await admin.post(
            "/v1/locks", json={"customer_id": "c-1", "holder": {"team": "north"}, "days": 30}
        )
        assert again.status_code == 200, again.text
        await release(admin, lock["id"])
        await release(admin, lock["id"])
        assert await send(app) == 2
        assert sorted(event["type"] for event in bodies(rx)) == ["lock.claimed", "lock.released"]

    async def test_a_disabled_endpoint_gets_nothing(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        endpoint = await create_endpoint(admin, rx.url, ["*"])
        await patch_endpoint(admin, endpoint["id"], status="disabled")
        await put_customer(admin)
        await claim(admin)
        assert await send(app) == 0
        assert await deliveries(admin, endpoint["id"]) == []

    async def test_an_endpoint_gets_no_event_from_before_it_existed(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        await put_customer(admin)
        await claim(admin)
        endpoint = await create_endpoint(admin, rx.url, ["*"])
        assert await send(app) == 0
        assert await deliveries(admin, endpoint["id"]) == []

    async def test_another_tenants_events_are_not_sent_to_it(
        self, app: FastAPI, admin: httpx.AsyncClient, other_tenant: Tenant, rx: Receiver
    ) -> None:
        await create_endpoint(admin, rx.url, ["*"])
        other = await other_tenant.client("admin")
        await put_customer(other)
        await claim(other)
        assert await send(app) == 0
        assert rx.received == []


class TestTransactions:
    async def test_a_refused_claim_records_no_event(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """A claim refused (409: another holder's lock is active) sends no lock.claimed."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        lock = await claim(admin, holder={"team": "north"})
        refused = await admin.post(
            "/v1/locks", json={"customer_id": "c-1", "holder": {"team": "south"}, "days": 30}
        )
        assert_problem(refused, 409)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["data"]["id"] == lock["id"]
        assert len(await deliveries(admin, endpoint["id"])) == 1

    async def test_a_claim_rolled_back_sends_nothing(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """The claim service runs in a transaction that is then rolled back (its own commit
        only a savepoint's release): neither the lock nor its event exists; nothing is sent.
        The same claim committed is sent."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        principal = await principal_of(app, tenant)
        body = LockClaim.model_validate({"customer_id": "c-1", "holder": {"team": "north"}})
        async with app.state.database.engine.connect() as connection:
            outer = await connection.begin()
            session = AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            lock, created = await locks_service.claim(session, principal, body, NOW)
            assert created
            await session.close()
            await outer.rollback()
        assert await send(app) == 0
        assert rx.received == []
        assert await deliveries(admin, endpoint["id"]) == []
        assert (await admin.get(f"/v1/locks/{lock.id}")).status_code == 404
        committed = await claim(admin)
        assert await send(app) == 1
        assert [event["data"]["id"] for event in bodies(rx)] == [committed["id"]]

    async def test_an_event_recorded_in_a_rolled_back_session_is_never_sent(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """The outbox writes in its caller's transaction: rolled back, nothing was recorded;
        committed, it is sent."""
        endpoint = await create_endpoint(admin, rx.url, ["plan.pending"])
        tenant_id = (await principal_of(app, tenant)).tenant_id
        event = outbox.NewEvent(tenant_id, "plan.pending", NOW, '{"n":1}', "c-1")
        async with app.state.sessionmaker() as session:
            await outbox.record_in(session, [event], NOW)
            await session.rollback()
        assert await send(app) == 0
        assert await deliveries(admin, endpoint["id"]) == []
        async with app.state.sessionmaker() as session:
            await outbox.record_in(session, [event], NOW)
            await session.commit()
        assert await send(app) == 1
        assert bodies(rx)[0]["data"] == {"n": 1}


class TestPlanEvents:
    async def test_a_pending_plan_and_its_decision_are_sent(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """A filed plan that raises a conflict (owned by another team) is plan.pending with
        the plan; approving it is plan.decided with the approved plan, at the decision's
        instant."""
        await create_endpoint(admin, rx.url, ["plan.pending", "plan.decided"])
        await put_customer(admin, owner={"team": "east"})
        plan = await file_plan(admin)
        assert plan["status"] == "pending"
        assert await send(app) == 1
        [pending] = bodies(rx)
        assert pending["type"] == "plan.pending"
        assert pending["occurred_at"] == z(NOW)
        response = await admin.get(f"/v1/contact-plans/{plan['id']}")
        assert pending["data"] == response.json() == plan
        clock.set(NOW + HOUR)
        response = await admin.post(f"/v1/contact-plans/{plan['id']}/approve")
        assert response.status_code == 200, response.text
        assert await send(app) == 1
        decided = bodies(rx)[1]
        assert decided["type"] == "plan.decided"
        assert decided["occurred_at"] == z(NOW + HOUR)
        assert decided["data"] == response.json()
        assert decided["data"]["status"] == "approved"
        assert decided["data"]["decided_at"] == z(NOW + HOUR)
        assert decided["id"] != pending["id"]

    async def test_a_rejection_is_plan_decided(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        await create_endpoint(admin, rx.url, ["plan.decided"])
        await put_customer(admin, owner={"team": "east"})
        plan = await file_plan(admin)
        response = await admin.post(f"/v1/contact-plans/{plan['id']}/reject")
        assert response.status_code == 200, response.text
        assert_problem(await admin.post(f"/v1/contact-plans/{plan['id']}/approve"), 409)
        assert await send(app) == 1
        [decided] = bodies(rx)
        assert decided["type"] == "plan.decided"
        assert decided["data"] == response.json()
        assert decided["data"]["status"] == "rejected"

    async def test_a_plan_approved_at_once_is_no_event(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """No conflict: approved when filed, nothing for anyone to approve or decide."""
        await create_endpoint(admin, rx.url, ["plan.pending", "plan.decided"])
        await put_customer(admin)
        assert (await file_plan(admin))["status"] == "approved"
        assert await send(app) == 0


class TestCustomerEvents:
    async def test_an_unsubscribe_is_customer_opted_out(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """An engagement with outcome unsubscribed: customer.opted_out at the touch's instant,
        with the customer's status (the unsubscribe counted) and what arrived; a redelivery
        of the same touch is no second event."""
        await set_policy(admin, rule())
        await put_customer(admin)
        await touch(admin, NOW - 3 * DAY)
        await create_endpoint(admin, rx.url, ["customer.opted_out"])
        body = {
            "customer_id": "c-1", "channel": "email", "occurred_at": z(NOW - 2 * DAY),
            "kind": "engagement", "outcome": "unsubscribed", "source": "crm",
            "external_id": "unsub-1",
        }  # fmt: skip
        response = await admin.post("/v1/touches", json=body)
        assert response.status_code == 201, response.text
        unsubscribe = response.json()
        assert (await admin.post("/v1/touches", json=body)).status_code == 200  # duplicate
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.opted_out"
        assert event["occurred_at"] == z(NOW - 2 * DAY)
        data = event["data"]
        assert data["customer_id"] == "c-1"
        assert data["status"] == "over_contacted"
        assert data["fatigue"]["unsubscribed_channels"] == ["email"]
        assert data["opt_out"] == {
            "touch_id": unsubscribe["id"], "channel": "email", "outcome": "unsubscribed",
            "occurred_at": z(NOW - 2 * DAY),
        }  # fmt: skip
        await drain_refresh_marks(app, app.state.clock)
        assert {k: v for k, v in data.items() if k != "opt_out"} == await status(admin)

    async def test_a_complaint_is_customer_opted_out(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver
    ) -> None:
        """A complaint on sms too; an open is not."""
        await set_policy(admin, rule())
        await put_customer(admin)
        sent = await touch(admin, NOW - 3 * DAY, "sms")
        await create_endpoint(admin, rx.url, ["customer.opted_out"])
        await touch(
            admin, NOW - 2 * DAY, "sms", kind="engagement", outcome="opened",
            ref_external_id=sent["external_id"],
        )  # fmt: skip
        complaint = await touch(admin, NOW - DAY, "sms", kind="engagement", outcome="complained")
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.opted_out"
        assert event["occurred_at"] == z(NOW - DAY)
        assert event["data"]["customer_id"] == "c-1"
        assert event["data"]["status"] == "over_contacted"
        assert event["data"]["opt_out"]["channel"] == "sms"
        assert event["data"]["opt_out"]["outcome"] == "complained"
        assert event["data"]["opt_out"]["touch_id"] == complaint["id"]

    async def test_over_contacted_is_sent_once(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Touches beyond a cap (3 in 7 days, 2 allowed): customer.over_contacted when the
        refresh stores the verdict, with the status as GET answers it; further touches and
        refreshes while still over: nothing more."""
        capped = rule(follow_up_days=3, overdue_after_days=6, caps=[{"window_days": 7, "max": 2}])
        await set_policy(admin, capped)
        await put_customer(admin)
        await create_endpoint(admin, rx.url, ["customer.over_contacted"])
        await touch(admin, NOW - 5 * DAY)
        await touch(admin, NOW - 4 * DAY)
        await drain_refresh_marks(app, clock)
        assert await send(app) == 0
        await touch(admin, NOW - 2 * DAY)
        await drain_refresh_marks(app, clock)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.over_contacted"
        assert event["occurred_at"] == z(NOW)
        assert event["data"] == await status(admin)
        assert event["data"]["status"] == "over_contacted"
        assert event["data"]["caps"][0]["used"] == 3
        await touch(admin, NOW - DAY)
        await drain_refresh_marks(app, clock)
        await drain_refresh_marks(app, clock)
        assert await send(app) == 0
        assert len(rx.received) == 1

    async def test_suppressed_is_sent_once(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """A pause makes the customer suppressed: customer.suppressed once, not again when
        the profile is written again while still paused."""
        await set_policy(admin, rule())
        await put_customer(admin)
        await touch(admin, NOW - DAY)
        await drain_refresh_marks(app, clock)
        await create_endpoint(admin, rx.url, ["customer.suppressed"])
        paused = {"paused_until": z(NOW + 10 * DAY)}
        await put_customer(admin, preferences=paused)
        await drain_refresh_marks(app, clock)
        assert await send(app) == 1
        [event] = bodies(rx)
        assert event["type"] == "customer.suppressed"
        assert event["occurred_at"] == z(NOW)
        assert event["data"] == await status(admin)
        await put_customer(admin, preferences=paused, segment="gold")
        await drain_refresh_marks(app, clock)
        assert await send(app) == 0


class TestDeliveryList:
    async def test_deliveries_filter_by_status_and_page(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """Newest event first; ?status= keeps that status; limit=1 and the cursor walk them
        all, each once."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed", "lock.released"])
        await put_customer(admin)
        await put_customer(admin, "c-2")
        lock = await claim(admin)
        assert await send(app) == 1
        clock.set(NOW + MINUTE)
        await release(admin, lock["id"])
        clock.set(NOW + 2 * MINUTE)
        await claim(admin, "c-2")
        response = await patch_endpoint(admin, endpoint["id"], status="disabled")
        assert response.status_code == 200
        listed = await deliveries(admin, endpoint["id"])
        assert [(d["type"], d["status"], d["occurred_at"]) for d in listed] == [
            ("lock.claimed", "failed", z(NOW + 2 * MINUTE)),
            ("lock.released", "failed", z(NOW + MINUTE)),
            ("lock.claimed", "succeeded", z(NOW)),
        ]
        assert listed[0]["attempts"] == 0
        assert listed[0]["last_status"] is None
        assert listed[0]["last_error"]
        failed = await deliveries(admin, endpoint["id"], status="failed")
        assert failed == listed[:2]
        assert await deliveries(admin, endpoint["id"], status="succeeded") == listed[2:]
        assert await deliveries(admin, endpoint["id"], status="pending") == []
        paged = await deliveries(admin, endpoint["id"], limit=1)
        assert paged == listed
        first = await admin.get(
            f"/v1/event-endpoints/{endpoint['id']}/deliveries", params={"limit": 1}
        )
        assert len(first.json()["items"]) == 1
        assert first.json()["next_cursor"] is not None

    @pytest.mark.parametrize(
        "params",
        [
            pytest.param({"status": "sent"}, id="unknown-status"),
            pytest.param({"limit": 0}, id="limit-0"),
            pytest.param({"limit": 501}, id="limit-501"),
            pytest.param({"cursor": "forged"}, id="forged-cursor"),
        ],
    )
    async def test_a_bad_query_is_422(
        self, admin: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        endpoint = await create_endpoint(admin, NOWHERE, ["lock.claimed"])
        response = await admin.get(
            f"/v1/event-endpoints/{endpoint['id']}/deliveries", params=params
        )
        assert_problem(response, 422)

    async def test_an_unknown_endpoints_deliveries_are_404(self, admin: httpx.AsyncClient) -> None:
        assert_problem(await admin.get(f"/v1/event-endpoints/{uuid.uuid4()}/deliveries"), 404)


class TestMetrics:
    async def test_deliveries_are_counted(
        self,
        app: FastAPI,
        admin: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        rx: Receiver,
        clock: FixedClock,
    ) -> None:
        """touchbase_event_deliveries_total counts attempts by outcome and status class: a
        503 retried, then a 200."""
        name = "touchbase_event_deliveries_total"
        before = (await anonymous.get("/metrics")).text
        await create_endpoint(admin, rx.url, ["lock.claimed"])
        await put_customer(admin)
        await claim(admin)
        rx.answer(503)
        assert await send(app) == 1
        clock.set(NOW + 6 * SECOND)
        assert await send(app) == 1
        response = await anonymous.get("/metrics")
        assert response.status_code == 200
        after = response.text
        assert f"# TYPE {name} counter" in after
        succeeded = {"outcome": "succeeded", "status": "2xx"}
        retried = {"outcome": "pending", "status": "5xx"}
        assert sample(after, name, **succeeded) - sample(before, name, **succeeded) == 1
        assert sample(after, name, **retried) - sample(before, name, **retried) == 1


class TestPruning:
    async def test_ended_events_go_after_30_days_pending_ones_stay(
        self, app: FastAPI, admin: httpx.AsyncClient, rx: Receiver, clock: FixedClock
    ) -> None:
        """A delivered event is kept (and listed) for 30 days, then deleted with its
        delivery; an event still pending somewhere is kept however old it is."""
        endpoint = await create_endpoint(admin, rx.url, ["lock.claimed"])
        slow = await create_endpoint(admin, NOWHERE, ["lock.released"])
        await put_customer(admin)
        lock = await claim(admin)
        assert await send(app) == 1
        await release(admin, lock["id"])
        clock.set(NOW + 30 * DAY)
        await prune_ended(app.state.database, clock)
        assert len(await deliveries(admin, endpoint["id"])) == 1
        clock.set(NOW + 30 * DAY + SECOND)
        assert await prune_ended(app.state.database, clock) >= 1
        assert await deliveries(admin, endpoint["id"]) == []
        [pending] = await deliveries(admin, slow["id"])
        assert pending["status"] == "pending"
