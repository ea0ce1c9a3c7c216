import asyncio
import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from standardwebhooks import Webhook

from app.clock import FixedClock
from tests.conftest import NOW

T0 = int(NOW.timestamp()) - 3600
MSG = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
NOT_SIGNED = "The webhook is not signed by a known source."


def touch(customer_id: str = "c-1", **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": "email",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        **extra,
    }


class Generic:
    """A partner posting Standard Webhooks to one generic source."""

    def __init__(self, client: httpx.AsyncClient, name: str, secret: str) -> None:
        self.client = client
        self.name = name
        self.secret = secret

    def headers(self, body: bytes, msg_id: str, at: datetime = NOW) -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(self.secret).sign(msg_id, at, body.decode()),
            "content-type": "application/json",
        }

    async def post(self, payload: Any, msg_id: str = "msg_1", at: datetime = NOW) -> httpx.Response:
        body = orjson.dumps(payload)
        return await self.client.post(
            f"/v1/webhooks/{self.name}", content=body, headers=self.headers(body, msg_id, at)
        )


class SendGrid:
    """SendGrid posting its Event Webhook to one sendgrid source."""

    def __init__(self, client: httpx.AsyncClient, name: str, key: ec.EllipticCurvePrivateKey):
        self.client = client
        self.name = name
        self.key = key

    def headers(self, body: bytes, at: datetime = NOW) -> dict[str, str]:
        timestamp = str(int(at.timestamp()))
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "content-type": "application/json",
        }

    async def post(self, events: Any, at: datetime = NOW) -> httpx.Response:
        body = orjson.dumps(events)
        return await self.client.post(
            f"/v1/webhooks/{self.name}", content=body, headers=self.headers(body, at)
        )


@pytest.fixture
async def generic(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, unique: Callable[[str], str]
) -> Generic:
    name = unique("crm")
    created = await admin.post("/v1/sources", json={"name": name, "kind": "generic"})
    assert created.status_code == 201, created.text
    return Generic(anonymous, name, created.json()["secret"])


@pytest.fixture
async def sg(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, unique: Callable[[str], str]
) -> SendGrid:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = {
        "name": unique("sg"),
        "kind": "sendgrid",
        "verification_public_key": base64.b64encode(der).decode(),
    }
    created = await admin.post("/v1/sources", json=body)
    assert created.status_code == 201, created.text
    return SendGrid(anonymous, body["name"], key)


async def history(admin: httpx.AsyncClient, customer_id: str, **params: str) -> list[Any]:
    response = await admin.get(f"/v1/customers/{customer_id}/touches", params=params)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == NOT_SIGNED


# --- generic ------------------------------------------------------------------------------


async def test_generic_single_touch(generic: Generic, admin: httpx.AsyncClient) -> None:
    response = await generic.post(touch(source="someone-else"), msg_id="msg_abc")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 1
    assert (body["duplicates"], body["skipped"], body["rejected"]) == (0, 0, 0)
    [result] = body["results"]
    assert result["index"] == 0
    assert result["status"] == "created"
    assert result["errors"] is None
    [stored] = await history(admin, "c-1")
    assert stored["id"] == result["id"]
    assert stored["source"] == generic.name
    assert stored["external_id"] == "msg_abc:0"


async def test_generic_batch(generic: Generic, admin: httpx.AsyncClient) -> None:
    items = [
        touch("c-1", external_id="own-1"),
        touch("c-1", channel="phone"),
        touch("c-2", channel="Not A Slug"),
        touch("c-2", external_id="own-1"),
    ]
    response = await generic.post({"touches": items}, msg_id="msg_batch")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicates"], body["rejected"]) == (2, 1, 1)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created", "created", "rejected", "duplicate"]
    assert body["results"][3]["id"] == body["results"][0]["id"]
    assert body["results"][2]["errors"][0]["loc"] == ["body", "touches", 2, "channel"]
    stored = await history(admin, "c-1")
    assert sorted(t["external_id"] for t in stored) == ["msg_batch:1", "own-1"]
    assert {t["source"] for t in stored} == {generic.name}


async def test_generic_redelivery_stores_nothing_new(
    generic: Generic, admin: httpx.AsyncClient
) -> None:
    payload = {"touches": [touch("c-1"), touch("c-1", channel="sms")]}
    first = await generic.post(payload, msg_id="msg_again")
    assert first.json()["created"] == 2, first.text
    later = NOW + timedelta(minutes=2)
    again = await generic.post(payload, msg_id="msg_again", at=later)
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0
    assert again.json()["duplicates"] == 2
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert len(await history(admin, "c-1")) == 2
    other = await generic.post(payload, msg_id="msg_other")
    assert other.json()["created"] == 2


