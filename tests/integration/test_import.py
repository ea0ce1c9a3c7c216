"""``touchbase import``: reading CSV and NDJSON, reporting bad lines, idempotent re-runs."""

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import pytest

from app import cli, importer
from tests.conftest import Tenant

CSV_HEADER = "customer_id,channel,occurred_at,actor.rep_id,actor_team,automated,metadata,amount\n"
CSV_BODY = (
    'c-1,email,2025-03-01T09:00:00Z,rep-1,north,true,"{""campaign"": ""spring""}",\n'
    "c-2,phone,2025-03-01T09:00:00,,,,,\n"  # line 3: no offset
    ",phone,2025-03-01T09:00:00Z,,,,,\n"  # line 4: no customer
    "c-3,phone,2999-01-01T00:00:00Z,,,,,\n"  # line 5: the future
    "c-4,visit,2025-03-01T09:00:00+08:00,rep-2,,0,,\n"
    "\n"  # line 7: blank, skipped
    'c-5,"web\nsite",2025-03-01T09:00:00Z,,,,,\n'  # lines 8-9: a bad channel over two lines
    "c-6,phone,2025-03-01T09:00:00Z,,,,,,\n"  # line 10: one cell too many
    "c-7,phone,2025-03-01T09:00:00Z,,,,{oops,\n"  # line 11: metadata is not JSON
    "c-8,shop,2025-03-02T10:00:00Z,,,,,12.50\n"
)
CSV_ERRORS = [
    "line 3: occurred_at: Input should have timezone info",
    "line 4: customer_id: Field required",
    "line 5: occurred_at: must not be more than 5 minutes ahead",
    "line 8: channel: String should match pattern",
    "line 10: row: has 9 cells, the header 8",
    "line 11: metadata: not valid JSON",
]

NDJSON = b"\n".join(
    [
        b'{"customer_id": "n-1", "channel": "email", "occurred_at": "2025-03-01T09:00:00Z",'
        b' "source": "crm", "external_id": "evt-1"}',
        b'{"customer_id": "n-2", "channel": "email"',  # line 2: bad JSON
        b'["not", "an", "object"]',  # line 3
        b'{"customer_id": "n-\xff", "channel": "email", "occurred_at": "2025-03-01T09:00:00Z"}',
        b'{"customer_id": "n-3", "channel": "email", "occurred_at": "2025-03-01T09:00:00Z",'
        b' "colour": "red"}',  # line 5: unknown field
        b"",  # line 6: blank, skipped
        b'{"customer_id": "n\\u0000", "channel": "sms", "occurred_at": "2025-03-01T09:00:00Z"}',
        b"\x00\x00",  # line 8: NUL bytes
        b'{"customer_id": "n-4", "channel": "sms", "occurred_at": "2025-03-01T09:00:00+02:00"}',
        b'{"customer_id": "n-1", "channel": "email", "occurred_at": "2025-03-01T09:00:00Z",'
        b' "source": "crm", "external_id": "evt-1"}',  # line 10: repeats line 1
    ]
)
NDJSON_ERRORS = [
    "line 2: json: not valid JSON",
    "line 3: json: must be a JSON object",
    "line 4: encoding: not valid UTF-8",
    "line 5: colour: Extra inputs are not permitted",
    "line 7: customer_id: String should match pattern",
    "line 8: json: not valid JSON",
]
TOUCHES = importer.TouchKind()
SUMMARY = re.compile(
    r"^imported: created=(\d+) duplicates=(\d+) rejected=(\d+) lines=(\d+) "
    r"seconds=\d+\.\d\d rate=\d+/s$"
)


async def run_import(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, tuple[int, ...] | None, list[str]]:
    """Exit status, (created, duplicates, rejected, lines) from the summary, stderr lines."""
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["import", *argv])
    out, err = capsys.readouterr()
    found = SUMMARY.match(out.splitlines()[-1]) if out else None
    counts = tuple(int(n) for n in found.groups()) if found else None
    return code, counts, err.splitlines()


def assert_reported(errors: list[str], expected: list[str]) -> None:
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(start), (line, start)


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
async def tenant_name(tenant: Tenant) -> str:
    await tenant.key("admin")  # creates the tenant
    return tenant.name


async def test_csv_reports_bad_lines_and_a_rerun_stores_nothing(
    tmp_path: Path, tenant: Tenant, tenant_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "touches.csv"
    path.write_text(CSV_HEADER + CSV_BODY)
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant_name)
    assert code == 0
    assert counts == (3, 0, 6, 9)
    assert_reported(errors, CSV_ERRORS)
    code, counts, errors = await run_import(
        capsys, str(path), "--tenant", tenant_name, "--batch-size", "2"
    )
    assert (code, counts) == (0, (0, 3, 6, 9))
    assert_reported(errors, CSV_ERRORS)
    await assert_c1_stored(tenant)


