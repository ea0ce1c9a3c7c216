"""Bulk import of touches or customer profiles from CSV or NDJSON files: reading records, then
loading them in batches.

Reading is pure: each input record becomes a ``Line`` holding the raw record (a dict, as a
request body would carry it) or the reason it could not be read. Loading validates every raw
record as the batch endpoint of its kind does and stores each batch in its own transaction.

Touches: a record without ``external_id`` is keyed by its content: its ``source`` defaults to
``import`` and its ``external_id`` is ``import-`` plus a SHA-256 of the record, so importing the
same file again stores nothing new (and two identical records of one file are one touch).

Customers: each record is a whole profile that creates or replaces it, as
``POST /v1/customers/batch`` does; a record naming the customer of an earlier valid record of
the file is rejected, so what a file stores does not depend on how it is cut into batches, and
importing it again changes nothing.
"""

import asyncio
import csv
import hashlib
import io
import re
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Generic, Literal, TextIO, TypeVar

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.customers import service as customers
from app.customers.schemas import CustomerBatchItem
from app.db import Database
from app.errors import ErrorItem
from app.tenants.models import Tenant
from app.touches import service as touches
from app.touches.schemas import ItemStatus, TouchIn

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}

BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
DEFAULT_SOURCE = "import"
KEY_PREFIX = "import-"
KEY_HEX_DIGITS = 40
# Turns of the event loop a batch's store takes to send its statement (it then waits on the
# socket while the next batch is checked).
STEPS_TO_SEND = 3
# Bytes that are not UTF-8 arrive as lone surrogates under the "surrogateescape" handler.
UNDECODABLE = re.compile("[\udc80-\udcff]")

Target = tuple[str, ...]
"""Where a CSV column goes in the raw record: ``("channel",)`` or ``("actor", "team")``."""
Error = tuple[str, str]
"""Where and what is wrong with a line: ``("channel", "String should match pattern ...")``."""


class InputError(Exception):
    """The input as a whole cannot be imported: an unknown format or a bad CSV header."""


@dataclass(frozen=True, slots=True)
class Line:
    """One input record: its raw record, or where and why it could not be read."""

    number: int
    raw: dict[str, Any] | None = None
    error: Error | None = None


@dataclass(frozen=True, slots=True)
class Columns:
    """The CSV columns of one kind of record, and where each goes in the raw record."""

    fields: tuple[str, ...]
    required: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aliases: dict[str, Target] = field(default_factory=dict)
    json: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()

    def path(self, name: str) -> Target | None:
        """A field, an alias, or a group's member (``actor.team`` or ``actor_team``)."""
        if name in self.fields:
            return (name,)
        if name in self.aliases:
            return self.aliases[name]
        for group, members in self.groups.items():
            for prefix in (f"{group}.", f"{group}_"):
                if name.startswith(prefix) and name[len(prefix) :] in members:
                    return (group, name[len(prefix) :])
        return None

    def value(self, path: Target, text: str) -> Any:
        """A cell's value: JSON columns are parsed, boolean columns read true/false/1/0."""
        name = path[0] if len(path) == 1 else None
        if name in self.json:
            return orjson.loads(text)
        if name in self.booleans:
            return BOOLEANS.get(text.lower(), text)
        return text


TOUCH_FIELDS = (
    "customer_id", "channel", "occurred_at", "kind", "direction", "outcome", "category",
    "automated", "depth", "amount", "source", "external_id", "ref_external_id", "campaign_id",
    "metadata",
)  # fmt: skip
TOUCH_COLUMNS = Columns(
    fields=TOUCH_FIELDS,
    required=("customer_id", "channel", "occurred_at"),
    groups={"actor": ("rep_id", "team", "partner_id")},
    json=frozenset({"metadata"}),
    booleans=frozenset({"automated"}),
)
CUSTOMER_FIELDS = (
    "customer_id", "name", "segment", "stage", "market", "industry", "timezone", "country",
    "email", "preferences", "attributes",
)  # fmt: skip
CUSTOMER_COLUMNS = Columns(
    fields=CUSTOMER_FIELDS,
    required=("customer_id",),
    groups={"owner": ("rep_id", "team")},
    aliases={"owner_rep": ("owner", "rep_id")},
    json=frozenset({"preferences", "attributes"}),
)

Item = TypeVar("Item")


