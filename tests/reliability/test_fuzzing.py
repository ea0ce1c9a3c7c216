"""API fuzzing: schemathesis against a live ``touchbase serve``, with a valid admin key.

Every operation of the served OpenAPI document gets a bounded number of generated requests
(valid and invalid); no answer may be a 5xx, and every answer must be documented: its status
code, its content type, its headers and its body's schema.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.document import DOCUMENT
from tests.reliability.profiles import SHORT, soak
from tests.reliability.scenarios import fresh_database
from tests.reliability.service import Service, create_key, served

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def load_schema(examples: int, *, deterministic: bool) -> BaseSchema:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.config.generation.update(max_examples=examples, deterministic=deterministic)
    return schema


short_schema = load_schema(SHORT.fuzz_examples, deterministic=True)
soak_schema = load_schema(soak().fuzz_examples, deterministic=False)
RELAXED = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True, slots=True)
class Target:
    service: Service
    headers: dict[str, str]


SEED_CUSTOMER = {
    "name": "Acme Ltd",
    "segment": "strategic",
    "stage": "negotiation",
    "owner": {"rep_id": "rep-7", "team": "north-sales"},
}


@pytest.fixture(scope="module")
async def target() -> AsyncIterator[Target]:
    """A service on a database of its own, with the documented example customer in it."""
    async with fresh_database() as url:
        with served(url) as service:
            headers = {"Authorization": f"Bearer {create_key(url, f'fuzz-{uuid.uuid4().hex[:6]}')}"}
            async with httpx.AsyncClient(base_url=service.url, headers=headers) as client:
                response = await client.put("/v1/customers/c-1001", json=SEED_CUSTOMER)
                assert response.status_code in (200, 201), response.text
            yield Target(service, headers)


TestFunction = Callable[..., None]


def parametrized(schema: BaseSchema) -> Callable[[TestFunction], TestFunction]:
    """``schema.parametrize()`` with its type spelled out (schemathesis leaves it bare)."""
    decorator: Callable[[TestFunction], TestFunction] = schema.parametrize()
    return decorator


def call_and_check(case: Case[Any], target: Target) -> None:
    """One generated request; for a 5xx the service's own log lines are printed (and shown)."""
    request_id = f"fuzz-{uuid.uuid4().hex}"
    headers = {**target.headers, "X-Request-ID": request_id}
    response = case.call(base_url=target.service.url, headers=headers)
    if response.status_code >= 500:
        print(
            f"{case.as_curl_command(headers=headers)}\n"
            + "\n".join(target.service.logged(request_id))
        )
    case.validate_response(response, checks=CHECKS, headers=headers)


@parametrized(short_schema)
@RELAXED
def test_no_operation_answers_a_5xx_or_outside_its_document(
    case: Case[Any], target: Target
) -> None:
    call_and_check(case, target)


@pytest.mark.soak
@parametrized(soak_schema)
@RELAXED
def test_no_operation_answers_a_5xx_or_outside_its_document_at_length(
    case: Case[Any], target: Target
) -> None:
    call_and_check(case, target)


YEAR_ONE = "0001-01-01T00:00:00+00:00"


def year_one_touch(**extra: str) -> dict[str, str]:
    return {"customer_id": "c-year-1", "channel": "email", "occurred_at": YEAR_ONE, **extra}


class TestCasesTheFuzzerFound:
    """Failures schemathesis found, kept as plain checks so that they are run every time."""

    async def test_a_contact_at_the_first_instant_of_year_1_is_not_a_server_error(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.post("/v1/touches", json=year_one_touch())
        assert response.status_code < 500, response.text

    async def test_a_batch_with_a_contact_at_the_first_instant_of_year_1_is_not_a_server_error(
        self, admin: httpx.AsyncClient
    ) -> None:
        response = await admin.post("/v1/touches/batch", json={"touches": [year_one_touch()]})
        assert response.status_code < 500, response.text

    async def test_an_engagement_at_the_first_instant_of_year_1_is_refused_or_read_back(
        self, admin: httpx.AsyncClient
    ) -> None:
        engagement = year_one_touch(kind="engagement", outcome="opened", customer_id="c-year-1e")
        response = await admin.post("/v1/touches", json=engagement)
        assert response.status_code < 500, response.text
        if response.status_code < 300:
            history = await admin.get("/v1/customers/c-year-1e/touches")
            assert history.status_code == 200, history.text
            assert history.json()["items"][0]["occurred_at"] == "0001-01-01T00:00:00Z"
