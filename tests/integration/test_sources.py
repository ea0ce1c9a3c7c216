import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from tests.conftest import Tenant


def public_key(curve: ec.EllipticCurve | None = None) -> str:
    key = ec.generate_private_key(curve or ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


async def test_generic_source_gets_a_secret_once(
    admin: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    name = unique("crm")
    created = await admin.post("/v1/sources", json={"name": name, "kind": "generic"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == name
    assert body["kind"] == "generic"
    assert body["verification_public_key"] is None
    assert body["created_at"] == "2026-11-20T03:00:00Z"
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"), validate=True)) == 32

    listed = await admin.get("/v1/sources")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item == {k: v for k, v in body.items() if k != "secret"}
    assert body["secret"] not in listed.text


async def test_sendgrid_source_keeps_its_key_and_has_no_secret(
    admin: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    key = public_key()
    wrapped = "\n".join(key[i : i + 64] for i in range(0, len(key), 64))
    request = {"name": unique("sg"), "kind": "sendgrid", "verification_public_key": wrapped}
    created = await admin.post("/v1/sources", json=request)
    assert created.status_code == 201, created.text
    assert created.json()["secret"] is None
    assert created.json()["verification_public_key"] == key


async def test_a_taken_name_is_409_for_every_tenant(
    app: FastAPI, admin: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    name = unique("shared")
    assert (await admin.post("/v1/sources", json={"name": name, "kind": "generic"})).is_success
    again = await admin.post("/v1/sources", json={"name": name, "kind": "generic"})
    assert again.status_code == 409, again.text

    other = Tenant(app, unique("t"))
    try:
        client = await other.client("admin")
        taken = await client.post(
            "/v1/sources",
            json={"name": name, "kind": "sendgrid", "verification_public_key": public_key()},
        )
        assert taken.status_code == 409, taken.text
        assert taken.headers["content-type"] == "application/problem+json"
        problem = taken.json()
        assert problem["status"] == 409
        assert problem["errors"] == [{"loc": ["body", "name"], "msg": "is already taken"}]
        assert "tenant" not in taken.text.lower()
        assert (await client.get("/v1/sources")).json()["items"] == []
    finally:
        await other.close()


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x-1", "kind": "generic", "secret": "mine"}, ["body", "secret"]),
        ({"name": "Not A Slug", "kind": "generic"}, ["body", "name"]),
        ({"name": "x-1", "kind": "mailgun"}, ["body", "kind"]),
        ({"kind": "generic"}, ["body", "name"]),
        ({"name": "x-1", "kind": "sendgrid"}, ["body", "verification_public_key"]),
        (
            {"name": "x-1", "kind": "sendgrid", "verification_public_key": "bm90IGEga2V5"},
            ["body", "verification_public_key"],
        ),
        (
            {"name": "x-1", "kind": "sendgrid", "verification_public_key": "not base64!"},
            ["body", "verification_public_key"],
        ),
        (
            {"name": "x-1", "kind": "generic", "verification_public_key": "K"},
            ["body", "verification_public_key"],
        ),
    ],
)
async def test_invalid_requests_are_422(
    admin: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = await admin.post("/v1/sources", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]]


async def test_a_key_on_another_curve_is_422(admin: httpx.AsyncClient) -> None:
    body = {
        "name": "x-2",
        "kind": "sendgrid",
        "verification_public_key": public_key(ec.SECP384R1()),
    }
    response = await admin.post("/v1/sources", json=body)
    assert response.status_code == 422, response.text
    assert "P-256" in response.text


async def test_a_valid_generic_source_with_a_key_names_the_key(
    admin: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    body = {"name": unique("g"), "kind": "generic", "verification_public_key": public_key()}
    response = await admin.post("/v1/sources", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "verification_public_key"]


async def test_no_key_is_401(anonymous: httpx.AsyncClient) -> None:
    for response in (
        await anonymous.post("/v1/sources", json={"name": "x-3", "kind": "generic"}),
        await anonymous.post("/v1/sources", content=b"{not json"),
        await anonymous.get("/v1/sources"),
    ):
        assert response.status_code == 401, response.text


@pytest.mark.parametrize("role", ["ingest", "read", "partner"])
async def test_other_roles_are_403(tenant: Tenant, role: str) -> None:
    client = await tenant.client(role, "p-1" if role == "partner" else None)
    created = await client.post("/v1/sources", json={"name": "x-4", "kind": "generic"})
    assert created.status_code == 403, created.text
    invalid = await client.post("/v1/sources", json={"bogus": True})
    assert invalid.status_code == 403, invalid.text
    assert (await client.get("/v1/sources")).status_code == 403


async def test_list_pages_by_name(admin: httpx.AsyncClient, unique: Callable[[str], str]) -> None:
    prefix = unique("p")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        assert (await admin.post("/v1/sources", json={"name": name, "kind": "generic"})).is_success
    first = (await admin.get("/v1/sources", params={"limit": 2})).json()
    assert [s["name"] for s in first["items"]] == names[:2]
    rest = (
        await admin.get("/v1/sources", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [s["name"] for s in rest["items"]] == names[2:]
    assert rest["next_cursor"] is None


async def test_concurrent_claims_of_one_name_make_one_source(
    app: FastAPI, admin: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    other = Tenant(app, unique("t"))
    try:
        rival = await other.client("admin")
        name = unique("race")
        request = {"name": name, "kind": "generic"}
        responses = await asyncio.gather(
            *(client.post("/v1/sources", json=request) for client in [admin, rival] * 4)
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    finally:
        await other.close()
