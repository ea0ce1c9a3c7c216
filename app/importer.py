"""Bulk import of touches from CSV or NDJSON files: reading records, then loading them in batches.

Reading is pure: each input record becomes a ``Line`` holding the raw touch (a dict, as a request
body would carry it) or the reason it could not be read. Loading validates every raw touch as
``POST /v1/touches/batch`` does and stores each batch in its own transaction.

A record without ``external_id`` is keyed by its content: its ``source`` defaults to ``import``
and its ``external_id`` is ``import-`` plus a SHA-256 of the record, so importing the same file
again stores nothing new (and two identical records of one file are one touch).
"""

import csv
import hashlib
import io
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal, TextIO

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.errors import ErrorItem
from app.tenants.models import Tenant
from app.touches import service
from app.touches.schemas import ItemStatus, TouchIn

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}

FIELDS = (
    "customer_id", "channel", "occurred_at", "kind", "direction", "outcome", "category",
    "automated", "depth", "amount", "source", "external_id", "ref_external_id", "campaign_id",
    "metadata",
)  # fmt: skip
ACTOR_FIELDS = ("rep_id", "team", "partner_id")
REQUIRED = ("customer_id", "channel", "occurred_at")
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
DEFAULT_SOURCE = "import"
KEY_PREFIX = "import-"
KEY_HEX_DIGITS = 40
# Bytes that are not UTF-8 arrive as lone surrogates under the "surrogateescape" handler.
UNDECODABLE = re.compile("[\udc80-\udcff]")

Target = tuple[str, ...]
"""Where a CSV column goes in the raw touch: ``("channel",)`` or ``("actor", "team")``."""


class InputError(Exception):
    """The input as a whole cannot be imported: an unknown format or a bad CSV header."""


@dataclass(frozen=True, slots=True)
class Line:
    """One input record: its raw touch, or where and why it could not be read."""

    number: int
    raw: dict[str, Any] | None = None
    error: tuple[str, str] | None = None


@dataclass(slots=True)
class Summary:
    """What an import did."""

    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        return self.created + self.duplicates + self.rejected

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"imported: created={self.created} duplicates={self.duplicates} "
            f"rejected={self.rejected} lines={self.lines} seconds={self.seconds:.2f} "
            f"rate={self.rate:.0f}/s"
        )


def detect_format(path: str, given: str | None) -> Format:
    """The format named, else the one the file's extension tells."""
    if given is not None:
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r}; use csv or ndjson")
        return "csv" if given == "csv" else "ndjson"
    if path == "-":
        raise InputError("reading standard input needs --format csv|ndjson")
    found = EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise InputError(f"cannot tell the format of {path!r}; name it with --format csv|ndjson")
    return found


@contextmanager
def open_input(path: str, fmt: Format) -> Iterator[TextIO]:
    """The file (or standard input for ``-``) as text; bytes that are not UTF-8 are kept."""
    newline = "" if fmt == "csv" else "\n"
    options: dict[str, Any] = {
        "encoding": "utf-8-sig",
        "errors": "surrogateescape",
        "newline": newline,
    }
    if path != "-":
        with open(path, **options) as stream:
            yield stream
        return
    stream = io.TextIOWrapper(sys.stdin.buffer, **options)
    try:
        yield stream
    finally:
        stream.detach()


def read_lines(stream: TextIO, fmt: Format) -> Iterator[Line]:
    """The records of a stream in the given format."""
    return read_csv(stream) if fmt == "csv" else read_ndjson(stream)


def read_ndjson(stream: Iterable[str]) -> Iterator[Line]:
    """One JSON object a line; blank lines are skipped."""
    for number, text in enumerate(stream, start=1):
        stripped = text.strip()
        if stripped:
            yield ndjson_line(number, stripped)


def ndjson_line(number: int, text: str) -> Line:
    """One NDJSON line as a raw touch."""
    if UNDECODABLE.search(text):
        return Line(number, error=("encoding", "not valid UTF-8"))
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Line(number, error=("json", _json_error(exc)))
    if not isinstance(raw, dict):
        return Line(number, error=("json", "must be a JSON object"))
    return keyed(number, raw)


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg} at column {exc.colno})"


def read_csv(stream: Iterable[str]) -> Iterator[Line]:
    """Records of a CSV file with a header line; the header is checked before any record."""
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"line 1: header: {exc}") from exc
    if header is None:
        return iter(())
    return _csv_records(reader, parse_header(header))


def parse_header(cells: list[str]) -> list[Target]:
    """Where each column goes; unknown, repeated or missing required columns refuse the file."""
    names = [cell.strip() for cell in cells]
    if any(UNDECODABLE.search(name) for name in names):
        raise InputError("line 1: header: not valid UTF-8")
    unknown = [name for name in names if column_path(name) is None]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise InputError(f"line 1: header: unknown column {listed}")
    paths = [path for path in map(column_path, names) if path is not None]
    repeated = sorted({".".join(path) for path in paths if paths.count(path) > 1})
    if repeated:
        raise InputError(f"line 1: header: repeated column {', '.join(repeated)}")
    missing = [name for name in REQUIRED if (name,) not in paths]
    if missing:
        raise InputError(f"line 1: header: missing column {', '.join(missing)}")
    return paths


