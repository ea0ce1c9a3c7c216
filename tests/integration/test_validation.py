"""Bad input of every kind: a problem document, never a 500."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.helpers import assert_full_problem

MIB = 1024 * 1024
TOUCH: dict[str, Any] = {
    "customer_id": "c-1",
    "channel": "email",
    "occurred_at": "2026-11-20T02:00:00Z",
    "source": "crm",
    "external_id": "e-1",
}


HEAD = json.dumps(TOUCH)[:-1]  # the touch as JSON text, open for one more field


def raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


def nested_text(depth: int) -> str:
    """``nested(depth)`` as JSON text, for depths Python's own encoder cannot reach."""
    return '{"a":[' * depth + '"leaf"' + "]}" * depth


async def post_raw(
    client: httpx.AsyncClient, method: str, path: str, content: bytes, media: str = "json"
) -> httpx.Response:
    return await client.request(
        method, path, content=content, headers={"content-type": f"application/{media}"}
    )


class TestBodySizeLimit:
    async def test_a_body_over_1_mib_with_content_length_is_413(
        self, admin: httpx.AsyncClient
    ) -> None:
        payload = {**TOUCH, "metadata": {"x": "a" * MIB}}
        assert_full_problem(await admin.post("/v1/touches", json=payload), 413)

    async def test_a_streamed_body_over_1_mib_without_content_length_is_413(
        self, admin: httpx.AsyncClient
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"touches": ["'
            for _ in range(20):
                yield b"a" * 65536
            yield b'"]}'

        response = await admin.post(
            "/v1/touches/batch", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_full_problem(response, 413)

    async def test_a_streamed_body_over_1_mib_with_an_idempotency_key_is_413(
        self, admin: httpx.AsyncClient
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b"a" * 65536

        response = await admin.post(
            "/v1/touches",
            content=chunks(),
            headers={"content-type": "application/json", "Idempotency-Key": "big-1"},
        )
        assert_full_problem(response, 413)

    async def test_a_large_body_without_a_key_is_413_or_401(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.put("/v1/customers/c-1", content=b"x" * (MIB + 1))
        assert response.status_code in (401, 413), response.text

    async def test_a_body_of_just_under_1_mib_is_not_413(self, admin: httpx.AsyncClient) -> None:
        items = [
            {**TOUCH, "external_id": f"e-{i}", "metadata": {"x": "a" * 900}} for i in range(1000)
        ]
        content = json.dumps({"touches": items}).encode()
        assert len(content) < MIB
        response = await post_raw(admin, "POST", "/v1/touches/batch", content)
        assert response.status_code == 200, response.text

    async def test_a_put_over_1_mib_is_413(self, admin: httpx.AsyncClient) -> None:
        body = {"attributes": {"x": "a" * (MIB + 10)}}
        assert_full_problem(await admin.put("/v1/customers/c-1", json=body), 413)


class TestUnstorableStrings:
    @pytest.mark.parametrize("text", ["a\u0000b", "\ud800", "x\udfff"])
    async def test_a_customer_name_postgres_cannot_store_is_422(
        self, admin: httpx.AsyncClient, text: str
    ) -> None:
        content = raw(json.dumps({"name": text}))
        response = await post_raw(admin, "PUT", "/v1/customers/c-1", content)
        body = assert_full_problem(response, 422)
        assert ["body", "name"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize("text", ["a\u0000b", "\ud800"])
    async def test_touch_metadata_postgres_cannot_store_is_422(
        self, admin: httpx.AsyncClient, text: str
    ) -> None:
        for metadata in ({"k": text}, {text: 1}, {"k": [{"deep": text}]}):
            content = raw(json.dumps({**TOUCH, "metadata": metadata}))
            body = assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content), 422)
            assert ["body", "metadata"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize("text", ["a\u0000b", "\ud800"])
    async def test_customer_attributes_postgres_cannot_store_are_422(
        self, admin: httpx.AsyncClient, text: str
    ) -> None:
        content = raw(json.dumps({"attributes": {"k": text}}))
        response = await post_raw(admin, "PUT", "/v1/customers/c-1", content)
        body = assert_full_problem(response, 422)
        assert ["body", "attributes"] in [error["loc"] for error in body["errors"]]

    async def test_a_nul_in_a_merge_patch_is_422(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        for patch in ({"name": "a\u0000"}, {"attributes": {"x": "\u0000"}}, {"email": "a\u0000@b"}):
            content = json.dumps(patch).encode()
            response = await post_raw(
                admin, "PATCH", "/v1/customers/c-1", content, "merge-patch+json"
            )
            assert_full_problem(response, 422)

    async def test_a_nul_in_an_api_key_name_is_422(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/api-keys", json={"role": "read", "name": "a\u0000"})
        assert_full_problem(response, 422)

    async def test_a_nul_in_a_batch_item_rejects_only_that_item(
        self, admin: httpx.AsyncClient
    ) -> None:
        items = [TOUCH, {**TOUCH, "external_id": "e-2", "metadata": {"x": "\u0000"}}]
        response = await admin.post("/v1/touches/batch", json={"touches": items})
        assert response.status_code == 200, response.text
        assert [r["status"] for r in response.json()["results"]] == ["created", "rejected"]

    async def test_unicode_that_postgres_can_store_is_kept(self, admin: httpx.AsyncClient) -> None:
        name = "Ācme 株式会社 😀 \u200b"
        response = await admin.put(
            "/v1/customers/c-1", json={"name": name, "attributes": {name: name}}
        )
        assert response.status_code == 201, response.text
        assert (await admin.get("/v1/customers/c-1")).json()["name"] == name


class TestNumbers:
    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
    async def test_non_finite_numbers_in_metadata_are_422(
        self, admin: httpx.AsyncClient, literal: str
    ) -> None:
        content = f'{HEAD}, "metadata": {{"x": {literal}}}}}'
        assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content.encode()), 422)

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
    async def test_non_finite_amounts_are_422(self, admin: httpx.AsyncClient, literal: str) -> None:
        content = f'{HEAD}, "amount": {literal}}}'
        assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content.encode()), 422)

    @pytest.mark.parametrize("literal", ["NaN", "Infinity"])
    async def test_non_finite_numbers_in_preferences_are_422(
        self, admin: httpx.AsyncClient, literal: str
    ) -> None:
        content = f'{{"preferences":{{"max_contacts_per_30d":{literal}}}}}'
        assert_full_problem(
            await post_raw(admin, "PUT", "/v1/customers/c-1", content.encode()), 422
        )

    @pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**400])
    async def test_huge_integers_in_json_objects_are_422(
        self, admin: httpx.AsyncClient, number: int
    ) -> None:
        content = json.dumps({**TOUCH, "metadata": {"n": number}}).encode()
        assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content), 422)
        content = json.dumps({"attributes": {"n": [number]}}).encode()
        assert_full_problem(await post_raw(admin, "PUT", "/v1/customers/c-1", content), 422)

    async def test_64_bit_integers_in_json_objects_are_kept(self, admin: httpx.AsyncClient) -> None:
        metadata = {"max": 2**63 - 1, "min": -(2**63), "float": 1.5e300}
        response = await admin.post("/v1/touches", json={**TOUCH, "metadata": metadata})
        assert response.status_code == 201, response.text
        assert response.json()["metadata"] == metadata

    @pytest.mark.parametrize("amount", [10**16, 10**30, 1.00001, "1e20"])
    async def test_amounts_beyond_storage_are_422(
        self, admin: httpx.AsyncClient, amount: Any
    ) -> None:
        response = await admin.post("/v1/touches", json={**TOUCH, "amount": amount})
        body = assert_full_problem(response, 422)
        assert ["body", "amount"] in [error["loc"] for error in body["errors"]]

    async def test_the_largest_storable_amount_is_kept(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post(
            "/v1/touches", json={**TOUCH, "amount": "9999999999999999.9999"}
        )
        assert response.status_code == 201, response.text

    async def test_huge_integers_in_typed_fields_are_422(self, admin: httpx.AsyncClient) -> None:
        body = {"preferences": {"max_contacts_per_30d": 10**40}}
        assert_full_problem(await admin.put("/v1/customers/c-1", json=body), 422)
        assert_full_problem(await admin.get("/v1/customers", params={"limit": 10**40}), 422)


class TestInstants:
    @pytest.mark.parametrize(
        "instant",
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "10000-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-20T25:00:00Z",
            "2026-11-20T09:30:00+25:00",
            "2026-11-20T09:30:00",
            "1763600000",
            "",
        ],
    )
    async def test_a_bad_occurred_at_is_422(self, admin: httpx.AsyncClient, instant: str) -> None:
        response = await admin.post("/v1/touches", json={**TOUCH, "occurred_at": instant})
        body = assert_full_problem(response, 422)
        assert ["body", "occurred_at"] in [error["loc"] for error in body["errors"]]

    @pytest.mark.parametrize(
        "instant",
        ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-11-20T09:30:00"],
    )
    async def test_a_bad_paused_until_is_422(self, admin: httpx.AsyncClient, instant: str) -> None:
        body = {"preferences": {"paused_until": instant}}
        assert_full_problem(await admin.put("/v1/customers/c-1", json=body), 422)

    @pytest.mark.parametrize(
        "instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "nope", "12"]
    )
    async def test_a_bad_history_bound_is_422(self, admin: httpx.AsyncClient, instant: str) -> None:
        await admin.post("/v1/touches", json=TOUCH)
        for param in ("from", "to"):
            response = await admin.get("/v1/customers/c-1/touches", params={param: instant})
            assert_full_problem(response, 422)

    async def test_extreme_but_valid_bounds_are_accepted(self, admin: httpx.AsyncClient) -> None:
        await admin.post("/v1/touches", json=TOUCH)
        params = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"}
        response = await admin.get("/v1/customers/c-1/touches", params=params)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1

    async def test_a_far_future_paused_until_is_kept(self, admin: httpx.AsyncClient) -> None:
        body = {"preferences": {"paused_until": "9999-12-31T23:59:59Z"}}
        response = await admin.put("/v1/customers/c-1", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["preferences"]["paused_until"] == "9999-12-31T23:59:59Z"


class TestNesting:
    async def test_deep_metadata_is_422(self, admin: httpx.AsyncClient) -> None:
        content = json.dumps({**TOUCH, "metadata": nested(300)}).encode()
        body = assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content), 422)
        assert ["body", "metadata"] in [error["loc"] for error in body["errors"]]

    async def test_deep_attributes_are_422(self, admin: httpx.AsyncClient) -> None:
        content = json.dumps({"attributes": nested(200)}).encode()
        assert_full_problem(await post_raw(admin, "PUT", "/v1/customers/c-1", content), 422)

    async def test_moderate_nesting_is_kept(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/v1/touches", json={**TOUCH, "metadata": nested(10)})
        assert response.status_code == 201, response.text
        assert response.json()["metadata"] == nested(10)

    @pytest.mark.parametrize("depth", [2_000, 200_000])
    async def test_a_body_nested_beyond_the_parser_is_a_problem(
        self, admin: httpx.AsyncClient, depth: int
    ) -> None:
        content = b'{"touches":' + b"[" * depth + b"]" * depth + b"}"
        response = await post_raw(admin, "POST", "/v1/touches/batch", content)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_a_deep_merge_patch_is_a_problem(self, admin: httpx.AsyncClient) -> None:
        await admin.put("/v1/customers/c-1", json={})
        content = json.dumps({"attributes": nested(400)}).encode()
        response = await post_raw(admin, "PATCH", "/v1/customers/c-1", content, "merge-patch+json")
        assert_full_problem(response, 422)


class TestMalformedBodies:
    @pytest.mark.parametrize(
        "content",
        [b"", b"{", b"nul", b"\xff\xfe", b'{"a":1}{"b":2}', b"\x00", b'"string"', b"[]", b"null"],
    )
    async def test_a_touch_body_that_is_not_a_touch_is_422(
        self, admin: httpx.AsyncClient, content: bytes
    ) -> None:
        assert_full_problem(await post_raw(admin, "POST", "/v1/touches", content), 422)

    async def test_a_body_with_another_content_type_is_judged_as_json(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.post(
            "/v1/touches",
            content=json.dumps(TOUCH).encode(),
            headers={"content-type": "text/plain"},
        )
        assert response.status_code in (201, 415, 422), response.text

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("customer_id", 5),
            ("customer_id", ["c-1"]),
            ("channel", {"a": 1}),
            ("occurred_at", 1763600000),
            ("occurred_at", True),
            ("kind", 1),
            ("automated", "yes"),
            ("automated", 2),
            ("actor", []),
            ("amount", [1]),
            ("amount", True),
            ("metadata", [1]),
            ("source", None),
        ],
    )
    async def test_wrong_types_in_a_touch_are_422(
        self, admin: httpx.AsyncClient, field: str, value: Any
    ) -> None:
        response = await admin.post("/v1/touches", json={**TOUCH, field: value})
        body = assert_full_problem(response, 422)
        assert any(error["loc"][:2] == ["body", field] for error in body["errors"])

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", ["x"]),
            ("owner", "rep-7"),
            ("owner", {"rep_id": 7}),
            ("preferences", []),
            ("preferences", {"opted_out_channels": "sms"}),
            ("preferences", {"preferred_channels": [1]}),
            ("preferences", {"quiet_hours": "20:00-09:00"}),
            ("preferences", {"max_contacts_per_30d": "four"}),
            ("preferences", {"paused_until": 1763600000}),
            ("attributes", "x"),
            ("timezone", 8),
            ("country", 86),
            ("email", {"a": 1}),
        ],
    )
    async def test_wrong_types_in_a_profile_are_422(
        self, admin: httpx.AsyncClient, field: str, value: Any
    ) -> None:
        response = await admin.put("/v1/customers/c-1", json={field: value})
        body = assert_full_problem(response, 422)
        assert any(error["loc"][:2] == ["body", field] for error in body["errors"])


