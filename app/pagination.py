"""Opaque cursors and the ``limit``/``cursor`` query parameters every list takes.

A cursor is the client's to forge, so every part is checked before it can reach a query:
one PostgreSQL would refuse must be a 422 naming ``cursor``, not a database error."""

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
from fastapi import Depends, Query

from app.errors import Invalid
from app.schemas import check_json_value

BIGINT = (-(2**63), 2**63 - 1)
INTEGER_MAX = 2**31 - 1
# Instants a cursor may carry: a year inside Python's and PostgreSQL's calendars on both sides,
# so neither the conversion to UTC nor a window reaching back a year overflows.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def _forged() -> NoReturn:
    raise Invalid.at(["query", "cursor"], "cursor is not one this service issued")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity or not all(map(_storable, key)):
        _forged()
    return key


def _storable(part: Any) -> bool:
    """A cursor part PostgreSQL can compare with, whichever column a list compares it to."""
    if not isinstance(part, str | int | float) or isinstance(part, bool):
        return False
    try:
        check_json_value(part)
    except ValueError:
        return False
    if isinstance(part, str):
        return _instant_in_range(part)
    if isinstance(part, float):  # also what an integer too long for 64 bits is decoded as
        return abs(part) < 2**63
    return BIGINT[0] <= part <= BIGINT[1]


def _instant_in_range(text: str) -> bool:
    """Text that reads as an instant (lists parse those parts as one) lies within range."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return True  # not an instant: text
    if at.tzinfo is None:
        return True
    try:
        return EARLIEST <= at.astimezone(UTC) < LATEST
    except (OverflowError, ValueError):
        return False


def _instant(part: Any) -> datetime:
    if not isinstance(part, str):
        _forged()
    try:
        at = datetime.fromisoformat(part)
    except ValueError:
        _forged()
    if at.tzinfo is None:
        _forged()
    return at.astimezone(UTC)  # in range: decode_cursor checked it


class PageParams:
    def __init__(self, limit: int, cursor: str | None) -> None:
        self.limit = limit
        self.cursor = cursor

    def after(self, arity: int) -> list[Any] | None:
        return None if self.cursor is None else decode_cursor(self.cursor, arity)

    def after_text(self) -> str | None:
        """The text key (an id, a name) a list ordered by it stopped at."""
        key = self.after(1)
        if key is not None and not isinstance(key[0], str):
            _forged()
        return None if key is None else key[0]

    def after_integer(self) -> int | None:
        """The positive ``integer`` key a list stopped at."""
        key = self.after(1)
        if key is not None and (not isinstance(key[0], int) or not 0 < key[0] <= INTEGER_MAX):
            _forged()
        return None if key is None else key[0]

    def after_uuid(self) -> uuid.UUID | None:
        key = self.after(1)
        return None if key is None else _uuid(key[0])

    def after_instant_and_id(self) -> tuple[datetime, uuid.UUID] | None:
        """The (instant, id) a newest-first list stopped at."""
        key = self.after(2)
        return None if key is None else (_instant(key[0]), _uuid(key[1]))


def _uuid(part: Any) -> uuid.UUID:
    if not isinstance(part, str):
        _forged()
    try:
        return uuid.UUID(part)
    except ValueError:
        _forged()


T = TypeVar("T")


def page_of(
    items: list[T], limit: int, key: Callable[[T], list[Any]]
) -> tuple[list[T], str | None]:
    """The first ``limit`` of the items read (one more than a page, to know if more follow)
    and the cursor after the last of them, from its sort key."""
    if len(items) <= limit:
        return items, None
    return items[:limit], encode_cursor(key(items[limit - 1]))


def instant_and_id(at: datetime, item_id: uuid.UUID) -> list[Any]:
    """The sort key of a newest-first list, as ``after_instant_and_id`` reads it back."""
    return [at.isoformat(), str(item_id)]


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    # an async dependency: FastAPI runs a plain one in a worker thread, a costly hop
    return PageParams(limit, cursor)


PageDep = Annotated[PageParams, Depends(page_params)]
