"""``touchbase import --kind customers``: profiles from CSV and NDJSON, bad lines reported,
re-runs that change nothing."""

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import cli, importer
from tests.conftest import Tenant

HEADER = (
    "customer_id,name,segment,stage,market,industry,owner_rep,owner_team,timezone,country,"
    "email,preferences,attributes\n"
)
CSV_BODY = (
    "c-1,Acme Ltd,strategic,lead,b2b,industrial,rep-7,north,Asia/Shanghai,CN,buyer@acme.example,"
    '"{""opted_out_channels"": [""sms""], ""quiet_hours"": {""start"": ""20:00"", ""end"": '
    '""09:00""}}","{""tier"": ""gold""}"\n'
    "c-2,Globex,,Customer,,,,,,,,,\n"  # line 3: a stage that is not a slug
    "c-3,Initech,,lead,,,,,Mars/Olympus,,,,\n"  # line 4: no such zone
    "c-4,Umbrella,,,,,,,,,,{oops,\n"  # line 5: preferences are not JSON
    "c-1,Acme again,,lost,,,,,,,,,\n"  # line 6: repeats line 2
    "\n"  # line 7: blank, skipped
    "c-5,Hooli,,,,,,,,,,,\n"
    "c-6,Too many,,,,,,,,,,,,\n"  # line 9: one cell too many
    ",Nobody,,,,,,,,,,,\n"  # line 10: no customer_id
    'c-7,Pied Piper,,,,,,,,,,"{""paused_until"": ""2027-01-01T00:00:00""}",\n'  # line 11
)
CSV_ERRORS = [
    "line 3: stage: String should match pattern",
    "line 4: timezone: Value error, must be an IANA time zone",
    "line 5: preferences: not valid JSON",
    "line 6: customer_id: repeats the customer_id of line 2",
    "line 9: row: has 14 cells, the header 13",
    "line 10: customer_id: Field required",
    "line 11: preferences.paused_until: Input should have timezone info",
]

NDJSON = b"\n".join(
    [
        b'{"customer_id": "n-1", "name": "Acme", "stage": "lead",'
        b' "owner": {"rep_id": "rep-1", "team": "east"}, "preferences": {"paused_until": null}}',
        b'{"customer_id": "n-2", "name": "Globex"',  # line 2: bad JSON
        b'["not", "an", "object"]',  # line 3
        b'{"customer_id": "n-3", "colour": "red"}',  # line 4: unknown field
        b"",  # line 5: blank, skipped
        b'{"customer_id": "n-4", "attributes": {"source": "erp"}, "country": "DE"}',
        b'{"customer_id": "n-1", "stage": "lost"}',  # line 7: repeats line 1
        b'{"customer_id": "n-\xff"}',  # line 8: not UTF-8
        b'{"customer_id": "n-5", "owner": {"team": "Not A Slug"}}',  # line 9
    ]
)
NDJSON_ERRORS = [
    "line 2: json: not valid JSON",
    "line 3: json: must be a JSON object",
    "line 4: colour: Extra inputs are not permitted",
    "line 7: customer_id: repeats the customer_id of line 1",
    "line 8: encoding: not valid UTF-8",
    "line 9: owner.team: String should match pattern",
]
SUMMARY = re.compile(
    r"^imported: created=(\d+) replaced=(\d+) rejected=(\d+) lines=(\d+) "
    r"seconds=\d+\.\d\d rate=\d+/s$"
)


async def run_import(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, tuple[int, ...] | None, list[str]]:
    """Exit status, (created, replaced, rejected, lines) from the summary, stderr lines."""
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["import", "--kind", "customers", *argv])
    out, err = capsys.readouterr()
    found = SUMMARY.match(out.splitlines()[-1]) if out else None
    counts = tuple(int(n) for n in found.groups()) if found else None
    return code, counts, err.splitlines()


def assert_reported(errors: list[str], expected: list[str]) -> None:
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(start), (line, start)


async def profiles(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    page = (await client.get("/v1/customers", params={"limit": 500})).json()
    return {item["customer_id"]: item for item in page["items"]}


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
async def reader(tenant: Tenant) -> httpx.AsyncClient:
    return await tenant.client("read")  # creates the tenant


async def test_csv_reports_bad_lines_and_a_rerun_changes_nothing(
    tmp_path: Path, tenant: Tenant, reader: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + CSV_BODY)
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant.name)
    assert (code, counts) == (0, (2, 0, 7, 9))
    assert_reported(errors, CSV_ERRORS)
    stored = await profiles(reader)
    assert set(stored) == {"c-1", "c-5"}
    acme = stored["c-1"]
    assert (acme["name"], acme["segment"], acme["stage"]) == ("Acme Ltd", "strategic", "lead")
    assert acme["owner"] == {"rep_id": "rep-7", "team": "north"}
    assert acme["preferences"]["opted_out_channels"] == ["sms"]
    assert acme["preferences"]["quiet_hours"] == {"start": "20:00", "end": "09:00"}
    assert acme["attributes"] == {"tier": "gold"}
    assert stored["c-5"]["stage"] is None

    code, counts, errors = await run_import(
        capsys, str(path), "--tenant", tenant.name, "--batch-size", "2"
    )
    assert (code, counts) == (0, (0, 2, 7, 9))
    assert_reported(errors, CSV_ERRORS)
    assert await profiles(reader) == stored