class Kind(ABC, Generic[Item]):
    """What a file holds: how its records are read, validated and stored."""

    columns: Columns
    outcomes: tuple[str, ...]
    """How a stored record counts in the summary, in the order it prints them."""

    def record(self, number: int, raw: dict[str, Any]) -> Line:
        """The line of a record read from the file."""
        return Line(number, raw=raw)

    def validate(self, line: Line, now: datetime) -> Item | list[Error]:
        """The line's item, or each error as (where, what)."""
        if line.raw is None:
            return [line.error or ("line", "unreadable")]
        return self.check(line.number, line.raw, now)

    @abstractmethod
    def check(self, number: int, raw: dict[str, Any], now: datetime) -> Item | list[Error]:
        """Validate a raw record as its batch endpoint does."""

    @abstractmethod
    async def store(
        self, db: Database, tenant_id: uuid.UUID, items: list[Item], now: datetime
    ) -> list[str]:
        """Store valid items, committed; each one's outcome."""


def _where(error: ErrorItem, whole: str) -> Error:
    # parse_item locates errors in a request body: ["body", <list>, index, *field path].
    path = ".".join(str(part) for part in error.loc[3:])
    return (path or whole, error.msg)


class TouchKind(Kind[TouchIn]):
    columns = TOUCH_COLUMNS
    outcomes = ("created", "duplicates")

    def record(self, number: int, raw: dict[str, Any]) -> Line:
        return keyed(number, raw)

    def check(self, number: int, raw: dict[str, Any], now: datetime) -> TouchIn | list[Error]:
        parsed = touches.parse_item(raw, 0, now)
        return parsed if isinstance(parsed, TouchIn) else [_where(e, "touch") for e in parsed]

    async def store(
        self, db: Database, tenant_id: uuid.UUID, items: list[TouchIn], now: datetime
    ) -> list[str]:
        outcomes = await touches.save(db, tenant_id, items, now)
        return ["created" if o.status is ItemStatus.created else "duplicates" for o in outcomes]


class CustomerKind(Kind[CustomerBatchItem]):
    columns = CUSTOMER_COLUMNS
    outcomes = ("created", "replaced")

    def __init__(self) -> None:
        self.first_lines: dict[str, int] = {}

    def check(
        self, number: int, raw: dict[str, Any], now: datetime
    ) -> CustomerBatchItem | list[Error]:
        parsed = customers.parse_item(raw, 0)
        if isinstance(parsed, list):
            return [_where(error, "customer") for error in parsed]
        # Across the whole file, not the batch: what is stored must not depend on batch size.
        first = self.first_lines.setdefault(parsed.customer_id, number)
        if first != number:
            return [("customer_id", f"repeats the customer_id of line {first}")]
        return parsed

    async def store(
        self, db: Database, tenant_id: uuid.UUID, items: list[CustomerBatchItem], now: datetime
    ) -> list[str]:
        async with db.sessions() as session:
            created = await customers.store(session, tenant_id, items, now)
            await session.commit()
        return ["created" if created[item.customer_id] else "replaced" for item in items]


KINDS: dict[str, Callable[[], Kind[Any]]] = {"touches": TouchKind, "customers": CustomerKind}


def kind_named(name: str) -> Kind[Any]:
    """A fresh reader of that kind of record (it remembers the customers a file named)."""
    return KINDS[name]()


@dataclass(slots=True)
class Summary:
    """What an import did."""

    stored: dict[str, int]
    """Records stored, by outcome (``created``, ``duplicates`` or ``replaced``)."""
    rejected: int = 0
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        return sum(self.stored.values()) + self.rejected

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        stored = " ".join(f"{outcome}={count}" for outcome, count in self.stored.items())
        return (
            f"imported: {stored} rejected={self.rejected} lines={self.lines} "
            f"seconds={self.seconds:.2f} rate={self.rate:.0f}/s"
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


def read_lines(stream: TextIO, fmt: Format, kind: Kind[Any]) -> Iterator[Line]:
    """The records of a stream in the given format."""
    return read_csv(stream, kind) if fmt == "csv" else read_ndjson(stream, kind)


def read_ndjson(stream: Iterable[str], kind: Kind[Any]) -> Iterator[Line]:
    """One JSON object a line; blank lines are skipped."""
    for number, text in enumerate(stream, start=1):
        stripped = text.strip()
        if stripped:
            yield ndjson_line(number, stripped, kind)


def ndjson_line(number: int, text: str, kind: Kind[Any]) -> Line:
    """One NDJSON line as a raw record."""
    if UNDECODABLE.search(text):
        return Line(number, error=("encoding", "not valid UTF-8"))
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Line(number, error=("json", _json_error(exc)))
    if not isinstance(raw, dict):
        return Line(number, error=("json", "must be a JSON object"))
    return kind.record(number, raw)


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg} at column {exc.colno})"


def read_csv(stream: Iterable[str], kind: Kind[Any]) -> Iterator[Line]:
    """Records of a CSV file with a header line; the header is checked before any record."""
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"line 1: header: {exc}") from exc
    if header is None:
        return iter(())
    return _csv_records(reader, parse_header(header, kind.columns), kind)