def nasty_payloads() -> list[tuple[str, bytes]]:
    """Bodies meant to hurt: each must get an answer below 500."""
    json_ish = [
        "", "{", "}", "[", "null", "true", "0", "-0", "1e999", "NaN", "\"\"", "[]", "{}",
        "[[[[[[[[[[", "{\"a\":", "\ufeff{}", "{\"touches\": null}", "{\"touches\": [null]}",
        "{\"touches\": [[]]}", "{\"touches\": {}}", "{\"role\": null}",
        "{\"role\": \"admin\\u0000\"}",
        "{\"name\": \"\\ud800\\udc00\"}", "{\"name\": \"\\udc00\"}", "{\"\\u0000\": 1}",
        "{\"metadata\": {\"\\u0000\": 1}}", "{\"attributes\": {\"\\ud800\": 1}}",
        "{\"occurred_at\": \"9999-12-31T23:59:59-14:00\"}",
        "{\"occurred_at\": \"0000-00-00T00:00:00Z\"}",
        "{\"preferences\": {\"paused_until\": \"9999-12-31T23:59:59-14:00\"}}",
        "{\"preferences\": {\"quiet_hours\": {\"start\": \"24:00\", \"end\": \"-1:00\"}}}",
        "{\"customer_id\": \"" + "x" * 10_000 + "\"}",
        "{\"amount\": 1e308}", "{\"amount\": -1e-308}",
        "{\"amount\": 123456789012345678901234567890}",
        "{\"metadata\": {\"n\": 123456789012345678901234567890}}",
        "{\"attributes\": {\"n\": -123456789012345678901234567890}}",
        "{\"timezone\": \"../../etc/passwd\"}", "{\"timezone\": \"\\u0000\"}",
        "{\"country\": \"\\u0000\\u0000\"}", "{\"email\": \"a@\\u0000\"}",
    ]  # fmt: skip
    payloads = [(text[:40], raw(text)) for text in json_ish]
    for base in (TOUCH, {"name": "x"}, {"role": "read"}, {"touches": [TOUCH]}):
        start = json.dumps(base)[:-1]
        for field in ("metadata", "attributes"):
            payloads.append((f"deep-{field}", raw(f'{start}, "{field}": {nested_text(450)}}}')))
        payloads.append(("huge-int", raw(json.dumps({**base, "metadata": {"n": 10**100}}))))
        payloads.append(("nul-everywhere", raw(json.dumps(dict.fromkeys(base, "\x00")))))
        payloads.append(("surrogates", raw(json.dumps(dict.fromkeys(base, "�")))))
        payloads.append(("numbers", raw(json.dumps(dict.fromkeys(base, 10**50)))))
        payloads.append(("lists", raw(json.dumps({k: [[[]]] for k in base}))))
    payloads.append(("deep-array", b"[" * 50_000 + b"]" * 50_000))
    payloads.append(("deep-object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000))
    payloads.append(("binary", bytes(range(256))))
    payloads.append(("utf16", json.dumps(TOUCH).encode("utf-16")))
    return payloads


WRITE_ENDPOINTS = (
    ("POST", "/v1/api-keys"),
    ("PUT", "/v1/customers/c-nasty"),
    ("PATCH", "/v1/customers/c-nasty"),
    ("POST", "/v1/touches"),
    ("POST", "/v1/touches/batch"),
)


class TestNastyPayloads:
    @pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
    async def test_no_nasty_payload_gets_a_500(
        self, admin: httpx.AsyncClient, method: str, path: str
    ) -> None:
        await admin.put("/v1/customers/c-nasty", json={})
        failures = []
        for media in ("json", "merge-patch+json"):
            for name, content in nasty_payloads():
                response = await post_raw(admin, method, path, content, media)
                if response.status_code >= 500:
                    failures.append((name, response.status_code, response.text[:200]))
                elif response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
        assert failures == []

    async def test_nasty_fields_in_a_batch_never_get_a_500(self, admin: httpx.AsyncClient) -> None:
        values: list[Any] = [
            None, True, 0, -1, 10**30, 1.5, "", "\u0000", "\udfff", "x" * 5000, [], {}, [None],
            {"\u0000": "\u0000"}, "9999-12-31T23:59:59-14:00", "2026-11-20T02:00:00",
        ]  # fmt: skip
        fields = [*TOUCH, "kind", "direction", "outcome", "category", "actor", "automated",
                  "depth", "amount", "ref_external_id", "campaign_id", "metadata"]  # fmt: skip
        items = [
            {**TOUCH, "external_id": None, field: value} for field in fields for value in values
        ]
        content = raw(json.dumps({"touches": items[:1000]}))
        response = await post_raw(admin, "POST", "/v1/touches/batch", content)
        assert response.status_code == 200, response.text
        assert len(response.json()["results"]) == len(items[:1000])

    async def test_nasty_query_parameters_never_get_a_500(self, admin: httpx.AsyncClient) -> None:
        await admin.post("/v1/touches", json=TOUCH)
        values = [
            "\u0000",
            "%00",
            "x" * 5000,
            "-1",
            "1e10",
            "[]",
            "{}",
            "\udfff",
            "é",
            "' OR 1=1 --",
        ]
        paths = ["/v1/customers", "/v1/customers/c-1/touches", "/v1/api-keys"]
        params = ["limit", "cursor", "segment", "stage", "owner_rep", "team", "from", "to",
                  "channel", "kind"]  # fmt: skip
        failures = []
        for path in paths:
            for param in params:
                for value in values:
                    query = httpx.QueryParams(
                        {param: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")}
                    )
                    response = await admin.get(path, params=query)
                    if response.status_code >= 500:
                        failures.append((path, param, value[:20], response.status_code))
        assert failures == []

    async def test_nasty_path_ids_never_get_a_500(self, admin: httpx.AsyncClient) -> None:
        ids = ["%00", "%C0%80", "%FF", "..", "a%2Fb", "x" * 5000, "%E2%80%8B", "c%20d"]
        failures = []
        for customer_id in ids:
            for method, path in (
                ("GET", f"/v1/customers/{customer_id}"),
                ("PUT", f"/v1/customers/{customer_id}"),
                ("PATCH", f"/v1/customers/{customer_id}"),
                ("GET", f"/v1/customers/{customer_id}/touches"),
                ("GET", f"/v1/touches/{customer_id}"),
                ("DELETE", f"/v1/api-keys/{customer_id}"),
            ):
                body: dict[str, Any] | None = None if method in ("GET", "DELETE") else {}
                response = await admin.request(method, path, json=body)
                if response.status_code >= 500:
                    failures.append((method, path[:60], response.status_code))
        assert failures == []
