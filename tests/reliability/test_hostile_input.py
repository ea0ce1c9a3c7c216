"""Security probes: SQL-ish, odd and huge values in every string field and query parameter.

Each answer must be a 4xx problem document, or a 2xx that stored the value exactly as sent;
never a 5xx. Afterwards every table is still there.
"""

import itertools
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from app.models import Base
from tests.conftest import NOW
from tests.database import asyncpg_dsn
from tests.reliability.document import Operation, operations

VALUES: dict[str, str] = {
    "sql-quote": "'; DROP TABLE touches; --",
    "sql-or": '" OR 1=1 --',
    "unicode": "Zoë 中文 🙂 \u202eevil\u202c Ω≈ç√ \u0301",
    "nul": "a\x00b",
    "10kb": "x'" * 5120,
    "lone-surrogate": "\ud800",
}
Path = tuple[str | int, ...]

CUSTOMER_FIELDS: list[Path] = [
    ("customer_id",), ("name",), ("segment",), ("stage",), ("market",), ("industry",),
    ("owner", "rep_id"), ("owner", "team"), ("timezone",), ("country",), ("email",),
    ("preferences", "opted_out_channels", 0), ("preferences", "preferred_channels", 0),
    ("preferences", "paused_until"), ("preferences", "quiet_hours", "start"),
    ("preferences", "quiet_hours", "end"), ("attributes", "note"), ("attributes", "nested", 0),
]  # fmt: skip
TOUCH_FIELDS: list[Path] = [
    ("customer_id",), ("channel",), ("occurred_at",), ("kind",), ("direction",), ("outcome",),
    ("category",), ("actor", "rep_id"), ("actor", "team"), ("actor", "partner_id"), ("depth",),
    ("amount",), ("source",), ("external_id",), ("ref_external_id",), ("campaign_id",),
    ("metadata", "note"), ("metadata", "nested", 0),
]  # fmt: skip
QUERY_CASES = [
    (op, name) for op in operations() if op.method == "GET" for name in op.query_parameters()
]
PROBLEM_JSON = "application/problem+json"


def label(path: Path) -> str:
    return ".".join(str(part) for part in path)


