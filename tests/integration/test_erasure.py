"""Erasure, DELETE /v1/customers/{id} (admin): one transaction forgets the customer and all
about it; the audit log keeps its decisions under a pseudonym; analytics and RFM count the
customer no more; the id is free again."""

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FixedClock
from app.erasure import service as erasure
from app.tenants import service as tenants
from tests.conftest import NOW, Tenant
from tests.integration.helpers import (
    assert_problem,
    drain_refresh_marks,
    listing,
    put_customer,
    touch,
    touch_body,
    z,
)
from tests.receiver import running_receiver

CONTACTS = "/v1/analytics/contacts"
QUARTER = {"from": "2026-09-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def pseudonym_of(tenant_id: str, customer_id: str) -> str:
    return "erased:" + hashlib.sha256(f"{tenant_id}/{customer_id}".encode()).hexdigest()


async def tenant_id_of(app: FastAPI, tenant: Tenant) -> str:
    async with app.state.sessionmaker() as session:
        found = await session.scalar(
            text("SELECT id::text FROM tenants WHERE name = :name"), {"name": tenant.name}
        )
    assert found is not None
    return str(found)


async def contacts_total(admin: httpx.AsyncClient) -> int:
    response = await admin.get(CONTACTS, params=QUARTER)
    assert response.status_code == 200, response.text
    total: int = response.json()["totals"]["contacts"]
    return total


async def rows_about(app: FastAPI, tenant_id: str, customer_id: str) -> dict[str, int]:
    """How many rows of each table still name the customer."""
    tables = (
        "customers", "touches", "customer_day_counts", "contact_facts", "customer_schedules",
        "status_documents", "refresh_marks", "contact_locks", "contact_plans", "rfm_scores",
        "events", "audit_events",
    )  # fmt: skip
    counts = {}
    async with app.state.sessionmaker() as session:
        for table in tables:
            counts[table] = await session.scalar(
                text(
                    f"SELECT count(*) FROM {table}"
                    " WHERE tenant_id = CAST(:t AS uuid) AND customer_id = :c"
                ),
                {"t": tenant_id, "c": customer_id},
            )
    return counts


async def a_full_history(admin: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    """A profile with contacts, an engagement, a purchase, a lock and a plan."""
    await put_customer(admin, customer_id, name="Ada Lovelace", email="ada@example.com")
    day = NOW - timedelta(days=20)
    mail = await touch(admin, day, customer_id=customer_id, external_id=f"{customer_id}-m")
    await touch(admin, day + timedelta(days=1), "phone", customer_id, direction="inbound")
    await touch(
        admin, day + timedelta(days=2), customer_id=customer_id, kind="engagement",
        outcome="opened", ref_external_id=f"{customer_id}-m",
    )  # fmt: skip
    await touch(admin, day, "shop", customer_id, kind="purchase", amount="120.00")
    lock = await admin.post(
        "/v1/locks", json={"customer_id": customer_id, "holder": {"team": "north"}, "days": 30}
    )
    assert lock.status_code == 201, lock.text
    plan = await admin.post(
        "/v1/contact-plans",
        json={"customer_id": customer_id, "actor": {"team": "south"}, "channel": "visit",
              "planned_at": z(NOW + timedelta(days=2))},
    )  # fmt: skip
    assert plan.status_code == 201, plan.text
    return {"mail": mail, "lock": lock.json(), "plan": plan.json()}


async def test_erasure_forgets_everything_about_the_customer(
    app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, clock: FixedClock
) -> None:
    """After DELETE every read of the customer is 404, no table names it but the audit log's
    pseudonym, analytics dropped exactly its contacts, and a second DELETE is 404."""
    tenant_id = await tenant_id_of(app, tenant)
    await put_customer(admin, "keep")
    await touch(admin, NOW - timedelta(days=10), customer_id="keep")
    made = await a_full_history(admin, "gone")
    with running_receiver() as receiver:
        endpoint = await admin.post(
            "/v1/event-endpoints", json={"url": receiver.url, "events": ["lock.released"]}
        )
        assert endpoint.status_code == 201
        released = await admin.delete(f"/v1/locks/{made['lock']['id']}")
        assert released.status_code == 204
        await drain_refresh_marks(app, clock)
        assert (await admin.post("/v1/rfm/recompute")).status_code in (200, 202)
        before = await contacts_total(admin)

        assert (await admin.delete("/v1/customers/gone")).status_code == 204

        assert await app.state.deliverer.run_once() == 0  # the pending event was dropped
    assert receiver.received == []
    assert await contacts_total(admin) == before - 2  # its email and its call
    for path in (
        "/v1/customers/gone", "/v1/customers/gone/status", "/v1/customers/gone/touches",
        "/v1/customers/gone/locks", "/v1/customers/gone/rfm", f"/v1/touches/{made['mail']['id']}",
        f"/v1/locks/{made['lock']['id']}", f"/v1/contact-plans/{made['plan']['id']}",
    ):  # fmt: skip
        assert_problem(await admin.get(path), 404)
    remaining = await rows_about(app, tenant_id, "gone")
    assert set(remaining.values()) == {0}, remaining
    hidden = pseudonym_of(tenant_id, "gone")
    audited = await listing(admin, "/v1/audit", customer_id=hidden)
    assert {entry["action"] for entry in audited} >= {"lock.claim", "customer.erase"}
    assert "gone" not in str(await listing(admin, "/v1/audit"))
    assert_problem(await admin.delete("/v1/customers/gone"), 404)
    assert (await admin.get("/v1/customers/keep")).status_code == 200


async def test_the_id_is_free_again(app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient) -> None:
    """A later touch under the erased id creates a new, bare profile with only that touch."""
    await a_full_history(admin, "again")
    assert (await admin.delete("/v1/customers/again")).status_code == 204
    await touch(admin, NOW - timedelta(hours=2), customer_id="again")
    profile = (await admin.get("/v1/customers/again")).json()
    assert profile["name"] is None
    assert profile["email"] is None
    assert len(await listing(admin, "/v1/customers/again/touches")) == 1


async def test_the_keys_of_erased_touches_are_kept_as_digests(
    app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    """Each erased touch with an external id leaves the SHA-256 of (source, external id),
    nothing else."""
    tenant_id = await tenant_id_of(app, tenant)
    await put_customer(admin, "digest")
    sent = touch_body(customer_id="digest", external_id="ext-1")
    assert (await admin.post("/v1/touches", json=sent)).status_code == 201
    assert (await admin.delete("/v1/customers/digest")).status_code == 204
    expected = hashlib.sha256(b"crm\x00ext-1").digest()
    async with app.state.sessionmaker() as session:
        kept = await session.scalars(
            text("SELECT key_digest FROM erased_touch_keys WHERE tenant_id = CAST(:t AS uuid)"),
            {"t": tenant_id},
        )
        assert list(kept) == [expected]


@pytest.mark.parametrize("role", ["read", "ingest", "partner"])
async def test_only_an_admin_may_erase(tenant: Tenant, admin: httpx.AsyncClient, role: str) -> None:
    await put_customer(admin, "kept")
    client = await tenant.client(role, partner_id="p-1" if role == "partner" else None)
    assert_problem(await client.delete("/v1/customers/kept"), 403)
    assert (await admin.get("/v1/customers/kept")).status_code == 200


async def test_another_tenants_customer_is_404(
    admin: httpx.AsyncClient, other_tenant: Tenant
) -> None:
    other = await other_tenant.client("admin")
    await put_customer(other, "theirs")
    assert_problem(await admin.delete("/v1/customers/theirs"), 404)
    assert (await other.get("/v1/customers/theirs")).status_code == 200


async def test_a_touch_arriving_during_erasure_lands_after_it(
    app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two connections: an erasure holds the customer, deleted but not yet committed, while a
    touch for it comes in. The touch waits, then lands after the erasure under a new bare
    profile: no orphan row, nothing of the old history."""
    await a_full_history(admin, "racing")
    async with app.state.sessionmaker() as session:
        principal = await tenants.authenticate(session, await tenant.key("admin"))
    assert principal is not None
    erasing = app.state.sessionmaker()
    committing = erasing.commit
    monkeypatch.setattr(erasing, "commit", lambda: asyncio.sleep(0))  # held open
    await erasure.erase(erasing, principal, "racing", NOW)
    posted = asyncio.create_task(
        admin.post("/v1/touches", json=touch_body(customer_id="racing", external_id="late"))
    )
    await until_a_statement_waits_for_a_lock(app)
    assert not posted.done()
    await committing()
    await erasing.close()
    response = await posted
    assert response.status_code == 201, response.text
    history = await listing(admin, "/v1/customers/racing/touches")
    assert [t["external_id"] for t in history] == ["late"]
    assert (await admin.get("/v1/customers/racing")).json()["name"] is None


async def until_a_statement_waits_for_a_lock(app: FastAPI) -> None:
    for _ in range(500):
        async with app.state.sessionmaker() as session:
            waiting = await session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the touch never waited for the erasure")


async def test_a_redelivery_of_an_erased_touch_stores_nothing(
    app: FastAPI, tenant: Tenant, admin: httpx.AsyncClient
) -> None:
    """The same source and external id after the erasure: 200, a duplicate with no id, and
    no profile or touch comes back; the batch says duplicate too; a new touch is stored."""
    sent = touch_body(customer_id="redelivered", external_id="msg-9")
    assert (await admin.post("/v1/touches", json=sent)).status_code == 201
    assert (await admin.delete("/v1/customers/redelivered")).status_code == 204
    again = await admin.post("/v1/touches", json=sent)
    assert again.status_code == 200, again.text
    assert (again.json()["duplicate"], again.json()["id"]) == (True, None)
    batch = await admin.post("/v1/touches/batch", json={"touches": [sent]})
    assert batch.json()["duplicates"] == 1
    assert batch.json()["results"][0]["id"] is None
    assert_problem(await admin.get("/v1/customers/redelivered"), 404)
    fresh = await admin.post("/v1/touches", json={**sent, "external_id": "msg-10"})
    assert fresh.status_code == 201
    assert len(await listing(admin, "/v1/customers/redelivered/touches")) == 1
