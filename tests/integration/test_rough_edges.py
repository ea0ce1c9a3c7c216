"""Contract revision 1.1's rough edges: idempotency after a crash, the Idempotency-Key judged
after 401/403, forged cursors, keyless operations in the API document, ``Allow`` on a 405,
and time zone names that are not IANA's."""

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from app.clock import FixedClock
from app.idempotency import leases, middleware, repository
from app.idempotency.repository import Claim
from app.tenants import service as tenants
from app.tenants.service import Principal
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    put_customer,
    rule,
    set_policy,
    touch_body_without_external_id,
)

WAIT = 10.0  # seconds before a wait for the service is a failure, not a hang


async def principal_of(app: FastAPI, api_key: str) -> Principal:
    async with app.state.sessionmaker() as session:
        principal = await tenants.authenticate(session, api_key)
    assert principal is not None
    return principal


async def claim_as_another_process(app: FastAPI, owner: Principal, key: str, body: bytes) -> Claim:
    """A claim on POST /v1/touches taken at NOW by a process that then died: nobody renews it."""
    claim = Claim(owner.tenant_id, owner.key_id, key)
    scope = {"method": "POST", "path": "/v1/touches", "query_string": b""}
    async with app.state.sessionmaker() as session:
        held = await repository.claim(
            session, owner.tenant_id, owner.key_id, key, middleware._fingerprint(scope, body),
            NOW, NOW + leases.LEASE, NOW - timedelta(hours=24), run_id=claim.run_id,
        )  # fmt: skip
    assert held is None
    return claim