def with_value(base: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of ``base`` with ``value`` placed at ``path`` (an int part makes a list)."""
    body: dict[str, Any] = json.loads(json.dumps(base))
    node: Any = body
    for part, following in itertools.pairwise(path):
        if isinstance(node, dict):
            node = node.setdefault(str(part), [] if isinstance(following, int) else {})
        else:
            node.append([] if isinstance(following, int) else {})
            node = node[-1]
    last = path[-1]
    if isinstance(node, list):
        node.append(value)
    else:
        node[str(last)] = value
    return body


def at(document: Any, path: Path) -> Any:
    for part in path:
        document = document[part]
    return document


def as_json(body: dict[str, Any]) -> bytes:
    """ASCII JSON: a lone surrogate travels as its escape, as any client could send it."""
    return json.dumps(body).encode()


def judge(response: httpx.Response, what: str) -> str | None:
    """None when the answer is a 4xx problem document or a 2xx; else what is wrong."""
    status = response.status_code
    if status >= 500:
        return f"{what}: {status} {response.text[:300]}"
    if status >= 400 and not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"{what}: {status} is not a problem document: {response.text[:200]}"
    return None


async def assert_tables_exist(database_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        names = {
            row["table_name"]
            for row in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        await conn.fetchval("SELECT count(*) FROM touches")
    finally:
        await conn.close()
    missing = set(Base.metadata.tables) - names
    assert not missing, f"tables gone: {sorted(missing)}"


class TestHostileValuesInACustomerProfile:
    @pytest.mark.parametrize("path", CUSTOMER_FIELDS, ids=label)
    async def test_a_put_refuses_the_value_or_stores_it_verbatim(
        self, admin: httpx.AsyncClient, database_url: str, path: Path
    ) -> None:
        problems = []
        for name, value in VALUES.items():
            customer = f"c-{uuid.uuid4().hex[:8]}"
            base = {"customer_id": customer} if path != ("customer_id",) else {}
            response = await admin.put(
                f"/v1/customers/{customer}",
                content=as_json(with_value(base, path, value)),
                headers={"Content-Type": "application/json"},
            )
            if problem := judge(response, f"{label(path)}={name}"):
                problems.append(problem)
            elif response.status_code < 300:
                read = await admin.get(f"/v1/customers/{customer}")
                if at(response.json(), path) != value or at(read.json(), path) != value:
                    problems.append(f"{label(path)}={name}: stored {at(read.json(), path)!r}")
        assert not problems, "\n".join(problems)
        await assert_tables_exist(database_url)

    @pytest.mark.parametrize("name", list(VALUES))
    async def test_the_customer_id_in_the_path_is_refused_or_kept_verbatim(
        self, admin: httpx.AsyncClient, database_url: str, name: str
    ) -> None:
        path = f"/v1/customers/{quote(VALUES[name], safe='', errors='surrogatepass')}"
        response = await admin.put(path, json={"name": "x"})
        assert judge(response, name) is None
        if response.status_code < 300:
            assert response.json()["customer_id"] == VALUES[name]
        await assert_tables_exist(database_url)


class TestHostileKeysInFreeJson:
    @pytest.mark.parametrize("name", list(VALUES))
    async def test_customer_attributes_and_touch_metadata_keep_the_key_or_refuse_it(
        self, admin: httpx.AsyncClient, database_url: str, name: str
    ) -> None:
        free = {VALUES[name]: "value"}
        put = await admin.put(
            "/v1/customers/c-keys",
            content=as_json({"attributes": free}),
            headers={"Content-Type": "application/json"},
        )
        touch = {
            "customer_id": "c-keys",
            "channel": "email",
            "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
            "metadata": free,
        }
        post = await admin.post(
            "/v1/touches", content=as_json(touch), headers={"Content-Type": "application/json"}
        )
        assert judge(put, f"attributes key {name}") is None
        assert judge(post, f"metadata key {name}") is None
        if put.status_code < 300:
            assert (await admin.get("/v1/customers/c-keys")).json()["attributes"] == free
        if post.status_code < 300:
            assert (await admin.get(f"/v1/touches/{post.json()['id']}")).json()["metadata"] == free
        await assert_tables_exist(database_url)


class TestHostileValuesInATouch:
    @pytest.mark.parametrize("path", TOUCH_FIELDS, ids=label)
    async def test_a_post_refuses_the_value_or_stores_it_verbatim(
        self, admin: httpx.AsyncClient, database_url: str, path: Path
    ) -> None:
        problems = []
        for name, value in VALUES.items():
            base = {
                "customer_id": "c-hostile",
                "channel": "email",
                "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
                "source": "probe",
                "external_id": f"e-{uuid.uuid4().hex[:10]}",
            }
            response = await admin.post(
                "/v1/touches",
                content=as_json(with_value(base, path, value)),
                headers={"Content-Type": "application/json"},
            )
            if problem := judge(response, f"{label(path)}={name}"):
                problems.append(problem)
            elif response.status_code < 300:
                read = await admin.get(f"/v1/touches/{response.json()['id']}")
                if at(response.json(), path) != value or at(read.json(), path) != value:
                    problems.append(f"{label(path)}={name}: stored {at(read.json(), path)!r}")
        assert not problems, "\n".join(problems)
        await assert_tables_exist(database_url)


class TestHostileValuesInQueryParameters:
    @pytest.fixture
    async def customer(self, admin: httpx.AsyncClient) -> str:
        response = await admin.put("/v1/customers/c-probe", json={"name": "Probe"})
        assert response.status_code in (200, 201), response.text
        return "c-probe"

    @pytest.mark.parametrize(
        ("op", "parameter"), QUERY_CASES, ids=[f"{op.label}?{p}" for op, p in QUERY_CASES]
    )
    async def test_a_get_answers_4xx_or_2xx_never_5xx(
        self,
        admin: httpx.AsyncClient,
        customer: str,
        database_url: str,
        op: Operation,
        parameter: str,
    ) -> None:
        encoded = {n: quote(v, safe="", errors="surrogatepass") for n, v in VALUES.items()}
        encoded["bad-utf-8"] = "%FF%FE"
        problems = []
        for name, value in encoded.items():
            response = await admin.get(f"{op.path}?{parameter}={value}")
            if problem := judge(response, f"{parameter}={name}"):
                problems.append(problem)
        assert not problems, "\n".join(problems)
        await assert_tables_exist(database_url)