async def test_generic_webhook_id_unfit_for_an_id_is_hashed(
    generic: Generic, admin: httpx.AsyncClient
) -> None:
    msg_id = "msg with spaces/" + "x" * 150
    response = await generic.post(touch(), msg_id=msg_id)
    assert response.json()["created"] == 1, response.text
    [stored] = await history(admin, "c-1")
    assert stored["external_id"].startswith("sha256.")
    assert stored["external_id"].endswith(":0")
    assert (await generic.post(touch(), msg_id=msg_id)).json()["duplicates"] == 1


async def test_generic_invalid_single_touch_is_reported(generic: Generic) -> None:
    response = await generic.post({"customer_id": "c-1", "occurred_at": "2026-11-20T00:00:00"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rejected"] == 1
    locs = [e["loc"] for e in body["results"][0]["errors"]]
    assert ["body", "channel"] in locs
    assert ["body", "occurred_at"] in locs


async def test_generic_future_touch_is_rejected(generic: Generic) -> None:
    later = (NOW + timedelta(minutes=10)).isoformat()
    response = await generic.post(touch(occurred_at=later))
    assert response.json()["results"][0]["status"] == "rejected", response.text


@pytest.mark.parametrize(
    "payload", [[touch()], "text", 5, {"touches": []}, {"touches": "x"}, {"touches": [], "x": 1}]
)
async def test_generic_body_of_another_shape_is_422(generic: Generic, payload: Any) -> None:
    response = await generic.post(payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_generic_body_not_json_is_422(generic: Generic) -> None:
    body = b"{not json"
    response = await generic.client.post(
        f"/v1/webhooks/{generic.name}", content=body, headers=generic.headers(body, "m")
    )
    assert response.status_code == 422, response.text


async def test_generic_bad_signature(generic: Generic, admin: httpx.AsyncClient) -> None:
    body = orjson.dumps(touch())
    headers = Generic(generic.client, generic.name, "whsec_" + "A" * 44).headers(body, "m")
    assert_unauthorized(
        await generic.client.post(f"/v1/webhooks/{generic.name}", content=body, headers=headers)
    )
    headers["webhook-signature"] = "v1,garbage v1 ,, v2,x"
    assert_unauthorized(
        await generic.client.post(f"/v1/webhooks/{generic.name}", content=body, headers=headers)
    )
    assert (await admin.get("/v1/customers/c-1")).status_code == 404


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_generic_missing_header(generic: Generic, missing: str) -> None:
    body = orjson.dumps(touch())
    headers = generic.headers(body, "m")
    del headers[missing]
    response = await generic.client.post(
        f"/v1/webhooks/{generic.name}", content=body, headers=headers
    )
    assert_unauthorized(response)


async def test_generic_tampered_body(generic: Generic) -> None:
    body = orjson.dumps(touch())
    headers = generic.headers(body, "m")
    tampered = orjson.dumps(touch(customer_id="c-2"))
    response = await generic.client.post(
        f"/v1/webhooks/{generic.name}", content=tampered, headers=headers
    )
    assert_unauthorized(response)


async def test_generic_stale_and_future_timestamps(generic: Generic, clock: FixedClock) -> None:
    clock.set(NOW + timedelta(minutes=6))
    assert_unauthorized(await generic.post(touch(), at=NOW))
    clock.set(NOW - timedelta(minutes=6))
    assert_unauthorized(await generic.post(touch(), at=NOW))
    clock.set(NOW + timedelta(minutes=4))
    assert (await generic.post(touch(), at=NOW)).status_code == 200


async def test_unknown_source_answers_like_a_bad_signature(
    generic: Generic, unique: Callable[[str], str]
) -> None:
    for name in (unique("nobody"), "Not%20A%20Slug", "x" * 200):
        stranger = Generic(generic.client, name, generic.secret)
        assert_unauthorized(await stranger.post(touch()))


async def test_webhooks_need_no_api_key_and_ignore_one(
    generic: Generic, admin: httpx.AsyncClient
) -> None:
    body = orjson.dumps(touch())
    response = await admin.post(
        f"/v1/webhooks/{generic.name}", content=body, headers=generic.headers(body, "m")
    )
    assert response.status_code == 200, response.text


async def test_sendgrid_headers_do_not_open_a_generic_source(
    generic: Generic, sg: SendGrid
) -> None:
    body = orjson.dumps(touch())
    response = await generic.client.post(
        f"/v1/webhooks/{generic.name}", content=body, headers=sg.headers(body)
    )
    assert_unauthorized(response)
    assert_unauthorized(await Generic(sg.client, sg.name, generic.secret).post(touch()))


# --- sendgrid ------------------------------------------------------------------------------


def event(kind: str, at: int = T0, customer_id: str | None = "c-1", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "event": kind,
        "timestamp": at,
        "email": "buyer@acme.example",
        "sg_message_id": MSG,
        "sg_event_id": f"ev-{kind}-{at}",
        **extra,
    }
    if customer_id is not None:
        raw["customer_id"] = customer_id
    return raw


async def test_sendgrid_processed_and_delivered_make_one_contact(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    response = await sg.post([event("processed", T0), event("delivered", T0 + 30)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicates"]) == (1, 1)
    first, second = body["results"]
    assert (first["status"], second["status"]) == ("created", "duplicate")
    assert first["id"] == second["id"]
    [contact] = await history(admin, "c-1")
    assert contact["kind"] == "contact"
    assert contact["outcome"] == "delivered"
    assert contact["external_id"] == MSG
    assert contact["occurred_at"] == "2026-11-20T02:00:00Z"
    assert (contact["channel"], contact["automated"], contact["category"]) == (
        "email",
        True,
        "marketing",
    )
    assert contact["source"] == sg.name


async def test_sendgrid_delivered_later_updates_the_stored_contact(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    first = await sg.post([event("processed", T0)])
    assert first.json()["created"] == 1, first.text
    [contact] = await history(admin, "c-1")
    assert contact["outcome"] is None
    later = await sg.post([event("delivered", T0 + 60)])
    assert later.json()["results"][0]["status"] == "duplicate", later.text
    assert later.json()["results"][0]["id"] == contact["id"]
    [updated] = await history(admin, "c-1")
    assert updated["outcome"] == "delivered"
    assert updated["occurred_at"] == contact["occurred_at"]


async def test_sendgrid_an_earlier_event_arriving_later_moves_the_contact(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    assert (await sg.post([event("delivered", T0 + 60)])).json()["created"] == 1
    assert (await sg.post([event("processed", T0)])).json()["duplicates"] == 1
    [contact] = await history(admin, "c-1")
    assert contact["occurred_at"] == "2026-11-20T02:00:00Z"
    assert contact["outcome"] == "delivered"


ENGAGEMENTS = {
    "open": "opened",
    "click": "clicked",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "spamreport": "complained",
    "bounce": "bounced",
    "dropped": "bounced",
}


async def test_sendgrid_engagements(sg: SendGrid, admin: httpx.AsyncClient) -> None:
    events = [event(kind, T0 + i) for i, kind in enumerate(ENGAGEMENTS)]
    response = await sg.post([event("delivered", T0 - 10), *events, event("deferred", T0)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["skipped"]) == (8, 1)
    assert body["results"][-1] == {"index": 8, "status": "skipped", "id": None, "errors": None}
    stored = await history(admin, "c-1", kind="engagement")
    by_event = {t["metadata"]["sendgrid_event"]: t for t in stored}
    assert {k: by_event[k]["outcome"] for k in ENGAGEMENTS} == ENGAGEMENTS
    for kind, touch_ in by_event.items():
        assert touch_["external_id"] == f"ev-{kind}-{T0 + list(ENGAGEMENTS).index(kind)}"
        assert touch_["ref_external_id"] == MSG
        assert (touch_["channel"], touch_["automated"], touch_["category"]) == (
            "email",
            True,
            "marketing",
        )
        assert touch_["source"] == sg.name


async def test_sendgrid_customer_by_email_case_insensitive(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    put = await admin.put("/v1/customers/c-mail", json={"email": "Buyer@Acme.Example"})
    assert put.status_code == 201, put.text
    response = await sg.post([event("open", customer_id=None, email="BUYER@acme.example")])
    assert response.json()["created"] == 1, response.text
    [stored] = await history(admin, "c-mail")
    assert stored["outcome"] == "opened"


async def test_sendgrid_custom_argument_wins_and_creates_the_profile(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    await admin.put("/v1/customers/c-mail", json={"email": "buyer@acme.example"})
    response = await sg.post([event("click", customer_id="c-new")])
    assert response.json()["created"] == 1, response.text
    assert len(await history(admin, "c-new")) == 1
    assert await history(admin, "c-mail") == []


async def test_sendgrid_no_or_several_matches_are_skipped(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    for customer_id in ("c-a", "c-b"):
        await admin.put(f"/v1/customers/{customer_id}", json={"email": "Shared@acme.example"})
    response = await sg.post(
        [
            event("open", customer_id=None, email="shared@acme.example"),
            event("open", customer_id=None, email="nobody@acme.example", sg_event_id="e2"),
            event("open", customer_id=None, email=None, sg_event_id="e3"),
        ]
    )
    assert response.status_code == 200, response.text
    assert response.json()["skipped"] == 3
    assert await history(admin, "c-a") == []


async def test_sendgrid_does_not_match_another_tenants_profile(
    sg: SendGrid, admin: httpx.AsyncClient, app: Any, unique: Callable[[str], str]
) -> None:
    from tests.conftest import Tenant

    other = Tenant(app, unique("t"))
    try:
        client = await other.client("admin")
        await client.put("/v1/customers/c-x", json={"email": "buyer@acme.example"})
        response = await sg.post([event("open", customer_id=None)])
        assert response.json()["skipped"] == 1, response.text
    finally:
        await other.close()


async def test_sendgrid_redelivery_and_repeats(sg: SendGrid, admin: httpx.AsyncClient) -> None:
    events = [event("processed"), event("delivered", T0 + 1), event("open"), event("open")]
    first = await sg.post(events)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == [
        "created",
        "duplicate",
        "created",
        "duplicate",
    ]
    again = await sg.post(events, at=NOW + timedelta(minutes=1))
    assert again.json()["duplicates"] == 4, again.text
    assert again.json()["created"] == 0
    assert len(await history(admin, "c-1")) == 2


async def test_sendgrid_invalid_events_are_reported(sg: SendGrid) -> None:
    response = await sg.post(
        [
            event("open", sg_event_id="not valid!"),
            event("delivered", sg_message_id="x" * 200),
            "not an event",
            event("open", T0 + 10**6),
        ]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rejected"] == 4
    locs = [r["errors"][0]["loc"] for r in body["results"]]
    assert locs == [
        ["body", 0, "sg_event_id"],
        ["body", 1, "sg_message_id"],
        ["body", 2],
        ["body", 3, "timestamp"],
    ]


@pytest.mark.parametrize("payload", [{"event": "open"}, "x", None])
async def test_sendgrid_body_not_an_array_is_422(sg: SendGrid, payload: Any) -> None:
    response = await sg.post(payload)
    assert response.status_code == 422, response.text


async def test_sendgrid_empty_array_is_acknowledged(sg: SendGrid) -> None:
    response = await sg.post([])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "created": 0,
        "duplicates": 0,
        "skipped": 0,
        "rejected": 0,
        "results": [],
    }


async def test_sendgrid_bad_signature(sg: SendGrid, admin: httpx.AsyncClient) -> None:
    body = orjson.dumps([event("open")])
    forged = SendGrid(sg.client, sg.name, ec.generate_private_key(ec.SECP256R1()))
    url = f"/v1/webhooks/{sg.name}"
    assert_unauthorized(await sg.client.post(url, content=body, headers=forged.headers(body)))
    headers = sg.headers(body)
    tampered = orjson.dumps([event("click")])
    assert_unauthorized(await sg.client.post(url, content=tampered, headers=headers))
    headers["X-Twilio-Email-Event-Webhook-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    assert_unauthorized(await sg.client.post(url, content=body, headers=headers))
    assert_unauthorized(await sg.client.post(url, content=body))
    assert (await admin.get("/v1/customers/c-1")).status_code == 404


async def test_sendgrid_stale_timestamp(sg: SendGrid, clock: FixedClock) -> None:
    assert_unauthorized(await sg.post([event("open")], at=NOW - timedelta(minutes=6)))
    assert_unauthorized(await sg.post([event("open")], at=NOW + timedelta(minutes=6)))
    clock.set(NOW + timedelta(minutes=10))
    assert_unauthorized(await sg.post([event("open")], at=NOW))


async def test_sendgrid_concurrent_deliveries_of_one_message(
    sg: SendGrid, admin: httpx.AsyncClient
) -> None:
    deliveries = [
        [event("processed", T0 + 5)],
        [event("delivered", T0 + 60)],
        [event("processed", T0)],
    ]
    responses = await asyncio.gather(*(sg.post(events) for events in deliveries))
    statuses = sorted(r.json()["results"][0]["status"] for r in responses)
    assert statuses == ["created", "duplicate", "duplicate"]
    [contact] = await history(admin, "c-1")
    assert contact["outcome"] == "delivered"
    assert contact["occurred_at"] == "2026-11-20T02:00:00Z"
