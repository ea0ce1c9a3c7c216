"""Idempotency-Key on POSTs: replays within 24 h, scoped to the API key."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FixedClock
from app.idempotency import middleware, repository
from app.tenants import service as tenants
from tests.conftest import NOW, Tenant
from tests.integration.helpers import assert_problem, touch_body_without_external_id


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"idem-{uuid.uuid4()}"}


async def count_touches(client: httpx.AsyncClient, customer_id: str = "c-1") -> int:
    response = await client.get(f"/v1/customers/{customer_id}/touches", params={"limit": 500})
    if response.status_code == 404:
        return 0
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


class TestReplay:
    async def test_a_repeat_of_a_201_touch_replays_it_without_running_again(
        self, admin: httpx.AsyncClient
    ) -> None:
        headers = key()
        body = (
            touch_body_without_external_id()
        )  # no external_id: running it twice would store two touches
        first = await admin.post("/v1/touches", json=body, headers=headers)
        second = await admin.post("/v1/touches", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.json()["duplicate"] is False
        assert second.headers["content-type"] == first.headers["content-type"]
        assert await count_touches(admin) == 1

    async def test_a_repeat_within_24_hours_replays(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        headers = key()
        first = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        clock.set(NOW + timedelta(hours=23, minutes=59))
        second = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        assert (second.status_code, second.json()) == (first.status_code, first.json())
        assert await count_touches(admin) == 1

    async def test_a_repeat_after_24_hours_runs_again(
        self, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        headers = key()
        first = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        clock.set(NOW + timedelta(hours=25))
        second = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        assert second.status_code == 201, second.text
        assert second.json()["id"] != first.json()["id"]
        assert second.json()["received_at"] == "2026-11-21T04:00:00Z"
        assert await count_touches(admin) == 2
        third = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        assert third.json() == second.json()
        assert await count_touches(admin) == 2

    async def test_a_batch_is_replayed(self, admin: httpx.AsyncClient) -> None:
        headers = key()
        payload = {
            "touches": [
                touch_body_without_external_id(),
                touch_body_without_external_id(channel="BAD"),
            ]
        }
        first = await admin.post("/v1/touches/batch", json=payload, headers=headers)
        second = await admin.post("/v1/touches/batch", json=payload, headers=headers)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert await count_touches(admin) == 1

    async def test_an_api_key_creation_is_replayed_with_the_same_key(
        self, admin: httpx.AsyncClient
    ) -> None:
        headers = key()
        first = await admin.post("/v1/api-keys", json={"role": "read"}, headers=headers)
        second = await admin.post("/v1/api-keys", json={"role": "read"}, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        listed = (await admin.get("/v1/api-keys")).json()["items"]
        assert len(listed) == 2  # the fixture's admin key and one new

    async def test_an_error_answer_is_replayed_too(self, admin: httpx.AsyncClient) -> None:
        headers = key()
        bad = touch_body_without_external_id(occurred_at="2030-01-01T00:00:00Z")
        first = await admin.post("/v1/touches", json=bad, headers=headers)
        second = await admin.post("/v1/touches", json=bad, headers=headers)
        assert first.status_code == second.status_code == 422
        assert second.json() == first.json()

    async def test_without_the_header_every_post_runs(self, admin: httpx.AsyncClient) -> None:
        await admin.post("/v1/touches", json=touch_body_without_external_id())
        await admin.post("/v1/touches", json=touch_body_without_external_id())
        assert await count_touches(admin) == 2

    async def test_different_keys_run_independently(self, admin: httpx.AsyncClient) -> None:
        first = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=key()
        )
        second = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=key()
        )
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] != second.json()["id"]
        assert await count_touches(admin) == 2


class TestKeyMisuse:
    async def test_the_same_key_with_another_body_is_422(self, admin: httpx.AsyncClient) -> None:
        headers = key()
        await admin.post("/v1/touches", json=touch_body_without_external_id(), headers=headers)
        other = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(channel="sms"), headers=headers
        )
        assert_problem(other, 422)
        assert await count_touches(admin) == 1

    async def test_the_same_key_on_another_endpoint_is_422(self, admin: httpx.AsyncClient) -> None:
        headers = key()
        await admin.post("/v1/touches", json=touch_body_without_external_id(), headers=headers)
        other = await admin.post(
            "/v1/touches/batch",
            json={"touches": [touch_body_without_external_id()]},
            headers=headers,
        )
        assert_problem(other, 422)
        assert await count_touches(admin) == 1

    async def test_a_key_longer_than_255_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches",
            json=touch_body_without_external_id(),
            headers={"Idempotency-Key": "k" * 256},
        )
        body = assert_problem(response, 422)
        assert ["header", "Idempotency-Key"] in [error["loc"] for error in body["errors"]]
        assert await count_touches(admin) == 0

    async def test_a_key_of_255_is_accepted(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches",
            json=touch_body_without_external_id(),
            headers={"Idempotency-Key": "k" * 255},
        )
        assert response.status_code == 201, response.text

    async def test_an_empty_key_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers={"Idempotency-Key": ""}
        )
        assert_problem(response, 422)

    async def test_without_an_api_key_the_answer_is_401(self, anonymous: httpx.AsyncClient) -> None:
        for header in (key(), {"Idempotency-Key": "k" * 300}):
            assert_problem(
                await anonymous.post(
                    "/v1/touches", json=touch_body_without_external_id(), headers=header
                ),
                401,
            )

    async def test_a_role_not_allowed_is_403(self, tenant: Tenant) -> None:
        reader = await tenant.client("read")
        headers = key()
        assert_problem(
            await reader.post(
                "/v1/touches", json=touch_body_without_external_id(), headers=headers
            ),
            403,
        )
        assert_problem(
            await reader.post(
                "/v1/touches", json=touch_body_without_external_id(), headers=headers
            ),
            403,
        )


class TestScope:
    async def test_another_api_key_with_the_same_idempotency_key_runs_independently(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        ingest = await tenant.client("ingest")
        headers = key()
        first = await admin.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        second = await ingest.post(
            "/v1/touches", json=touch_body_without_external_id(), headers=headers
        )
        assert first.status_code == second.status_code == 201
        assert first.json()["id"] != second.json()["id"]
        assert await count_touches(admin) == 2

    async def test_another_api_key_may_use_the_key_with_another_body(
        self, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        ingest = await tenant.client("ingest")
        headers = key()
        await admin.post("/v1/touches", json=touch_body_without_external_id(), headers=headers)
        second = await ingest.post(
            "/v1/touches", json=touch_body_without_external_id(channel="sms"), headers=headers
        )
        assert second.status_code == 201, second.text

    async def test_get_put_and_patch_ignore_the_header(self, admin: httpx.AsyncClient) -> None:
        headers = key()
        first = await admin.put("/v1/customers/c-1", json={"name": "a"}, headers=headers)
        second = await admin.put("/v1/customers/c-1", json={"name": "b"}, headers=headers)
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json()["name"] == "b"


async def hold(app: FastAPI, api_key: str, idempotency_key: str, body: bytes) -> None:
    """Claim an Idempotency-Key for POST /v1/touches as a request that is still running."""
    async with app.state.sessionmaker() as session:
        principal = await tenants.authenticate(session, api_key)
    assert principal is not None
    scope = {"method": "POST", "path": "/v1/touches", "query_string": b""}
    async with app.state.sessionmaker() as session:
        held = await repository.claim(
            session,
            principal.tenant_id,
            principal.key_id,
            idempotency_key,
            middleware._fingerprint(scope, body),
            NOW,
            NOW + middleware.LEASE,
            NOW - timedelta(hours=24),
        )
    assert held is None


class TestRunningRequest:
    async def test_a_repeat_while_the_first_is_still_running_is_409(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        body = orjson.dumps(touch_body_without_external_id())
        await hold(app, await tenant.key("admin"), "k-running", body)
        response = await admin.post(
            "/v1/touches",
            content=body,
            headers={"Idempotency-Key": "k-running", "content-type": "application/json"},
        )
        assert_problem(response, 409)
        assert await count_touches(admin) == 0

    async def test_another_body_while_the_first_is_running_is_422(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
    ) -> None:
        await hold(
            app,
            await tenant.key("admin"),
            "k-running",
            orjson.dumps(touch_body_without_external_id()),
        )
        response = await admin.post(
            "/v1/touches",
            json=touch_body_without_external_id(channel="sms"),
            headers={"Idempotency-Key": "k-running"},
        )
        assert_problem(response, 422)

    async def test_a_run_abandoned_past_its_lease_is_taken_over(
        self, app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        body = orjson.dumps(touch_body_without_external_id())
        await hold(app, await tenant.key("admin"), "k-abandoned", body)
        clock.set(NOW + middleware.LEASE + timedelta(seconds=1))
        headers = {"Idempotency-Key": "k-abandoned", "content-type": "application/json"}
        response = await admin.post("/v1/touches", content=body, headers=headers)
        assert response.status_code == 201, response.text
        again = await admin.post("/v1/touches", content=body, headers=headers)
        assert again.json() == response.json()
        assert await count_touches(admin) == 1


class TestConcurrentRepeats:
    @pytest.mark.parametrize("count", [20, 50])
    async def test_concurrent_repeats_run_once(self, admin: httpx.AsyncClient, count: int) -> None:
        headers = key()
        body = touch_body_without_external_id()  # no external_id: only the key keeps it single
        responses = await asyncio.gather(
            *(admin.post("/v1/touches", json=body, headers=headers) for _ in range(count))
        )
        statuses = [response.status_code for response in responses]
        assert all(status in (201, 409) for status in statuses), statuses
        assert 201 in statuses
        created = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created) == 1
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409)
        assert await count_touches(admin) == 1
        after = await admin.post("/v1/touches", json=body, headers=headers)
        assert after.status_code == 201
        assert after.json()["id"] in created

    async def test_concurrent_repeats_with_different_bodies_never_500(
        self, admin: httpx.AsyncClient
    ) -> None:
        headers = key()
        responses = await asyncio.gather(
            *(
                admin.post(
                    "/v1/touches",
                    json=touch_body_without_external_id(channel=f"ch{i}"),
                    headers=headers,
                )
                for i in range(10)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses.count(201) == 1, statuses
        assert all(status in (201, 409, 422) for status in statuses), statuses
        assert await count_touches(admin) == 1


class TestExpiry:
    async def test_records_past_their_window_are_purged_by_later_requests(
        self, app: FastAPI, admin: httpx.AsyncClient, clock: FixedClock
    ) -> None:
        old = key()
        await admin.post("/v1/touches", json=touch_body_without_external_id(), headers=old)
        clock.set(NOW + timedelta(hours=25))

        await admin.post(
            "/v1/touches", json=touch_body_without_external_id(external_id="later"), headers=key()
        )

        async with app.state.sessionmaker() as session:
            cutoff = clock.now() - timedelta(hours=24)
            left = await session.scalar(
                text("SELECT count(*) FROM idempotency_keys WHERE created_at < :cutoff"),
                {"cutoff": cutoff},
            )
        assert left == 0
