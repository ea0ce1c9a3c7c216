"""Types shared by every feature: ids, slugs, instants, pages and free text."""

import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
)

from app.cadence.rfm import SEGMENT_NAMES

ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"
SLUG_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"

ExternalId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""A tenant's own id: ``customer_id``, ``rep_id``, ``partner_id``, ``external_id``."""
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
"""A lower-case name: ``channel``, ``segment``, ``stage``, ``team``, ``source``..."""
CustomerId = Annotated[str, Path(pattern=ID_PATTERN, description="The tenant's own id.")]
"""The ``{customer_id}`` of a path."""

RfmSegment = StrEnum("RfmSegment", {name: name for name in SEGMENT_NAMES})  # type: ignore[misc]
RfmSegment.__doc__ = (
    "A row of the segment table (champions are the brief's star customers, cant_lose its"
    " sleeping valuable customers), or none: no purchase in the window."
)


def _no_nul(value: str) -> str:
    """Refuse what PostgreSQL's text cannot hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""Free text that PostgreSQL can store."""

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


# A "+hh:mm" offset written into a URL unencoded arrives as " hh:mm" (a "+" means a space).
UNENCODED_PLUS = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?) (\d{2}:?\d{2})$"
)


def _rfc3339(value: Any) -> Any:
    """Only RFC 3339 text (or a datetime, from our own rows): no Unix times or bare dates."""
    if isinstance(value, str) and (unencoded := UNENCODED_PLUS.match(value)):
        value = f"{unencoded.group(1)}+{unencoded.group(2)}"
    if isinstance(value, datetime) or (isinstance(value, str) and RFC3339.match(value)):
        return value
    raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-20T09:30:00Z")


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("instant is out of range") from exc


def format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_to_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""An RFC 3339 instant with an offset, held in UTC and written with ``Z``."""

# The engine reads up to ten years before the instants it judges and places follow-ups
# some way after them; Python's calendar spans the years 1 to 9999, so judged instants
# keep well inside it.
EARLIEST_JUDGED = datetime(100, 1, 1, tzinfo=UTC)
LATEST_JUDGED = datetime(9000, 1, 1, tzinfo=UTC)


def _judgeable(value: datetime) -> datetime:
    if not EARLIEST_JUDGED <= value <= LATEST_JUDGED:
        raise ValueError("must lie between 0100-01-01T00:00:00Z and 9000-01-01T00:00:00Z")
    return value


JudgedInstant = Annotated[Instant, AfterValidator(_judgeable)]
"""An instant the cadence engine judges at: ``as_of``, a check's ``at``, a plan's time."""

MAX_JSON_DEPTH = 64
INT_RANGE = (-(2**63), 2**64 - 1)


def check_json_value(value: Any, depth: int = 0) -> None:
    """Refuse what JSON allows but jsonb (or our encoder) does not: NUL, lone surrogates, NaN,
    integers beyond 64 bits, and nesting deeper than ``MAX_JSON_DEPTH``."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"must be nested at most {MAX_JSON_DEPTH} deep")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ValueError("integers must fit in 64 bits")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            check_json_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_value(item, depth + 1)


def json_object(max_bytes: int) -> Any:
    """A JSON object PostgreSQL can store, of at most ``max_bytes`` when serialised."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        check_json_value(value)
        try:
            size = len(orjson.dumps(value))
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"cannot be stored as JSON: {exc}") from None
        if size > max_bytes:
            raise ValueError(f"must be at most {max_bytes // 1024} KiB as JSON")
        return value

    return Annotated[dict[str, Any], AfterValidator(check)]


TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _time_of_day(value: str) -> str:
    if not TIME_OF_DAY.match(value):
        raise ValueError("must be a time of day HH:MM, 00:00 to 23:59")
    return value


TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]


class Input(BaseModel):
    """A request body: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorItemRead(Output):
    loc: list[str | int]
    msg: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