async def assert_c1_stored(tenant: Tenant) -> None:
    reader = await tenant.client("read")
    listed = await reader.get("/v1/customers/c-1/touches")
    assert listed.status_code == 200, listed.text
    [touch] = listed.json()["items"]
    assert touch["actor"] == {"rep_id": "rep-1", "team": "north", "partner_id": None}
    assert (touch["automated"], touch["metadata"]) == (True, {"campaign": "spring"})
    assert touch["source"] == "import"
    assert touch["external_id"].startswith("import-")


async def test_ndjson_reports_bad_lines_and_a_rerun_stores_nothing(
    tmp_path: Path, tenant_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "touches.jsonl"
    path.write_bytes(NDJSON)
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant_name)
    assert (code, counts) == (0, (2, 1, 6, 9))
    assert_reported(errors, NDJSON_ERRORS)
    code, counts, _ = await run_import(capsys, str(path), "--tenant", tenant_name)
    assert (code, counts) == (0, (0, 3, 6, 9))


async def test_standard_input_needs_a_format(
    tenant_name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, counts, errors = await run_import(capsys, "-", "--tenant", tenant_name)
    assert (code, counts) == (2, None)
    assert "--format" in errors[-1]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(NDJSON)))
    code, counts, _ = await run_import(capsys, "-", "--tenant", tenant_name, "--format", "ndjson")
    assert (code, counts) == (0, (2, 1, 6, 9))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("customer_id,channel,occurred_at,colour", "line 1: header: unknown column 'colour'"),
        ("customer_id,channel", "line 1: header: missing column occurred_at"),
        ("customer_id,channel,occurred_at,actor.team,actor_team", "repeated column actor.team"),
    ],
)
async def test_a_bad_csv_header_refuses_the_file(
    tmp_path: Path,
    tenant_name: str,
    capsys: pytest.CaptureFixture[str],
    header: str,
    message: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\nc-1,email,2025-03-01T09:00:00Z,x,y\n")
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant_name)
    assert (code, counts) == (2, None)
    assert message in errors[-1]


async def test_every_line_rejected_exits_1(
    tmp_path: Path, tenant_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\xff\xfe{\x00\n[]\n")
    code, counts, errors = await run_import(capsys, str(path), "--tenant", tenant_name)
    assert (code, counts) == (1, (0, 0, 2, 2))
    assert_reported(errors, ["line 1: encoding:", "line 2: json:"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["touches.ndjson", "--tenant", "no-such-tenant"], "no tenant named 'no-such-tenant'"),
        (["missing.csv", "--tenant", "x"], "cannot read missing.csv"),
        (["touches.txt", "--tenant", "x"], "cannot tell the format"),
    ],
)
async def test_usage_errors_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "touches.ndjson").write_bytes(NDJSON)
    code, counts, errors = await run_import(capsys, *argv)
    assert (code, counts) == (2, None)
    assert message in errors[-1]


def test_columns_map_to_touch_fields() -> None:
    column_path = importer.TOUCH_COLUMNS.path
    assert column_path("channel") == ("channel",)
    assert column_path("actor.rep_id") == ("actor", "rep_id")
    assert column_path("actor_partner_id") == ("actor", "partner_id")
    assert column_path("actor") is None
    assert column_path("colour") is None


def test_a_csv_record_becomes_a_raw_touch() -> None:
    header = ["customer_id", "channel", "occurred_at", "automated", "depth"]
    paths = importer.parse_header(header, importer.TOUCH_COLUMNS)
    cells = ["c-1", " email ", "2025-01-01T00:00:00Z", "FALSE", ""]
    line = importer.csv_line(7, cells, paths, TOUCHES)
    assert line.number == 7
    raw: dict[str, Any] = dict(line.raw or {})
    assert raw.pop("external_id").startswith(importer.KEY_PREFIX)
    assert raw == {
        "customer_id": "c-1",
        "channel": "email",
        "occurred_at": "2025-01-01T00:00:00Z",
        "automated": False,
        "source": "import",
    }


def key_of(text: str) -> tuple[str, str]:
    raw = importer.ndjson_line(1, text, TOUCHES).raw
    assert raw is not None
    return raw["source"], raw["external_id"]


def test_derived_keys_follow_the_content_only() -> None:
    first = key_of('{"customer_id": "c-1", "channel": "sms", "source": "crm"}')
    again = key_of('{"channel":"sms","source":"crm","customer_id":"c-1"}')
    other = key_of('{"customer_id": "c-2", "channel": "sms", "source": "crm"}')
    assert first == again != other
    assert first[0] == "crm"
    given = importer.ndjson_line(3, '{"customer_id": "c-1", "external_id": "e-1"}', TOUCHES)
    assert given.raw == {"customer_id": "c-1", "external_id": "e-1"}


@pytest.mark.parametrize(
    ("path", "given", "expected"),
    [("a.csv", None, "csv"), ("a.NDJSON", None, "ndjson"), ("a.jsonl", None, "ndjson"),
     ("a.txt", "csv", "csv"), ("-", "ndjson", "ndjson")],
)  # fmt: skip
def test_the_format_comes_from_the_extension(path: str, given: str | None, expected: str) -> None:
    assert importer.detect_format(path, given) == expected