def parse_header(cells: list[str], columns: Columns) -> list[Target]:
    """Where each column goes; unknown, repeated or missing required columns refuse the file."""
    names = [cell.strip() for cell in cells]
    if any(UNDECODABLE.search(name) for name in names):
        raise InputError("line 1: header: not valid UTF-8")
    unknown = [name for name in names if columns.path(name) is None]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise InputError(f"line 1: header: unknown column {listed}")
    paths = [path for path in map(columns.path, names) if path is not None]
    repeated = sorted({".".join(path) for path in paths if paths.count(path) > 1})
    if repeated:
        raise InputError(f"line 1: header: repeated column {', '.join(repeated)}")
    missing = [name for name in columns.required if (name,) not in paths]
    if missing:
        raise InputError(f"line 1: header: missing column {', '.join(missing)}")
    return paths


def _csv_records(reader: Any, paths: list[Target], kind: Kind[Any]) -> Iterator[Line]:
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
                yield csv_line(start, cells, paths, kind)
        start = reader.line_num + 1


def csv_line(number: int, cells: list[str], paths: list[Target], kind: Kind[Any]) -> Line:
    """One CSV record as a raw record; empty cells are absent fields."""
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
            _put(raw, path, kind.columns.value(path, value))
        except orjson.JSONDecodeError as exc:
            return Line(number, error=(".".join(path), _json_error(exc)))
    return kind.record(number, raw)


def _put(raw: dict[str, Any], path: Target, value: Any) -> None:
    *parents, leaf = path
    target = raw
    for name in parents:
        target = target.setdefault(name, {})
    target[leaf] = value


def keyed(number: int, raw: dict[str, Any]) -> Line:
    """The touch, with a key derived from its content when it carries no ``external_id``."""
    if raw.get("external_id") is not None:
        return Line(number, raw=raw)
    try:
        canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        return Line(number, error=("json", str(exc)))
    digest = hashlib.sha256(canonical).hexdigest()[:KEY_HEX_DIGITS]
    source = DEFAULT_SOURCE if raw.get("source") is None else raw["source"]
    return Line(number, raw={**raw, "source": source, "external_id": KEY_PREFIX + digest})


def describe(number: int, error: Error) -> str:
    """``line N: <where>: <what>``."""
    return f"line {number}: {error[0]}: {error[1]}"


def batches(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    iterator = iter(lines)
    while batch := list(islice(iterator, size)):
        yield batch


async def find_tenant(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Tenant.id).where(Tenant.name == name))


@dataclass(frozen=True, slots=True)
class Checked:
    """A batch validated: its valid items and each rejected line's errors."""

    now: datetime  # what it was checked against, and stored at
    valid: list[Any]
    rejected: list[tuple[int, list[Error]]]


@dataclass(slots=True)
class Loader:
    """Validates and stores batches of lines of one kind for one tenant, keeping the tally.

    A batch is validated while the one before it is being stored: the database works on one
    core while this process reads and checks the next batch on the other."""

    db: Database
    tenant_id: uuid.UUID
    clock: Clock
    report: Callable[[str], None]
    kind: Kind[Any] = field(default_factory=TouchKind)
    summary: Summary = field(init=False)

    def __post_init__(self) -> None:
        self.summary = Summary(dict.fromkeys(self.kind.outcomes, 0))

    async def load(
        self, lines: Iterable[Line], batch_size: int, advance: Callable[[int], Any]
    ) -> Summary:
        """Every line, one transaction per batch; the summary of the whole run."""
        started = time.perf_counter()
        storing: asyncio.Task[None] | None = None
        try:
            for batch in batches(lines, batch_size):
                checked = self.check(batch)
                if storing is not None:
                    await storing
                self.tell(checked)
                storing = asyncio.create_task(self.store(checked, len(batch), advance))
                for _ in range(STEPS_TO_SEND):  # until its statement is on its way
                    await asyncio.sleep(0)
            if storing is not None:
                await storing
        finally:
            if storing is not None and not storing.done():
                storing.cancel()
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def check(self, batch: list[Line]) -> Checked:
        now = self.clock.now()
        checked = Checked(now, [], [])
        for line in batch:
            parsed = self.kind.validate(line, now)
            if isinstance(parsed, list):
                checked.rejected.append((line.number, parsed))
            else:
                checked.valid.append(parsed)
        return checked

    def tell(self, checked: Checked) -> None:
        self.summary.rejected += len(checked.rejected)
        for number, errors in checked.rejected:
            for error in errors:
                self.report(describe(number, error))

    async def store(self, checked: Checked, lines: int, advance: Callable[[int], Any]) -> None:
        if checked.valid:
            outcomes = await self.kind.store(self.db, self.tenant_id, checked.valid, checked.now)
            for outcome in outcomes:
                self.summary.stored[outcome] += 1
        advance(lines)