async def test_ndjson_reports_bad_lines_and_a_rerun_changes_nothing(
    tmp_path: Path, tenant: Tenant, reader: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "customers.ndjson"
    path.write_bytes(NDJSON)
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant.name)
    assert (code, counts) == (0, (2, 0, 6, 8))
    assert_reported(errors, NDJSON_ERRORS)
    stored = await profiles(reader)
    assert stored["n-1"]["owner"] == {"rep_id": "rep-1", "team": "east"}
    assert (stored["n-4"]["attributes"], stored["n-4"]["country"]) == ({"source": "erp"}, "DE")
    code, counts, _ = await run_import(capsys, str(path), "--tenant", tenant.name)
    assert (code, counts) == (0, (0, 2, 6, 8))
    assert await profiles(reader) == stored


async def test_a_changed_file_replaces_profiles_as_put_does(
    tmp_path: Path, tenant: Tenant, reader: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.ndjson"
    first.write_text(
        '{"customer_id": "a", "stage": "lead", "segment": "strategic"}\n'
        '{"customer_id": "b", "stage": "lead"}\n'
    )
    await run_import(capsys, str(first), "--tenant", tenant.name)
    before = await profiles(reader)
    second = tmp_path / "second.ndjson"
    second.write_text(
        '{"customer_id": "a", "stage": "lead", "name": "A"}\n'
        '{"customer_id": "b", "stage": "customer"}\n'
        '{"customer_id": "c"}\n'
    )
    code, counts, _ = await run_import(capsys, str(second), "--tenant", tenant.name)
    assert (code, counts) == (0, (1, 2, 0, 3))
    after = await profiles(reader)
    assert (after["a"]["name"], after["a"]["segment"]) == ("A", None)
    assert after["a"]["stage_entered_at"] == before["a"]["stage_entered_at"]
    assert after["a"]["updated_at"] > before["a"]["updated_at"]
    assert after["b"]["stage_entered_at"] > before["b"]["stage_entered_at"]


async def test_every_line_rejected_exits_1(
    tmp_path: Path, tenant: Tenant, reader: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,stage\nc 1,lead\nc-2,LEAD\n")
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant.name)
    assert (code, counts) == (1, (0, 0, 2, 2))
    assert_reported(errors, ["line 2: customer_id:", "line 3: stage:"])


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("customer_id,channel", "line 1: header: unknown column 'channel'"),
        ("name,stage", "line 1: header: missing column customer_id"),
        ("customer_id,owner_rep,owner.rep_id", "repeated column owner.rep_id"),
    ],
)
async def test_a_bad_csv_header_refuses_the_file(
    tmp_path: Path,
    tenant: Tenant,
    reader: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    header: str,
    message: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\nc-1,x,y\n")
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant.name)
    assert (code, counts) == (2, None)
    assert message in errors[-1]
    assert await profiles(reader) == {}


async def test_an_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(cli.main, ["import", "x.csv", "--tenant", "t", "--kind", "x"])
    assert code == 2
    assert "invalid choice: 'x'" in capsys.readouterr().err


def test_columns_map_to_profile_fields() -> None:
    column_path = importer.CUSTOMER_COLUMNS.path
    assert column_path("stage") == ("stage",)
    for name in ("owner_rep", "owner.rep_id", "owner_rep_id"):
        assert column_path(name) == ("owner", "rep_id")
    assert column_path("owner_team") == column_path("owner.team") == ("owner", "team")
    assert column_path("owner") is None
    assert column_path("channel") is None


def test_a_csv_record_becomes_a_raw_profile() -> None:
    kind = importer.CustomerKind()
    header = ["customer_id", "owner_rep", "owner_team", "preferences", "attributes", "email"]
    paths = importer.parse_header(header, kind.columns)
    cells = ["c-1", "rep-1", " north ", '{"preferred_channels": ["email"]}', "{}", ""]
    line = importer.csv_line(4, cells, paths, kind)
    assert line.raw == {
        "customer_id": "c-1",
        "owner": {"rep_id": "rep-1", "team": "north"},
        "preferences": {"preferred_channels": ["email"]},
        "attributes": {},
    }