def column_path(name: str) -> Target | None:
    """A touch field, or ``actor.rep_id`` / ``actor_rep_id`` and the like; None if unknown."""
    if name in FIELDS:
        return (name,)
    for prefix in ("actor.", "actor_"):
        if name.startswith(prefix) and name[len(prefix) :] in ACTOR_FIELDS:
            return ("actor", name[len(prefix) :])
    return None


def _csv_records(reader: Any, paths: list[Target]) -> Iterator[Line]:
    start = reader.line_num + 1
    while True:
        try:
            cells: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Line(start, error=("csv", str(exc)))
        else:
            if any(cells):
                yield csv_line(start, cells, paths)
        start = reader.line_num + 1


def csv_line(number: int, cells: list[str], paths: list[Target]) -> Line:
    """One CSV record as a raw touch; empty cells are absent fields."""
    if len(cells) != len(paths):
        msg = f"has {len(cells)} cells, the header {len(paths)}"
        return Line(number, error=("row", msg))
    raw: dict[str, Any] = {}
    for path, cell in zip(paths, cells, strict=True):
        value = cell.strip()
        if not value:
            continue
        if UNDECODABLE.search(value):
            return Line(number, error=(".".join(path), "not valid UTF-8"))
        try:
            _put(raw, path, _cell_value(path, value))
        except orjson.JSONDecodeError as exc:
            return Line(number, error=(".".join(path), _json_error(exc)))
    return keyed(number, raw)


def _cell_value(path: Target, value: str) -> Any:
    if path == ("metadata",):
        return orjson.loads(value)
    if path == ("automated",):
        return BOOLEANS.get(value.lower(), value)
    return value


def _put(raw: dict[str, Any], path: Target, value: Any) -> None:
    *parents, leaf = path
    target = raw
    for name in parents:
        target = target.setdefault(name, {})
    target[leaf] = value


def keyed(number: int, raw: dict[str, Any]) -> Line:
    """The record, with a key derived from its content when it carries no ``external_id``."""
    if raw.get("external_id") is not None:
        return Line(number, raw=raw)
    try:
        canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        return Line(number, error=("json", str(exc)))
    digest = hashlib.sha256(canonical).hexdigest()[:KEY_HEX_DIGITS]
    source = DEFAULT_SOURCE if raw.get("source") is None else raw["source"]
    return Line(number, raw={**raw, "source": source, "external_id": KEY_PREFIX + digest})


def validate(line: Line, now: datetime) -> TouchIn | list[tuple[str, str]]:
    """The line's touch, or each error as (where, what)."""
    if line.raw is None:
        return [line.error or ("line", "unreadable")]
    parsed = service.parse_item(line.raw, 0, now)
    return parsed if isinstance(parsed, TouchIn) else [_where(error) for error in parsed]


def _where(error: ErrorItem) -> tuple[str, str]:
    # parse_item locates errors in a request body: ["body", "touches", index, *field path].
    path = ".".join(str(part) for part in error.loc[3:])
    return (path or "touch", error.msg)


def describe(number: int, error: tuple[str, str]) -> str:
    """``line N: <where>: <what>``."""
    return f"line {number}: {error[0]}: {error[1]}"


def batches(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    iterator = iter(lines)
    while batch := list(islice(iterator, size)):
        yield batch


async def find_tenant(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Tenant.id).where(Tenant.name == name))


@dataclass(slots=True)
class Loader:
    """Validates and stores batches of lines for one tenant, keeping the tally."""

    sessionmaker: async_sessionmaker[AsyncSession]
    tenant_id: uuid.UUID
    clock: Clock
    report: Callable[[str], None]
    summary: Summary = field(default_factory=Summary)

    async def load(
        self, lines: Iterable[Line], batch_size: int, advance: Callable[[int], Any]
    ) -> Summary:
        """Every line, one transaction per batch; the summary of the whole run."""
        started = time.perf_counter()
        for batch in batches(lines, batch_size):
            await self.load_batch(batch)
            advance(len(batch))
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    async def load_batch(self, batch: list[Line]) -> None:
        """Store the batch's valid touches and commit; report the others."""
        now = self.clock.now()
        valid: list[TouchIn] = []
        for line in batch:
            parsed = validate(line, now)
            if isinstance(parsed, TouchIn):
                valid.append(parsed)
                continue
            self.summary.rejected += 1
            for error in parsed:
                self.report(describe(line.number, error))
        if valid:
            await self._store(valid, now)

    async def _store(self, touches: list[TouchIn], now: datetime) -> None:
        async with self.sessionmaker() as session:
            outcomes = await service.store(session, self.tenant_id, touches, now)
            await session.commit()
        created = sum(outcome.status is ItemStatus.created for outcome in outcomes)
        self.summary.created += created
        self.summary.duplicates += len(outcomes) - created