async def record_of(app: FastAPI, key: str) -> dict[str, Any] | None:
    async with app.state.sessionmaker() as session:
        found = await session.execute(
            text("SELECT state, lease_until, run_id FROM idempotency_keys WHERE key = :key"),
            {"key": key},
        )
        row = found.mappings().one_or_none()
    return dict(row) if row else None


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for the service to get somewhere (never for logic: the clock is the FixedClock)."""
    for _ in range(int(WAIT / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    pytest.fail("the service did not get there in time")


@asynccontextmanager
async def touches_blocked(app: FastAPI) -> AsyncIterator[None]:
    """Hold every touch insert until the block ends, so a POST stays running meanwhile."""
    async with app.state.sessionmaker() as blocker:
        await blocker.execute(text("LOCK TABLE touches IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await blocker.rollback()


class TestIdempotencyAfterACrash:
    async def test_the_lease_is_a_few_seconds(self) -> None:
        lease = leases.LEASE.total_seconds()
        assert lease <= 15
        assert lease >= 3 * leases.RENEW_EVERY_SECONDS  # a missed beat or two does not lapse it

    async def test_a_retry_a_few_seconds_after_the_process_died_runs_at_once(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        body = orjson.dumps(touch_body_without_external_id())
        owner = await principal_of(app, await tenant.key("admin"))
        key = f"k-died-{uuid.uuid4()}"
        await claim_as_another_process(app, owner, key, body)
        headers = {"Idempotency-Key": key, "content-type": "application/json"}
        assert_problem(await admin.post("/v1/touches", content=body, headers=headers), 409)

        clock.set(NOW + leases.LEASE + timedelta(seconds=1))
        retry = await admin.post("/v1/touches", content=body, headers=headers)
        assert retry.status_code == 201, retry.text
        again = await admin.post("/v1/touches", content=body, headers=headers)
        assert (again.status_code, again.json()) == (201, retry.json())
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_a_dead_run_settling_late_cannot_undo_its_successor(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        body = orjson.dumps(touch_body_without_external_id())
        owner = await principal_of(app, await tenant.key("admin"))
        key = f"k-late-{uuid.uuid4()}"
        dead = await claim_as_another_process(app, owner, key, body)
        clock.set(NOW + leases.LEASE + timedelta(seconds=1))
        headers = {"Idempotency-Key": key, "content-type": "application/json"}
        first = await admin.post("/v1/touches", content=body, headers=headers)
        assert first.status_code == 201, first.text

        async with app.state.sessionmaker() as session:  # the dead run's release, arriving late
            await repository.release(session, dead)
            await repository.finish(session, dead, 500, None, b"")
        again = await admin.post("/v1/touches", content=body, headers=headers)
        assert (again.status_code, again.json()) == (201, first.json())

    async def test_a_run_still_going_is_renewed_past_its_first_lease(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        async with touches_blocked(app):
            first = asyncio.create_task(
                admin.post("/v1/touches", json=touch_body_without_external_id(), headers=headers)
            )
            await until(lambda: self._running(app, headers["Idempotency-Key"]))
            clock.set(NOW + leases.LEASE + timedelta(seconds=1))
            await app.state.idempotency_leases.renew()  # one heartbeat, as the process beats

            record = await record_of(app, headers["Idempotency-Key"])
            assert record is not None
            assert record["lease_until"] == clock.now() + leases.LEASE
            repeat = await asyncio.wait_for(
                admin.post("/v1/touches", json=touch_body_without_external_id(), headers=headers),
                WAIT,
            )
            assert_problem(repeat, 409)
            assert repeat.headers["Retry-After"] == "1"
        done = await asyncio.wait_for(first, WAIT)
        assert done.status_code == 201, done.text
        again = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        assert (again.status_code, again.json()) == (201, done.json())

    async def test_the_heartbeat_renews_held_claims_by_itself(
        self, app: FastAPI, tenant: Tenant, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(leases, "RENEW_EVERY_SECONDS", 0.01)
        owner = await principal_of(app, await tenant.key("admin"))
        key = f"k-beat-{uuid.uuid4()}"
        claim = await claim_as_another_process(app, owner, key, b"{}")
        clock.set(NOW + timedelta(minutes=1))
        held: leases.Leases = app.state.idempotency_leases
        held.hold(claim)
        try:
            renewed = clock.now() + leases.LEASE

            async def is_renewed() -> bool:
                record = await record_of(app, key)
                return record is not None and record["lease_until"] == renewed

            await until(is_renewed)
        finally:
            held.drop(claim)

    async def _running(self, app: FastAPI, key: str) -> bool:
        record = await record_of(app, key)
        return record is not None and record["state"] == "running"


class TestTheKeyIsJudgedAfterTheRole:
    BAD_KEYS = pytest.mark.parametrize(
        "bad", ["k" * 300, "k" * 256, ""], ids=["300", "256", "empty"]
    )

    @BAD_KEYS
    async def test_a_read_key_posting_a_touch_gets_403(self, tenant: Tenant, bad: str) -> None:
        reader = await tenant.client("read")
        response = await reader.post(
            "/v1/touches", json=touch_body_without_external_id(), headers={"Idempotency-Key": bad}
        )
        assert_problem(response, 403)

    @BAD_KEYS
    async def test_a_role_refused_elsewhere_gets_403_too(self, tenant: Tenant, bad: str) -> None:
        ingest = await tenant.client("ingest")
        headers = {"Idempotency-Key": bad}
        assert_problem(
            await ingest.post("/v1/api-keys", json={"role": "read"}, headers=headers), 403
        )
        lock = {"customer_id": "c-1", "holder": {"team": "north"}}
        assert_problem(await ingest.post("/v1/locks", json=lock, headers=headers), 403)

    @BAD_KEYS
    async def test_no_api_key_gets_401(self, anonymous: httpx.AsyncClient, bad: str) -> None:
        response = await anonymous.post(
            "/v1/touches", json=touch_body_without_external_id(), headers={"Idempotency-Key": bad}
        )
        assert_problem(response, 401)

    @BAD_KEYS
    @pytest.mark.parametrize("role", ["admin", "ingest"])
    async def test_an_allowed_role_gets_422_naming_the_header(
        self, tenant: Tenant, bad: str, role: str
    ) -> None:
        client = await tenant.client(role)
        response = await client.post(
            "/v1/touches", json=touch_body_without_external_id(), headers={"Idempotency-Key": bad}
        )
        body = assert_problem(response, 422)
        assert ["header", "Idempotency-Key"] in [error["loc"] for error in body["errors"]]
        listed = await client.get("/v1/customers/c-1/touches")
        assert listed.status_code == 404  # nothing ran

    async def test_a_refused_role_claims_nothing_so_another_body_is_403_too(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        reader = await tenant.client("read")
        headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        assert_problem(
            await reader.post(
                "/v1/touches", json=touch_body_without_external_id(), headers=headers
            ),
            403,
        )
        other = touch_body_without_external_id(channel="sms")
        assert_problem(await reader.post("/v1/touches", json=other, headers=headers), 403)
        assert await record_of(app, headers["Idempotency-Key"]) is None

    async def test_a_bad_key_with_a_bad_body_is_still_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches",
            content=b"{",
            headers={"Idempotency-Key": "", "content-type": "application/json"},
        )
        assert_problem(response, 422)


def cursor_of(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


AT = "2026-11-20T03:00:00+00:00"
AN_ID = "8f14e45f-ceea-467f-a0f6-7a1f0b7bd2c9"
BAD_PARTS: list[Any] = [
    2**63, -(2**63) - 1, 2**64 - 1,
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
]  # fmt: skip
# Every list that takes a cursor, with the shape of the cursors it issues.
LISTS: dict[str, list[Any]] = {
    "/v1/customers": ["c-1"],
    "/v1/customers/c-1/touches": [AT, AN_ID],
    "/v1/follow-ups?team=north": [AT, 0, 1.0, AT, "c-1"],
    "/v1/statuses": ["c-1"],
    "/v1/contact-plans": [AT, AN_ID],
    "/v1/locks": [AT, AN_ID],
    "/v1/audit": [AT, AN_ID],
    "/v1/api-keys": [AN_ID],
    "/v1/sources": ["name"],
    "/v1/policy/versions": [1],
}


def forged_cursors(shape: list[Any]) -> Iterator[tuple[str, str]]:
    """The issued shape with one part forged, for every part and every forgery."""
    for index in range(len(shape)):
        for bad in BAD_PARTS:
            yield f"{index}={bad}", cursor_of([*shape[:index], bad, *shape[index + 1 :]])


def flat(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, dict):
        parameters = parameters.values()
    if isinstance(parameters, list | tuple):
        for value in parameters:
            yield from flat(value)
    else:
        yield parameters


def out_of_range(value: Any) -> bool:
    if isinstance(value, datetime):
        return not 2 <= value.year <= 9998
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**63
    return isinstance(value, str) and ("0001-01-01" in value or "9999-12-31" in value)


@contextmanager
def parameters_sent(app: FastAPI) -> Iterator[list[Any]]:
    """Every parameter of every statement the service sends meanwhile."""
    engine = app.state.sessionmaker.kw["bind"].sync_engine
    sent: list[Any] = []

    def record(*args: Any) -> None:
        sent.extend(flat(args[3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestForgedCursors:
    @pytest.mark.parametrize("path", LISTS)
    async def test_every_forged_part_is_422_naming_the_cursor(
        self, app: FastAPI, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin, "c-1")
        separator = "&" if "?" in path else "?"
        for label, cursor in forged_cursors(LISTS[path]):
            with parameters_sent(app) as sent:
                response = await admin.get(f"{path}{separator}cursor={cursor}")
            assert response.status_code == 422, label
            body = assert_problem(response, 422)
            assert [error["loc"] for error in body["errors"]] == [["query", "cursor"]], label
            assert sent, "the key's own lookup is seen"
            assert [value for value in sent if out_of_range(value)] == [], label

    @pytest.mark.parametrize("path", LISTS)
    async def test_the_brief_s_own_forgeries(self, admin: httpx.AsyncClient, path: str) -> None:
        await put_customer(admin, "c-1")
        separator = "&" if "?" in path else "?"
        for key in ([2**63], ["0001-01-01T00:00:00+14:00"], ["9999-12-31T23:59:59-14:00"]):
            response = await admin.get(f"{path}{separator}cursor={cursor_of(key)}")
            body = assert_problem(response, 422)
            assert [error["loc"] for error in body["errors"]] == [["query", "cursor"]]

    @pytest.mark.parametrize("version", [0, -1, 2**31, 2**63 - 1])
    async def test_a_policy_version_beyond_the_column_is_422(
        self, admin: httpx.AsyncClient, version: int
    ) -> None:
        response = await admin.get("/v1/policy/versions", params={"cursor": cursor_of([version])})
        body = assert_problem(response, 422)
        assert [error["loc"] for error in body["errors"]] == [["query", "cursor"]]

    async def test_issued_cursors_still_page(self, admin: httpx.AsyncClient) -> None:
        for index in range(3):
            await set_policy(admin, rule(follow_up_days=7 + index, overdue_after_days=20))
        first = (await admin.get("/v1/policy/versions", params={"limit": 2})).json()
        rest = await admin.get("/v1/policy/versions", params={"cursor": first["next_cursor"]})
        assert rest.status_code == 200, rest.text
        versions = [p["version"] for p in first["items"] + rest.json()["items"]]
        assert versions == [3, 2, 1, 0]


class TestKeylessOperations:
    async def test_the_operations_endpoints_need_no_key_in_the_document(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        document = (await anonymous.get("/openapi.json")).json()
        assert document["security"] == [{"ApiKey": []}]
        for path in ("/healthz", "/readyz", "/metrics"):
            assert document["paths"][path]["get"]["security"] == [], path
            assert (await anonymous.get(path)).status_code in (200, 503)
        keyless = {
            (path, method)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if operation.get("security") == []
        }
        assert keyless == {
            ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"),
            ("/v1/webhooks/{source}", "post"),
        }  # fmt: skip


class TestAllow:
    async def test_a_405_lists_every_method_of_the_path(self, anonymous: httpx.AsyncClient) -> None:
        cases = {
            ("OPTIONS", "/v1/policy"): {"GET", "PUT"},
            ("DELETE", "/v1/policy"): {"GET", "PUT"},
            ("POST", "/v1/customers/c-1"): {"GET", "PUT", "PATCH", "DELETE"},
            ("PUT", "/v1/touches"): {"POST"},
            ("POST", "/healthz"): {"GET"},
        }
        for (method, path), expected in cases.items():
            response = await anonymous.request(method, path)
            assert_problem(response, 405)
            assert set(response.headers["Allow"].split(", ")) == expected, (method, path)

    async def test_every_path_allows_what_it_documents_and_nothing_that_is_405(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        """``/v1/touches/batch`` also allows GET: it routes as ``/v1/touches/{id}``."""
        document = (await anonymous.get("/openapi.json")).json()
        for path, item in document["paths"].items():
            concrete = path.replace("{", "").replace("}", "")
            response = await anonymous.options(concrete)
            assert_problem(response, 405)
            allowed = set(response.headers["Allow"].split(", "))
            assert {method.upper() for method in item} <= allowed, path
            for method in allowed:
                answer = await anonymous.request(method, concrete)
                assert answer.status_code != 405, (method, path)


class TestTimeZoneNames:
    NOT_IANA = pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "utc", "Etc"])

    @NOT_IANA
    async def test_a_profile_refuses_a_zone_that_is_not_iana(
        self, admin: httpx.AsyncClient, zone: str
    ) -> None:
        body = assert_problem(await admin.put("/v1/customers/c-1", json={"timezone": zone}), 422)
        assert ["body", "timezone"] in [error["loc"] for error in body["errors"]]
        await put_customer(admin, "c-1", timezone="Asia/Shanghai")
        patched = await admin.patch("/v1/customers/c-1", json={"timezone": zone})
        assert ["body", "timezone"] in [e["loc"] for e in assert_problem(patched, 422)["errors"]]
        assert (await admin.get("/v1/customers/c-1")).json()["timezone"] == "Asia/Shanghai"

    @NOT_IANA
    async def test_a_policy_refuses_a_zone_that_is_not_iana(
        self, admin: httpx.AsyncClient, zone: str
    ) -> None:
        response = await admin.put("/v1/policy", json={"timezone": zone, "rules": [rule()]})
        body = assert_problem(response, 422)
        assert ["body", "timezone"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "Etc/GMT+5", "US/Eastern"])
    async def test_iana_names_and_links_are_accepted(
        self, admin: httpx.AsyncClient, zone: str
    ) -> None:
        await put_customer(admin, "c-1", timezone=zone)
        await set_policy(admin, timezone=zone)
        assert (await admin.get("/v1/policy")).json()["timezone"] == zone
