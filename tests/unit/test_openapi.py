"""The committed OpenAPI document is the served one, and every operation is documented."""

import json
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.openapi import document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
SERVED = json.loads(document())


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in SERVED["paths"].items()
        for method, operation in item.items()
    ]


def test_committed_document_matches_the_served_one() -> None:
    committed = json.loads(COMMITTED.read_text())
    assert committed == SERVED, "openapi/openapi.json is stale: run `make openapi`"


def test_the_app_serves_the_same_document() -> None:
    assert create_app().openapi() == SERVED


@pytest.mark.parametrize(("path", "method", "operation"), operations())
def test_every_operation_has_a_summary_and_a_description(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    assert operation.get("summary"), f"{method} {path} has no summary"
    assert operation.get("description"), f"{method} {path} has no description"


@pytest.mark.parametrize(("path", "method", "operation"), operations())
def test_every_v1_operation_documents_its_errors(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    if not path.startswith("/v1/"):
        return
    codes = set(operation["responses"])
    assert "401" in codes, f"{method} {path} does not document 401"
    assert codes & {"403", "404", "409", "422"} or path.startswith("/v1/webhooks/")


def _schema(ref: str) -> dict[str, Any]:
    schemas: dict[str, dict[str, Any]] = SERVED["components"]["schemas"]
    return schemas.get(ref.rsplit("/", 1)[-1], {})


def _schema_has_example(schema: dict[str, Any]) -> bool:
    if "$ref" in schema:
        schema = _schema(schema["$ref"])
    if "examples" in schema or "example" in schema:
        return True
    items = schema.get("properties", {}).get("items", {}).get("items", {})
    return bool(items) and _schema_has_example(items)  # a page: its items carry the example


def _has_example(content: dict[str, Any]) -> bool:
    return any(
        "example" in media or "examples" in media or _schema_has_example(media.get("schema", {}))
        for media in content.values()
    )


@pytest.mark.parametrize(("path", "method", "operation"), operations())
def test_every_request_body_has_an_example(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    body = operation.get("requestBody")
    if body is not None:
        assert _has_example(body["content"]), f"{method} {path} has no request example"


@pytest.mark.parametrize(("path", "method", "operation"), operations())
def test_every_success_response_has_an_example(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    for code, response in operation["responses"].items():
        if code.startswith("2") and response.get("content"):
            content = {k: v for k, v in response["content"].items() if "json" in k}
            assert not content or _has_example(content), f"{method} {path} {code} has no example"
